package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Flight server that dies mid-stream and comes back on the same port: the pipeline reconnects
 * with backoff, resumes after the last row it had, and the table ends with every row once.
 */
class FlightRestartTest {
  private static final TableIdentifier TABLE = TableIdentifier.of("shop", "orders");

  @TempDir Path warehouse;

  @Test
  void serverRestartedMidStream_pipelineReconnectsAndResumes_withoutLossOrDuplicates()
      throws Exception {
    try (BufferAllocator allocator = new RootAllocator()) {
      ViewServer first = new ViewServer(allocator, 200);
      first.growingView("orders", 0, 30_000, 6_000); // 5 s of growth
      int port = first.port();
      FlightSource source = FlightSource.builder(allocator)
          .endpoint("grpc://127.0.0.1:" + port, "orders")
          .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(300))
          .maxReconnectAttempts(100)
          .build();
      ViewServer second = null;
      try (Pipeline p = Pipeline.from(source).id("restart")
          .batch(BatchPolicy.rows(2_000).orEvery(Duration.ofMillis(200)))
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        p.start();
        await().atMost(Duration.ofMinutes(1)).until(() -> p.stats().rowsCommitted() >= 4_000);
        first.kill(); // mid-stream: the view is still growing, its stream is cut where it is
        long committedWhenKilled = p.stats().rowsCommitted();
        assertThat(committedWhenKilled).isLessThan(30_000);
        second = new ViewServer(allocator, 500, port);
        second.view("orders", 0, 30_000); // the same view, all of it there now
        assertThat(p.awaitIdle(Duration.ofMinutes(2))).isTrue();
        assertThat(p.stats().rowsIn()).isEqualTo(30_000);
      } finally {
        if (second != null) {
          second.close();
        }
      }
    }
    List<Long> ids = new ArrayList<>();
    try (OpenCatalog c = new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)))) {
      try (CloseableIterable<Record> rows = IcebergGenerics.read(c.loadTable(TABLE)).build()) {
        rows.forEach(r -> ids.add((Long) r.getField("id")));
      }
    }
    assertThat(ids).containsExactlyInAnyOrderElementsOf(LongStream.range(0, 30_000).boxed().toList());
  }
}
