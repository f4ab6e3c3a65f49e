package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The whole pipeline with the warehouse on S3-compatible object storage: Iceberg's S3FileIO with a
 * custom endpoint, path-style access and credentials from the catalog properties, against a real
 * S3 API server on loopback; read back through Iceberg, objects checked through the S3 API.
 */
class S3ObjectStorageTest {
  private static final TableIdentifier TABLE = TableIdentifier.of("shop", "orders");

  @TempDir Path dir;

  @Test
  void pipeline_writesTheWarehouseToS3_resumes_andReadsBack() throws Exception {
    try (S3Server s3 = S3Server.start(dir.resolve("s3"));
        S3Client client = s3.client()) {
      client.createBucket(b -> b.bucket("lake"));
      Map<String, String> catalog = new HashMap<>(s3.fileIoProperties());
      catalog.put("type", "jdbc");
      catalog.put("uri", "jdbc:sqlite:" + dir.resolve("catalog.db"));
      catalog.put("warehouse", "s3://lake/warehouse");

      try (BufferAllocator allocator = new RootAllocator();
          ViewServer server = new ViewServer(allocator, 500)) {
        server.view("orders", 0, 5_000);
        run(allocator, server, catalog);
        server.view("orders", 0, 8_000);
        run(allocator, server, catalog);
      }

      List<Long> ids = new ArrayList<>();
      try (OpenCatalog c = new OpenCatalog(IcebergCatalogs.open("crest", catalog))) {
        Table table = c.loadTable(TABLE);
        assertThat(table.location()).startsWith("s3://lake/warehouse/");
        table.currentSnapshot().addedDataFiles(table.io())
            .forEach(f -> assertThat(f.location()).startsWith("s3://lake/warehouse/"));
        try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
          rows.forEach(r -> ids.add((Long) r.getField("id")));
        }
      }
      assertThat(ids).containsExactlyInAnyOrderElementsOf(LongStream.range(0, 8_000).boxed().toList());
      List<String> keys = client.listObjectsV2Paginator(b -> b.bucket("lake")).contents().stream()
          .map(S3Object::key).toList();
      assertThat(keys).anyMatch(k -> k.endsWith(".parquet"))
          .anyMatch(k -> k.endsWith(".metadata.json"));
    }
  }

  private static void run(BufferAllocator allocator, ViewServer server, Map<String, String> catalog)
      throws Exception {
    try (Pipeline p = Pipeline.from(
            FlightSource.builder(allocator).endpoint(server.uri(), "orders").build())
        .id("s3-orders")
        .batch(BatchPolicy.rows(2_000))
        .to(IcebergSink.builder().catalog(catalog).table("shop.orders").build())) {
      p.start();
      assertThat(p.awaitIdle(Duration.ofMinutes(2))).isTrue();
    }
  }
}
