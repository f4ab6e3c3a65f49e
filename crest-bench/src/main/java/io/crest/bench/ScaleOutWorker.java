package io.crest.bench;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergSink;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * One instance of the scale-out harness ({@link ScaleOut}), in a JVM of its own: runs one pipeline
 * into the shared table for a fixed time, then stops it and prints one {@code RESULT} line with
 * its counters. Two modes:
 *
 * <ul>
 *   <li>{@code flight}: shard {@code index} of {@code count} of a {@link FlightSource} discovery
 *       of the harness's Flight server, flushing every {@code flush};
 *   <li>{@code trickle}: a source of one-row batches and {@code BatchPolicy.rows(1)}, so the
 *       pipeline commits tiny commits back to back: the catalog's commit ceiling.
 * </ul>
 *
 * <p>Arguments: {@code mode catalogKey=value,... flightUri index count seconds flushMillis}.
 */
public final class ScaleOutWorker {
  private ScaleOutWorker() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Map<String, String> catalog = new LinkedHashMap<>();
    for (String kv : args[1].split(",")) {
      int eq = kv.indexOf('=');
      catalog.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    String flightUri = args[2];
    int index = Integer.parseInt(args[3]);
    int count = Integer.parseInt(args[4]);
    long seconds = Long.parseLong(args[5]);
    long flushMillis = Long.parseLong(args[6]);
    try (BufferAllocator allocator = new RootAllocator()) {
      Source source;
      BatchPolicy policy;
      DataSize buffer;
      if (mode.equals("flight")) {
        source = FlightSource.builder(allocator)
            .discover("bench", flightUri, FlightDescriptor.path("bench"))
            .shard(index, count)
            .build();
        policy = BatchPolicy.every(Duration.ofMillis(flushMillis));
        buffer = DataSize.mib(64);
      } else {
        source = new TrickleSource(allocator, "trickle-" + index);
        policy = BatchPolicy.rows(1);
        // Each buffered one-row batch is a commit of its own: a large buffer would take minutes
        // of commits to drain at stop.
        buffer = DataSize.kib(1);
      }
      IcebergSink sink = IcebergSink.builder().catalog("crest", catalog).table(ScaleOut.TABLE)
          .build();
      PipelineStats stats;
      long start = System.nanoTime();
      try (Pipeline p = Pipeline.from(source).id(mode + (mode.equals("flight") ? "" : "-" + index))
          .batch(policy).bufferLimit(buffer).to(sink)) {
        p.start();
        while (System.nanoTime() - start < seconds * 1_000_000_000L) {
          if (p.state() == Pipeline.State.FAILED) {
            throw new IllegalStateException("pipeline failed", p.failure().orElse(null));
          }
          Thread.sleep(100);
        }
        p.stop();
        stats = p.stats();
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      System.out.println("RESULT index=" + index + " rows=" + stats.rowsCommitted() + " commits="
          + stats.commits() + " conflicts=" + stats.commitConflicts() + " retries="
          + stats.commitRetries() + " seconds=" + String.format("%.1f", elapsed));
    }
  }

  /** One-row batches as fast as the pipeline takes them, on one thread; never completes. */
  static final class TrickleSource implements Source {
    private final BufferAllocator parent;
    private final String stream;
    private volatile boolean stopped;
    private Thread thread;
    private BufferAllocator allocator;

    TrickleSource(BufferAllocator parent, String stream) {
      this.parent = parent;
      this.stream = stream;
    }

    @Override
    public String name() {
      return "trickle[" + stream + "]";
    }

    @Override
    public void start(SourceContext context) {
      allocator = parent.newChildAllocator("trickle", 0, Long.MAX_VALUE);
      SourcePosition resume = context.resumePositions().get(stream);
      long first = resume == null ? 0 : resume.asOffset();
      thread = new Thread(() -> {
        long offset = first;
        try {
          while (!stopped && !context.isStopping()) {
            VectorSchemaRoot root = VectorSchemaRoot.create(EndlessFlightServer.SCHEMA, allocator);
            root.allocateNew();
            ((BigIntVector) root.getVector("id")).set(0, offset);
            ((TimeStampMicroTZVector) root.getVector("emit"))
                .set(0, System.currentTimeMillis() * 1_000);
            ((Float8Vector) root.getVector("v")).set(0, offset);
            root.setRowCount(1);
            offset++;
            if (!context.emit(SourceBatch.of(stream, root, SourcePosition.ofOffset(offset)))) {
              return;
            }
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "trickle");
      thread.setDaemon(true);
      thread.start();
    }

    @Override
    public void close() {
      stopped = true;
      if (thread != null) {
        thread.interrupt();
        try {
          thread.join(10_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (allocator != null) {
        allocator.close();
      }
    }
  }
}
