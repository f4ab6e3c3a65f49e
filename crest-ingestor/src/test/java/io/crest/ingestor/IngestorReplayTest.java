package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.testing.RootsSource;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code crest-ingestor replay}: a strict pipeline's dead letters (written by a real pipeline)
 * replayed, through the command line, into the table of a config that now allows new columns;
 * the table is read back through Iceberg.
 */
class IngestorReplayTest {
  private static final Field ID = new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)),
      null);
  private static final Field NAME = new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE),
      null);
  private static final Field EXTRA = new Field("extra",
      FieldType.nullable(ArrowType.Utf8.INSTANCE), null);
  private static final Field STRING_ID = new Field("id", FieldType.nullable(ArrowType.Utf8.INSTANCE),
      null);

  @TempDir Path dir;
  private BufferAllocator allocator;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // a leaked buffer fails the test
  }

  private int replay(String... extra) {
    out.reset();
    err.reset();
    Ingestor ingestor = new Ingestor(Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    List<String> args = new java.util.ArrayList<>(List.of("replay", "-config",
        dir.resolve("replay.yaml").toString()));
    args.addAll(List.of(extra));
    return ingestor.execute(args, new StopSignal());
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** A batch of rows {@code (id, name[, extra])}; ids given as text use a string id column. */
  private VectorSchemaRoot rows(List<Field> fields, Object[]... rows) {
    VectorSchemaRoot root = VectorSchemaRoot.create(new Schema(fields), allocator);
    root.allocateNew();
    for (int r = 0; r < rows.length; r++) {
      for (int c = 0; c < fields.size(); c++) {
        FieldVector v = root.getVector(c);
        Object value = rows[r][c];
        if (v instanceof BigIntVector) {
          ((BigIntVector) v).setSafe(r, (Long) value);
        } else {
          ((VarCharVector) v).setSafe(r, ((String) value).getBytes(StandardCharsets.UTF_8));
        }
      }
    }
    root.setRowCount(rows.length);
    return root;
  }

  private Map<Long, String> extraById() throws Exception {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(dir.resolve("warehouse")));
    Map<Long, String> extra = new HashMap<>();
    try (CloseableIterable<Record> records = IcebergGenerics.read(table(catalog)).build()) {
      for (Record r : records) {
        Long id = (Long) r.getField("id");
        assertThat(extra.containsKey(id)).as("id %s once", id).isFalse();
        extra.put(id, r.struct().field("extra") == null ? null : (String) r.getField("extra"));
      }
    } finally {
      ((Closeable) catalog).close();
    }
    return extra;
  }

  private static Table table(Catalog catalog) {
    return catalog.loadTable(TableIdentifier.of("shop", "orders"));
  }

  @Test
  void replay_committesEachDeadLetterFileOnce_andReportsRowsRejectedAgain() throws Exception {
    Path deadLetters = dir.resolve("dead");
    // A strict pipeline rejects the batch with a new column and the one with a string id.
    try (Pipeline p = Pipeline.from(new RootsSource("orders_mv", List.of(
            rows(List.of(ID, NAME), new Object[] {1L, "a"}, new Object[] {2L, "b"}),
            rows(List.of(ID, NAME, EXTRA), new Object[] {3L, "c", "x3"},
                new Object[] {4L, "d", "x4"}),
            rows(List.of(STRING_ID, NAME), new Object[] {"five", "e"}),
            rows(List.of(ID, NAME), new Object[] {6L, "f"}))))
        .id("orders-ingest").batch(BatchPolicy.rows(1)).deadLetter(deadLetters)
        .to(IcebergSink.builder().localWarehouse(dir.resolve("warehouse")).table("shop.orders")
            .build())) {
      p.start();
      assertThat(p.awaitIdle(Duration.ofMinutes(1))).isTrue();
    }
    try (Stream<Path> files = Files.list(deadLetters)) {
      assertThat(files.filter(f -> f.toString().endsWith(".arrow"))).hasSize(2);
    }
    assertThat(extraById().keySet()).containsExactlyInAnyOrder(1L, 2L, 6L);

    // The fixed config: new columns allowed. Its Flight server is not needed to replay.
    Files.writeString(dir.resolve("replay.yaml"), """
        servers:
          orders: {uri: "grpc://127.0.0.1:1"}
        catalog: {warehouse: warehouse}
        pipelines:
          - id: orders-ingest
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            evolution: addColumns
            deadLetter: dead
          - id: other
            table: shop.other
            streams: [{server: orders, ticket: other_mv}]
        """);

    assertThat(replay()).as(err()).isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).contains("replay orders-ingest: " + deadLetters + " -> shop.orders as"
            + " pipeline orders-ingest-replay", "skip  other: no deadLetter directory")
        .containsPattern("replayed orders-ingest \\S+\\.arrow: 2 rows committed")
        .contains("done  replay orders-ingest: 2 file(s) read in this run, 2 rows committed,"
            + " 1 rows rejected again");
    assertThat(err()).containsPattern("rejected again orders-ingest \\S+\\.arrow: 1 rows to "
        + "\\S*replay-rejected\\S*: .*id");
    Map<Long, String> extra = extraById();
    assertThat(extra.keySet()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 6L);
    assertThat(extra).containsEntry(3L, "x3").containsEntry(4L, "x4").containsEntry(1L, null);
    try (Stream<Path> files = Files.list(deadLetters.resolve(Replay.REJECTED_AGAIN))) {
      assertThat(files.filter(f -> f.toString().endsWith(".arrow"))).hasSize(1);
    }

    // A second replay reads nothing again: each file's position is committed.
    assertThat(replay("-pipeline", "orders-ingest")).as(err()).isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).contains("done  replay orders-ingest: 0 file(s) read in this run");
    assertThat(extraById().keySet()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 6L);
  }

  @Test
  void replay_ofAPipelineWithoutDeadLetters_exitsWithUsage() throws Exception {
    Files.writeString(dir.resolve("replay.yaml"), """
        servers:
          orders: {uri: "grpc://127.0.0.1:1"}
        catalog: {warehouse: warehouse}
        pipelines:
          - id: other
            table: shop.other
            streams: [{server: orders, ticket: other_mv}]
        """);
    assertThat(replay("-pipeline", "other")).isEqualTo(Ingestor.EXIT_USAGE);
    assertThat(err()).contains("Cannot replay pipeline other: it has no deadLetter directory");
    assertThat(replay("-pipeline", "nope")).isEqualTo(Ingestor.EXIT_USAGE);
    assertThat(err()).contains("Cannot replay pipeline nope: the file has no such pipeline"
        + " (ids: [other])");
  }
}
