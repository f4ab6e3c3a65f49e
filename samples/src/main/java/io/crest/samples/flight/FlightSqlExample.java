package io.crest.samples.flight;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSqlSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.Closeable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;

/**
 * Incremental reading from a Flight SQL server: a {@link FlightSqlSource} polls {@code SELECT *
 * FROM orders WHERE order_id >= ? ORDER BY order_id} on an embedded {@link SqlOrdersServer}
 * (order_id is the watermark), while orders are appended, into a local Iceberg warehouse; then
 * the table is read back. A restart with the same pipeline id would go on after the last
 * committed order.
 *
 * <p>Run: {@code java -cp <samples classpath> io.crest.samples.flight.FlightSqlExample [dir]}
 * (with {@code --add-opens=java.base/java.nio=ALL-UNNAMED}).
 */
public final class FlightSqlExample {
  private FlightSqlExample() {}

  /** Reads 5,000 orders, appended in five steps, and prints how many the table holds. */
  public static void main(String[] args) throws Exception {
    Path warehouse = Path.of(args.length > 0 ? args[0] : "target/flight-sql-warehouse");
    System.out.println("Orders in shop.orders: " + run(warehouse, 5, 1_000).size());
  }

  /**
   * Appends {@code steps} times {@code perStep} orders while a pipeline polls them, waits until
   * all but the newest one are committed (the source holds the rows at the newest watermark
   * value until a greater one arrives), stops, and returns the order ids in the table.
   */
  static List<Long> run(Path warehouse, int steps, int perStep) throws Exception {
    try (BufferAllocator root = new RootAllocator();
        SqlOrdersServer server = new SqlOrdersServer(root, 0)) {
      FlightSqlSource source = FlightSqlSource.builder(root, server.uri())
          .query("orders", "SELECT * FROM orders WHERE order_id >= ? ORDER BY order_id")
          .watermark("order_id", 0)
          .watch(Duration.ofMillis(100))
          .build();
      try (Pipeline pipeline = Pipeline.from(source)
          .id("flight-sql-orders")
          .batch(BatchPolicy.rows(2_000).orEvery(Duration.ofMillis(500)))
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        pipeline.start();
        long expected = (long) steps * perStep - 1;
        for (int i = 0; i < steps; i++) {
          server.append(perStep);
          Thread.sleep(200); // a producer writing in steps, not a test wait
        }
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (pipeline.stats().rowsCommitted() < expected) {
          pipeline.awaitIdle(Duration.ofMillis(100)); // throws if the pipeline failed
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("Cannot read the orders: only "
                + pipeline.stats().rowsCommitted() + " of " + expected + " committed in 2 minutes");
          }
        }
      }
    }
    return orderIds(warehouse);
  }

  /** The {@code order_id}s of {@code shop.orders} in the local warehouse {@code warehouse}. */
  public static List<Long> orderIds(Path warehouse) throws Exception {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    List<Long> ids = new ArrayList<>();
    try (CloseableIterable<Record> rows =
        IcebergGenerics.read(catalog.loadTable(TableIdentifier.of("shop", "orders"))).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("order_id")));
    } finally {
      ((Closeable) catalog).close();
    }
    return ids;
  }
}
