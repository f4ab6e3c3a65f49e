package io.crest.samples.files;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.iceberg.IcebergSink;
import io.crest.samples.flight.FlightSqlExample;
import io.crest.sources.ArrowFileSource;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Arrow IPC files into a table: a few files of orders are dropped into {@code incoming/} (written
 * elsewhere, then renamed in, so the source never sees half a file), an {@link ArrowFileSource}
 * reads them into a local Iceberg warehouse and moves each one to {@code incoming/done/} once a
 * commit covers it. A file on S3 or another object store is read the same way through {@code
 * IcebergFileLocation.open(properties, "s3://bucket/incoming/")}.
 *
 * <p>Run: {@code java -cp <samples classpath> io.crest.samples.files.ArrowFilesExample [dir]}
 * (with {@code --add-opens=java.base/java.nio=ALL-UNNAMED}).
 */
public final class ArrowFilesExample {
  /** The orders of the files: {@code order_id}, {@code customer}. */
  static final Schema ORDERS = new Schema(List.of(
      new Field("order_id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("customer", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  private ArrowFilesExample() {}

  /** Reads three files of 1,000 orders and prints the rows in the table. */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args.length > 0 ? args[0] : "target/arrow-files-example");
    System.out.println("Orders in shop.orders: " + run(dir, 3, 1_000).size());
  }

  /**
   * Writes {@code files} files of {@code rows} orders into {@code dir/incoming}, reads them into
   * the warehouse {@code dir/warehouse}, and returns the order ids in the table.
   */
  static List<Long> run(Path dir, int files, int rows) throws Exception {
    Path incoming = Files.createDirectories(dir.resolve("incoming"));
    Path warehouse = dir.resolve("warehouse");
    try (BufferAllocator root = new RootAllocator()) {
      for (int f = 0; f < files; f++) {
        writeOrders(root, dir, incoming.resolve("orders-" + f + ".arrow"), ORDERS,
            (long) f * rows, rows);
      }
      try (Pipeline pipeline = Pipeline.from(ArrowFileSource.builder(incoming, root)
              .moveCompleted() // to incoming/done/ once committed
              .build())
          .id("order-files")
          .batch(BatchPolicy.rows(10_000))
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        pipeline.start();
        if (!pipeline.awaitIdle(Duration.ofMinutes(2))) { // complete after the last file
          throw new IllegalStateException("Cannot finish " + pipeline.id() + " in 2 min");
        }
      }
    }
    return FlightSqlExample.orderIds(warehouse);
  }

  /**
   * Writes an Arrow IPC file of {@code rows} orders from {@code first} on, in batches of 500, with
   * {@code schema}'s columns ({@code order_id}, then strings made from the id), into a temporary
   * file under {@code scratch} and renames it to {@code file}.
   */
  static void writeOrders(BufferAllocator allocator, Path scratch, Path file, Schema schema,
      long first, int rows) throws IOException {
    Path temporary = Files.createTempFile(scratch, "orders", ".tmp");
    try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
        FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE);
        ArrowFileWriter writer = new ArrowFileWriter(root, null, channel)) {
      writer.start();
      for (long from = first; from < first + rows; from += 500) {
        int n = (int) Math.min(500, first + rows - from);
        root.allocateNew();
        for (int r = 0; r < n; r++) {
          long id = from + r;
          ((BigIntVector) root.getVector(0)).setSafe(r, id);
          for (int c = 1; c < schema.getFields().size(); c++) {
            String text = schema.getFields().get(c).getName() + "-" + (id % 97);
            ((VarCharVector) root.getVector(c)).setSafe(r, text.getBytes(StandardCharsets.UTF_8));
          }
        }
        root.setRowCount(n);
        writer.writeBatch();
      }
      writer.end();
    }
    Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The names of the regular files in {@code dir}, sorted. */
  static List<String> fileNames(Path dir) throws IOException {
    List<String> names = new ArrayList<>();
    try (var entries = Files.list(dir)) {
      entries.filter(Files::isRegularFile).forEach(p -> names.add(p.getFileName().toString()));
    }
    names.sort(null);
    return names;
  }
}
