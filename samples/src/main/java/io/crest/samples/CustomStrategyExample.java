package io.crest.samples;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.SchemaEvolutionPolicy;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.Closeable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * Ingests the demo's orders view with a user-defined commit strategy ({@link AuditTrailStrategy}),
 * a day partitioning and the {@code addColumns} evolution policy, then prints each snapshot's
 * audit trail. Arguments: {@code [warehouse-dir] [rows]}.
 */
public final class CustomStrategyExample {
  private CustomStrategyExample() {}

  public static void main(String[] args) throws Exception {
    Path warehouse = Path.of(args.length > 0 ? args[0] : "target/audit-warehouse");
    long rows = args.length > 1 ? Long.parseLong(args[1]) : 50_000;
    for (Map<String, String> summary : run(warehouse, rows)) {
      System.out.println(summary);
    }
  }

  /** Runs the pipeline; returns the summaries of the table's snapshots, oldest first. */
  static List<Map<String, String>> run(Path warehouse, long rows) throws Exception {
    try (BufferAllocator root = new RootAllocator();
        OrdersServer server = new OrdersServer(root, 0, rows, 1_000_000, 5_000)) {
      IcebergSink sink = IcebergSink.builder()
          .localWarehouse(warehouse)
          .table("shop.audited_orders")
          .partitionBy("day(event_time)")
          .schemaEvolution(SchemaEvolutionPolicy.addColumns())
          .commitStrategy(new AuditTrailStrategy("orders-audit-example", CommitStrategy.append()))
          .build();
      try (Pipeline p =
          Pipeline.from(FlightSource.builder(root).endpoint(server.uri(), OrdersServer.VIEW).build())
              .id("audited-orders")
              .batch(BatchPolicy.rows(20_000))
              .to(sink)) {
        p.start();
        if (!p.awaitIdle(Duration.ofMinutes(2))) {
          throw new IllegalStateException("The example pipeline did not finish in 2 minutes");
        }
      }
    }
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    try {
      Table table = catalog.loadTable(TableIdentifier.of("shop", "audited_orders"));
      List<Map<String, String>> summaries = new ArrayList<>();
      for (Snapshot s : table.snapshots()) {
        summaries.add(s.summary());
      }
      return summaries;
    } finally {
      ((Closeable) catalog).close();
    }
  }
}
