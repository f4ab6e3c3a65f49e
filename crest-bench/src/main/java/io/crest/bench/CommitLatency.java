package io.crest.bench;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.iceberg.commit.PipelineState;
import io.crest.spi.SourcePosition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * Commit-to-visible latency (issue 17): a Flight server sends rows at a fixed, sustained rate,
 * each batch stamped with its send time (the {@code emit} column; the server also keeps the
 * {@link System#nanoTime()} of each batch by the stream offset after it); one pipeline reads them
 * into an Iceberg table (SQLite JDBC catalog, warehouse in a temporary directory, snappy) and
 * commits every {@code interval}; a reader with a catalog of its own polls the table every {@code
 * poll}, and for every new snapshot takes the positions it committed: every batch up to them
 * became visible at that poll. A batch's latency is poll time minus send time, so it includes the
 * wait for the flush, writing, the commit and up to one poll period. Batches sent in the first
 * {@code warmup} seconds are not counted.
 *
 * <p>Run (after {@code mvn -o -B -pl crest-bench -am package -Pbench -DskipTests}):
 *
 * <pre>
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -cp crest-bench/target/benchmarks.jar \
 *     io.crest.bench.CommitLatency 200,1000,5000 500000 30 5 2 50
 * </pre>
 *
 * <p>Arguments: {@code intervalsMillis rowsPerSecond seconds warmupSeconds streams pollMillis}.
 */
public final class CommitLatency {
  private static final int BATCH_ROWS = 10_000;

  private CommitLatency() {}

  public static void main(String[] args) throws Exception {
    long[] intervals = Arrays.stream(args[0].split(",")).mapToLong(Long::parseLong).toArray();
    long rate = Long.parseLong(args[1]);
    long seconds = Long.parseLong(args[2]);
    long warmup = Long.parseLong(args[3]);
    int streams = Integer.parseInt(args[4]);
    long pollMillis = Long.parseLong(args[5]);
    System.out.printf("offered %,d rows/s over %d streams (batches of %,d rows), %d s per"
        + " interval (first %d s not counted), poll every %d ms, %d cores%n", rate, streams,
        BATCH_ROWS, seconds, warmup, pollMillis, Runtime.getRuntime().availableProcessors());
    System.out.println("| flush interval | committed rows/s | commits | batches | p50 ms |"
        + " p99 ms | max ms |");
    for (long interval : intervals) {
      run(interval, rate, seconds, warmup, streams, pollMillis);
    }
  }

  private static void run(long interval, long rate, long seconds, long warmup, int streams,
      long pollMillis) throws Exception {
    Path dir = Files.createTempDirectory("crest-latency-");
    List<Long> latencies = new ArrayList<>();
    PipelineStats stats;
    try (BufferAllocator allocator = new RootAllocator();
        EndlessFlightServer server =
            new EndlessFlightServer(allocator, streams, BATCH_ROWS, rate / streams, true)) {
      FlightSource source = FlightSource.builder(allocator)
          .discover("bench", server.uri(), FlightDescriptor.path("bench")).build();
      IcebergSink sink = IcebergSink.builder().localWarehouse(dir).table("bench.latency")
          .tableProperty("write.parquet.compression-codec", "snappy").build();
      long start = System.nanoTime();
      long countFrom = start + TimeUnit.SECONDS.toNanos(warmup);
      long end = start + TimeUnit.SECONDS.toNanos(seconds);
      try (Pipeline p = Pipeline.from(source).id("latency")
          .batch(BatchPolicy.every(Duration.ofMillis(interval))).to(sink)) {
        p.start();
        Catalog catalog = null;
        Map<String, Long> visible = new HashMap<>();
        long lastSnapshot = -1;
        try {
          while (System.nanoTime() < end) {
            if (p.state() == Pipeline.State.FAILED) {
              throw new IllegalStateException("pipeline failed", p.failure().orElse(null));
            }
            Thread.sleep(pollMillis);
            if (catalog == null) {
              catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(dir));
            }
            TableIdentifier id = TableIdentifier.parse("bench.latency");
            if (!catalog.tableExists(id)) {
              continue;
            }
            Table table = catalog.loadTable(id);
            Snapshot head = table.currentSnapshot();
            long now = System.nanoTime();
            if (head == null || head.snapshotId() == lastSnapshot) {
              continue;
            }
            lastSnapshot = head.snapshotId();
            Map<String, SourcePosition> positions = PipelineState.decodePositions(
                head.summary().get(PipelineState.SUMMARY_POSITIONS));
            for (Map.Entry<String, SourcePosition> e : positions.entrySet()) {
              String ticket = e.getKey().substring("bench/".length());
              long offset = e.getValue().asOffset();
              long seen = visible.getOrDefault(ticket, 0L);
              ConcurrentSkipListMap<Long, Long> emits = server.emitNanos(ticket);
              for (Map.Entry<Long, Long> batch : emits.subMap(seen, false, offset, true)
                  .entrySet()) {
                if (batch.getValue() >= countFrom) {
                  latencies.add(now - batch.getValue());
                }
              }
              visible.put(ticket, Math.max(seen, offset));
            }
          }
        } finally {
          if (catalog != null) {
            IcebergCatalogs.closeQuietly(catalog);
          }
        }
        p.stop();
        stats = p.stats();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      System.out.printf("| %d ms | %,.0f | %d | %d | %s | %s | %s |%n", interval,
          stats.rowsCommitted() / elapsed, stats.commits(), sorted.length,
          millis(sorted, 0.50), millis(sorted, 0.99),
          sorted.length == 0 ? "-" : String.format("%.0f", sorted[sorted.length - 1] / 1e6));
    } finally {
      ScaleOut.deleteRecursively(dir);
    }
  }

  private static String millis(long[] sorted, double quantile) {
    if (sorted.length == 0) {
      return "-";
    }
    int index = (int) Math.min(sorted.length - 1, Math.ceil(quantile * sorted.length) - 1);
    return String.format("%.0f", sorted[Math.max(0, index)] / 1e6);
  }
}
