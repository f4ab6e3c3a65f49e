package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.DeadLetters;
import io.crest.Pipeline;
import io.crest.SchemaEvolutionPolicy;
import io.crest.testing.RootsSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.data.Record;
import org.junit.jupiter.api.Test;

/** Batches a strict sink dead-lettered come back, exactly once, through {@link DeadLetters}. */
class DeadLetterReplayTest extends SinkTestBase {
  private static final ArrowType LONG = new ArrowType.Int(64, true);
  private static final ArrowType STRING = ArrowType.Utf8.INSTANCE;
  private static final Schema NARROW = new Schema(List.of(
      field("id", false, LONG), field("name", true, STRING)));
  private static final Schema WIDER = new Schema(List.of(
      field("id", false, LONG), field("name", true, STRING), field("extra", true, STRING)));

  private VectorSchemaRoot rows(Schema schema, Object[]... rows) {
    return batch(allocator, schema, columns(rows));
  }

  private static Object[] row(Object... values) {
    return values;
  }

  private void replay(Path deadLetters, IcebergSink sink) throws Exception {
    try (Pipeline p = Pipeline.from(DeadLetters.replay(deadLetters, allocator, "orders"))
        .id("orders-replay").batch(BatchPolicy.rows(1)).deadLetter(warehouse.resolve("dead-2"))
        .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private static Map<Long, String> extraById(List<Record> rows) {
    Map<Long, String> out = new HashMap<>();
    for (Record r : rows) {
      assertThat(out.put((Long) r.getField("id"), (String) r.getField("extra")))
          .as("id %s once", r.getField("id")).isNull();
    }
    return out;
  }

  @Test
  void deadLetteredBatches_replayedIntoAFixedSink_landExactlyOnce_andASecondReplayAddsNothing()
      throws Exception {
    Path deadLetters = warehouse.resolve("dead");
    IcebergSink strict = sink().build(); // strict evolution: the extra column is rejected
    try (Pipeline p = Pipeline.from(new RootsSource("s", List.of(
            rows(NARROW, row(1L, "a"), row(2L, "b")),
            rows(WIDER, row(3L, "c", "x3"), row(4L, "d", "x4")),
            rows(NARROW, row(5L, "e")),
            rows(WIDER, row(6L, "f", "x6")))))
        .id("orders").batch(BatchPolicy.rows(1)).deadLetter(deadLetters).to(strict)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(extraById(rows()).keySet()).containsExactlyInAnyOrder(1L, 2L, 5L);
    try (Stream<Path> files = Files.list(deadLetters)) {
      assertThat(files.filter(f -> f.toString().endsWith(".arrow"))).hasSize(2);
    }

    IcebergSink fixed = sink().schemaEvolution(SchemaEvolutionPolicy.addColumns()).build();
    replay(deadLetters, fixed);
    Map<Long, String> extra = extraById(rows());
    assertThat(extra.keySet()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(extra).containsEntry(3L, "x3").containsEntry(4L, "x4").containsEntry(6L, "x6")
        .containsEntry(1L, null);
    long snapshot = table().currentSnapshot().snapshotId();

    replay(deadLetters, sink().schemaEvolution(SchemaEvolutionPolicy.addColumns()).build());
    assertThat(extraById(rows())).hasSize(6);
    assertThat(table().currentSnapshot().snapshotId()).as("the second replay committed nothing")
        .isEqualTo(snapshot);
    assertThat(warehouse.resolve("dead-2")).doesNotExist();
  }
}
