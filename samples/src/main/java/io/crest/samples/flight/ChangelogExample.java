package io.crest.samples.flight;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.flight.FlightIngestServer;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;

/**
 * A view's changelog mirrored into an Iceberg table, keyed by two string columns: a producer (a
 * streaming database, say) pushes the changes of a {@code stock} view, rows of {@code (op,
 * warehouse, sku, qty)} where {@code op} is {@code insert}, {@code update} or {@code delete}, to a
 * {@link FlightIngestServer} embedded here, and a pipeline upserts them with {@code
 * CommitStrategy.upsertWithOps("op", "warehouse", "sku")} into a local warehouse. The replaced and
 * deleted rows are deleted by position through the key index (deletion vectors), so the table
 * reads without joining equality deletes. At the end the table, read through Iceberg, is compared
 * with the view the changes describe.
 *
 * <p>Run: {@code java -cp <samples classpath> io.crest.samples.flight.ChangelogExample [dir]}
 * (with {@code --add-opens=java.base/java.nio=ALL-UNNAMED}).
 */
public final class ChangelogExample {
  /** The changes pushed: the op, the key (warehouse, sku) and the value. */
  public static final Schema CHANGES = new Schema(List.of(
      new Field("op", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
      new Field("warehouse", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
      new Field("sku", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
      new Field("qty", FieldType.nullable(new ArrowType.Int(64, true)), null)));
  private static final String TABLE = "shop.stock";
  private static final String[] WAREHOUSES = {"ams", "fra", "lis"};

  private ChangelogExample() {}

  /**
   * What a run left: the rows of the view the changes describe, the rows read from the table,
   * and its delete files by kind.
   */
  public record Result(Map<List<String>, Long> view, Map<List<String>, Long> table,
      Map<FileContent, Integer> deleteFiles) {}

  /** Mirrors 20 batches of 500 changes over 2,000 keys. */
  public static void main(String[] args) throws Exception {
    Result r = run(Path.of(args.length > 0 ? args[0] : "target/changelog-warehouse"), 20, 500);
    System.out.println("View: " + r.view().size() + " rows; table: " + r.table().size()
        + " rows; equal: " + r.view().equals(r.table()) + "; delete files: " + r.deleteFiles());
  }

  /** Pushes {@code batches} batches of {@code rows} changes and reads the table back. */
  public static Result run(Path warehouse, int batches, int rows) throws Exception {
    Map<List<String>, Long> view = new HashMap<>();
    try (BufferAllocator root = new RootAllocator();
        FlightIngestServer server = FlightIngestServer.builder(root, "grpc://127.0.0.1:0")
            .table(TABLE)
            .build()) {
      try (Pipeline pipeline = Pipeline.from(server.source(TABLE))
          .id("stock-mirror")
          .batch(BatchPolicy.rows(2_000).orEvery(Duration.ofSeconds(1)))
          .to(IcebergSink.builder().localWarehouse(warehouse).table(TABLE)
              .commitStrategy(CommitStrategy.upsertWithOps("op", "warehouse", "sku"))
              .build())) {
        pipeline.start();
        push(root, server.port(), batches, rows, view);
      }
    }
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    try {
      Table table = catalog.loadTable(TableIdentifier.parse(TABLE));
      Map<List<String>, Long> read = new HashMap<>();
      try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
        for (Record r : records) {
          read.put(List.of((String) r.getField("warehouse"), (String) r.getField("sku")),
              (Long) r.getField("qty"));
        }
      }
      Map<FileContent, Integer> deletes = new HashMap<>();
      try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
        for (FileScanTask task : tasks) {
          task.deletes().forEach(d -> deletes.merge(d.content(), 1, Integer::sum));
        }
      }
      return new Result(view, read, deletes);
    } finally {
      IcebergCatalogs.closeQuietly(catalog);
    }
  }

  /**
   * Pushes random changes (seed 7) and records the view they describe: a key not in the view is
   * inserted, one in it is updated or (one time in four) deleted. Returns once every batch is
   * acknowledged, that is committed.
   */
  private static void push(BufferAllocator allocator, int port, int batches, int rows,
      Map<List<String>, Long> view) throws InterruptedException {
    Random random = new Random(7);
    try (FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build();
        VectorSchemaRoot changes = VectorSchemaRoot.create(CHANGES, allocator)) {
      AsyncPutListener listener = new AsyncPutListener();
      FlightClient.ClientStreamListener put = client.startPut(
          FlightDescriptor.path(TABLE, "stock-view"), changes, listener);
      for (int sequence = 1; sequence <= batches; sequence++) {
        List<String[]> batch = new ArrayList<>();
        for (int i = 0; i < rows; i++) {
          int key = random.nextInt(2_000);
          List<String> k = List.of(WAREHOUSES[key % WAREHOUSES.length], "sku-" + key / 3);
          String op;
          Long qty = null;
          if (!view.containsKey(k)) {
            op = "insert";
          } else if (random.nextInt(4) == 0) {
            op = "delete";
          } else {
            op = "update";
          }
          if (op.equals("delete")) {
            view.remove(k);
          } else {
            qty = (long) random.nextInt(1_000);
            view.put(k, qty);
          }
          batch.add(new String[] {op, k.get(0), k.get(1), qty == null ? null : qty.toString()});
        }
        fill(changes, batch);
        PushIngestExample.putNumbered(allocator, put, sequence);
      }
      put.completed();
      listener.getResult(); // returns once every batch is acknowledged
    }
  }

  private static void fill(VectorSchemaRoot changes, List<String[]> batch) {
    changes.allocateNew();
    for (int i = 0; i < batch.size(); i++) {
      String[] row = batch.get(i);
      for (int c = 0; c < 3; c++) {
        ((VarCharVector) changes.getVector(c)).setSafe(i, row[c].getBytes(StandardCharsets.UTF_8));
      }
      BigIntVector qty = (BigIntVector) changes.getVector(3);
      if (row[3] == null) {
        qty.setNull(i);
      } else {
        qty.setSafe(i, Long.parseLong(row[3]));
      }
    }
    changes.setRowCount(batch.size());
  }
}
