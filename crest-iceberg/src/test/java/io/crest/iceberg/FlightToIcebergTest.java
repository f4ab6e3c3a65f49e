package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline on real parts: Arrow Flight servers on loopback, {@link FlightSource}, the
 * pipeline engine, {@link IcebergSink} on a SQLite JDBC catalog; results read back through
 * Iceberg's own generic reader.
 */
class FlightToIcebergTest {
  private static final Duration WAIT = Duration.ofMinutes(2);
  private static final TableIdentifier TABLE = TableIdentifier.of("shop", "orders");

  @TempDir Path warehouse;
  private BufferAllocator allocator;
  private ViewServer eu;
  private ViewServer ap;

  @BeforeEach
  void startServers() throws Exception {
    allocator = new RootAllocator();
    eu = new ViewServer(allocator, 256);
    ap = new ViewServer(allocator, 1000);
  }

  @AfterEach
  void stopServers() throws Exception {
    eu.close();
    ap.close();
    allocator.close(); // fails the test if any buffer leaked
  }

  private Pipeline pipeline() {
    FlightSource source =
        FlightSource.builder(allocator)
            .endpoint(eu.uri(), "orders_eu")
            .endpoint(eu.uri(), "orders_us")
            .endpoint(ap.uri(), "orders_ap")
            .build();
    return Pipeline.from(source)
        .id("orders-ingest")
        .batch(BatchPolicy.rows(1_500).orEvery(Duration.ofSeconds(1)))
        .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build());
  }

  @Test
  void threeStreamsOnTwoServers_landEveryRowOnce_withExactValuesAndTypes() throws Exception {
    eu.view("orders_eu", 0, 2_000).view("orders_us", 100_000, 777);
    ap.view("orders_ap", 200_000, 3_001);
    try (Pipeline p = pipeline()) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsCommitted()).isEqualTo(5_778);
    }

    try (OpenCatalog catalog = openCatalog()) {
      Table table = catalog.loadTable(TABLE);
      assertThat(table.schema().asStruct()).isEqualTo(expectedSchema().asStruct());
      assertRows(table, ids(0, 2_000), ids(100_000, 100_777), ids(200_000, 203_001));
      Snapshot last = table.currentSnapshot();
      assertThat(last.summary())
          .containsEntry("crest.pipeline-id", "orders-ingest")
          .containsEntry(
              "crest.positions", "{\"orders_ap\":\"3001\",\"orders_eu\":\"2000\",\"orders_us\":\"777\"}")
          .containsKey("crest.commit-id");
    }
  }

  @Test
  void secondRun_resumesFromRecordedPositions_andAddsOnlyNewRows() throws Exception {
    eu.view("orders_eu", 0, 1_000).view("orders_us", 100_000, 10);
    ap.view("orders_ap", 200_000, 2_500);
    try (Pipeline p = pipeline()) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    int snapshotsAfterFirstRun;
    try (OpenCatalog catalog = openCatalog()) {
      snapshotsAfterFirstRun = count(catalog.loadTable(TABLE).snapshots());
    }

    // The views grew (orders_us did not); a new run of the same pipeline reads only the new rows.
    eu.view("orders_eu", 0, 1_700);
    ap.view("orders_ap", 200_000, 4_000);
    try (Pipeline p = pipeline()) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(700 + 1_500);
      assertThat(p.stats().rowsCommitted()).isEqualTo(2_200);
    }

    try (OpenCatalog catalog = openCatalog()) {
      Table table = catalog.loadTable(TABLE);
      assertRows(table, ids(0, 1_700), ids(100_000, 100_010), ids(200_000, 204_000));
      assertThat(count(table.snapshots())).isGreaterThan(snapshotsAfterFirstRun);
    }

    // A third run with nothing new commits nothing.
    try (Pipeline p = pipeline()) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().commits()).isZero();
    }
  }

  private OpenCatalog openCatalog() {
    return new OpenCatalog(
        IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
  }

  private static Schema expectedSchema() {
    return new Schema(
        Types.NestedField.required(1, "id", Types.LongType.get()),
        Types.NestedField.optional(2, "name", Types.StringType.get()),
        Types.NestedField.optional(3, "price", Types.DecimalType.of(10, 2)),
        Types.NestedField.required(4, "at", Types.TimestampType.withZone()),
        Types.NestedField.optional(5, "day", Types.DateType.get()),
        Types.NestedField.optional(
            6, "tags", Types.ListType.ofOptional(7, Types.StringType.get())));
  }

  @SafeVarargs
  private static void assertRows(Table table, List<Long>... idRanges) throws Exception {
    Map<Long, Record> byId = new HashMap<>();
    int rows = 0;
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        rows++;
        byId.put((Long) r.getField("id"), r.copy());
      }
    }
    List<Long> expectedIds = java.util.Arrays.stream(idRanges).flatMap(List::stream).toList();
    assertThat(rows).as("rows in table (duplicates count)").isEqualTo(expectedIds.size());
    assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(expectedIds);
    for (long id : expectedIds) {
      Record r = byId.get(id);
      Map<String, Object> e = ViewServer.expected(id);
      assertThat(r.getField("name")).as("name of %d", id).isEqualTo(e.get("name"));
      assertThat(r.getField("price")).as("price of %d", id).isEqualTo(e.get("price"));
      assertThat(r.getField("at")).as("at of %d", id).isEqualTo(e.get("at"));
      assertThat(r.getField("day")).as("day of %d", id).isEqualTo(e.get("day"));
      assertThat(r.getField("tags")).as("tags of %d", id).isEqualTo(e.get("tags"));
    }
  }

  private static List<Long> ids(long from, long toExclusive) {
    return LongStream.range(from, toExclusive).boxed().toList();
  }

  private static int count(Iterable<?> items) {
    int n = 0;
    for (Object ignored : items) {
      n++;
    }
    return n;
  }
}
