package io.crest.iceberg;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The pipeline that {@link ChaosTest} runs in a child JVM and kills. Arguments: mode, warehouse
 * directory, Flight server URI, stream names. Exits 0 after every stream ended and all of it is
 * committed; a kill can come at any instant before that.
 *
 * <p>Modes:
 *
 * <ul>
 *   <li>{@code append}: pipeline {@code chaos} appends the streams to table {@code chaos.events}.
 *   <li>{@code cdc}: pipeline {@code chaos-cdc} upserts the change streams of a {@link
 *       ChangeViewServer} into table {@code chaos.changes} ({@code upsertWithOps("op", "id")}),
 *       and dead-letters rejected batches into {@link #deadLetters} of the warehouse.
 * </ul>
 */
public final class ChaosChild {
  /** Printed once the pipeline runs, so kills can target the ingesting phase. */
  static final String STARTED = "CHAOS CHILD STARTED";

  /** Printed after each commit of this run. */
  static final String COMMITTED = "CHAOS CHILD COMMITTED";

  private ChaosChild() {}

  /** The dead-letter directory of the {@code cdc} mode, next to the warehouse. */
  static Path deadLetters(Path warehouse) {
    return warehouse.resolveSibling(warehouse.getFileName() + "-dead-letters");
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path warehouse = Path.of(args[1]);
    String uri = args[2];
    try (BufferAllocator root = new RootAllocator()) {
      FlightSource.Builder source = FlightSource.builder(root);
      for (int i = 3; i < args.length; i++) {
        source.endpoint(uri, args[i]);
      }
      Pipeline.Builder builder;
      IcebergSink sink;
      switch (mode) {
        case "append" -> {
          builder = Pipeline.from(source.build())
              .id("chaos")
              .batch(BatchPolicy.rows(1_500).orEvery(Duration.ofMillis(150)));
          sink = IcebergSink.builder().localWarehouse(warehouse).table("chaos.events").build();
        }
        case "cdc" -> {
          // Every flush of an upsert adds equality deletes that every later read joins against:
          // fewer, larger flushes keep the final check's read short.
          builder = Pipeline.from(source.build())
              .id("chaos-cdc")
              .batch(BatchPolicy.rows(1_000).orEvery(Duration.ofMillis(200)))
              .deadLetter(deadLetters(warehouse));
          sink = IcebergSink.builder().localWarehouse(warehouse).table("chaos.changes")
              .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
        }
        default -> throw new IllegalArgumentException(
            "Cannot run chaos child: unknown mode '" + mode + "' (append or cdc)");
      }
      try (Pipeline p =
          builder
              .listener(new io.crest.PipelineListener() {
                @Override
                public void onCommit(io.crest.CommitEvent event) {
                  System.out.println(COMMITTED + " " + event.rows());
                  System.out.flush();
                }
              })
              .to(sink)) {
        p.start();
        System.out.println(STARTED);
        System.out.flush();
        if (!p.awaitIdle(Duration.ofMinutes(5))) {
          System.exit(3);
        }
      }
    }
    System.out.println("CHAOS CHILD DONE");
  }
}
