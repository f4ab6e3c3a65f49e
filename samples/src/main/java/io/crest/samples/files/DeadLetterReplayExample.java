package io.crest.samples.files;

import io.crest.BatchPolicy;
import io.crest.DeadLetters;
import io.crest.Pipeline;
import io.crest.SchemaEvolutionPolicy;
import io.crest.iceberg.IcebergSink;
import io.crest.samples.flight.FlightSqlExample;
import io.crest.sources.ArrowFileSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Dead letters and their replay: a pipeline whose table only takes its own columns ({@code
 * strict()} evolution) meets a file with a new column, {@code coupon}; with {@code
 * deadLetter(dir)} that batch goes to an Arrow IPC file instead of stopping the pipeline. Once
 * the policy is fixed ({@code addColumns()}), {@link DeadLetters#replay} brings the batch back,
 * exactly once per file, under a replay pipeline id of its own. The command-line ingestor does
 * the same with {@code crest-ingestor replay -config <file>}.
 *
 * <p>Run: {@code java -cp <samples classpath> io.crest.samples.files.DeadLetterReplayExample
 * [dir]} (with {@code --add-opens=java.base/java.nio=ALL-UNNAMED}).
 */
public final class DeadLetterReplayExample {
  static final Schema WITH_COUPON = new Schema(List.of(
      ArrowFilesExample.ORDERS.getFields().get(0), ArrowFilesExample.ORDERS.getFields().get(1),
      new Field("coupon", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  private DeadLetterReplayExample() {}

  /** Runs the strict pipeline, then the replay, printing the table's row count after each. */
  public static void main(String[] args) throws Exception {
    run(Path.of(args.length > 0 ? args[0] : "target/dead-letter-example"));
  }

  /**
   * Ingests two files (the second has a coupon column) into a strict table, then replays the
   * dead letters with new columns allowed.
   *
   * @return the order ids in the table after the first run, then after the replay
   */
  static List<List<Long>> run(Path dir) throws Exception {
    Path incoming = Files.createDirectories(dir.resolve("incoming"));
    Path deadLetters = dir.resolve("dead-letters");
    Path warehouse = dir.resolve("warehouse");
    List<Long> before;
    try (BufferAllocator root = new RootAllocator()) {
      ArrowFilesExample.writeOrders(root, dir, incoming.resolve("orders-0.arrow"),
          ArrowFilesExample.ORDERS, 0, 1_000);
      ArrowFilesExample.writeOrders(root, dir, incoming.resolve("orders-1.arrow"), WITH_COUPON,
          1_000, 1_000);

      try (Pipeline strict = Pipeline.from(ArrowFileSource.builder(incoming, root).build())
          .id("orders")
          .batch(BatchPolicy.rows(10_000))
          .deadLetter(deadLetters) // rejected batches go here, the rest goes on
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        strict.start();
        if (!strict.awaitIdle(Duration.ofMinutes(2))) { // complete after the last file
          throw new IllegalStateException("Cannot finish " + strict.id() + " in 2 min");
        }
      }
      before = FlightSqlExample.orderIds(warehouse);
      System.out.println("After the strict run: " + before.size() + " orders, dead letters "
          + ArrowFilesExample.fileNames(deadLetters));

      try (Pipeline replay = Pipeline.from(DeadLetters.replay(deadLetters, root, "orders"))
          .id("orders-replay") // its commits record which dead-letter files are done
          .batch(BatchPolicy.rows(10_000))
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders")
              .schemaEvolution(SchemaEvolutionPolicy.addColumns())
              .build())) {
        replay.start();
        if (!replay.awaitIdle(Duration.ofMinutes(2))) { // complete after the last file
          throw new IllegalStateException("Cannot finish " + replay.id() + " in 2 min");
        }
      }
    }
    List<Long> after = FlightSqlExample.orderIds(warehouse);
    System.out.println("After the replay: " + after.size() + " orders");
    return List.of(before, after);
  }
}
