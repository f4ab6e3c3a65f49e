package io.crest.samples;

import io.crest.BatchPolicy;
import io.crest.CommitEvent;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;

/**
 * The README's demo: an in-process Flight server serves a growing {@code orders} view; one Crest
 * pipeline ingests it into a local Iceberg warehouse, printing a line per commit; then the table
 * is read back through Iceberg's own reader.
 *
 * <p>Arguments: {@code [warehouse-dir] [rows]}, by default {@code target/demo-warehouse} and one
 * million orders. The warehouse is emptied first, so each run starts from nothing.
 */
public final class Demo {
  private Demo() {}

  public static void main(String[] args) throws Exception {
    Path warehouse = Path.of(args.length > 0 ? args[0] : "target/demo-warehouse");
    long rows = args.length > 1 ? Long.parseLong(args[1]) : 1_000_000L;
    deleteRecursively(warehouse);

    try (BufferAllocator root = new RootAllocator();
        OrdersServer server = new OrdersServer(root, 0, rows, 1_000_000, 10_000)) {
      System.out.printf(Locale.ROOT, "Flight server %s serves '%s' (%,d orders, growing at 1,000,000/s)%n",
          server.uri(), OrdersServer.VIEW, rows);
      System.out.printf(Locale.ROOT, "Warehouse %s, table shop.orders%n", warehouse.toAbsolutePath());

      long started = System.nanoTime();
      AtomicLong committed = new AtomicLong();
      PipelineListener progress = new PipelineListener() {
        @Override
        public void onCommit(CommitEvent e) {
          long total = committed.addAndGet(e.rows());
          double seconds = Math.max(1e-9, e.sinceLastCommit().toNanos() / 1e9);
          System.out.printf(Locale.ROOT,
              "commit %-22s +%,9d rows (%,10d total) %2d file(s) %6.1f MiB  %,10.0f rows/s  commit %4d ms%n",
              e.reference(), e.rows(), total, e.files(), e.bytes() / 1048576.0,
              e.rows() / seconds, e.latency().toMillis());
        }
      };

      PipelineStats stats;
      try (Pipeline pipeline =
          Pipeline.from(FlightSource.builder(root).endpoint(server.uri(), OrdersServer.VIEW).build())
              .id("orders-demo")
              .batch(BatchPolicy.rows(200_000).orBytes(DataSize.mib(64)).orEvery(Duration.ofSeconds(2)))
              .listener(progress)
              .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        pipeline.start();
        if (!pipeline.awaitIdle(Duration.ofMinutes(2))) {
          throw new IllegalStateException("The demo pipeline did not finish within 2 minutes");
        }
        stats = pipeline.stats();
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf(Locale.ROOT,
          "Pipeline done: %,d rows in %,d commits, %,d files, %.1f MiB in %.1f s (%,.0f rows/s end to end)%n",
          stats.rowsCommitted(), stats.commits(), stats.filesCommitted(),
          stats.bytesCommitted() / 1048576.0, seconds, stats.rowsCommitted() / seconds);

      readBack(warehouse);
    }
  }

  /** Reads the table through Iceberg alone, as any other engine would. */
  private static void readBack(Path warehouse) throws IOException {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    try {
      Table table = catalog.loadTable(TableIdentifier.of("shop", "orders"));
      long count = 0;
      StringBuilder sample = new StringBuilder();
      try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
        for (Record r : records) {
          if (count < 3) {
            sample.append("  ").append(r).append('\n');
          }
          count++;
        }
      }
      int snapshots = 0;
      for (Snapshot ignored : table.snapshots()) {
        snapshots++;
      }
      Snapshot last = table.currentSnapshot();
      System.out.printf(Locale.ROOT, "Read back through Iceberg: %,d rows, %d snapshots, schema %s%n",
          count, snapshots, table.schema().asStruct());
      System.out.printf(Locale.ROOT, "Last snapshot summary: crest.positions=%s%n",
          last == null ? "-" : last.summary().get("crest.positions"));
      System.out.print("Sample rows:\n" + sample);
    } finally {
      if (catalog instanceof Closeable) {
        ((Closeable) catalog).close();
      }
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
