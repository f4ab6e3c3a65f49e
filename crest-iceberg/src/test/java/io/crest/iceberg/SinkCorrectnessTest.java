package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.errors.ValidationException;
import io.crest.testing.RootsSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

/** Regression tests of defects that left a table wrong, each read back through Iceberg. */
class SinkCorrectnessTest extends SinkTestBase {
  private static final ArrowType LONG = new ArrowType.Int(64, true);
  private static final ArrowType STRING = ArrowType.Utf8.INSTANCE;
  private static final Schema WITH_OP = new Schema(List.of(
      field("id", false, LONG), field("name", true, STRING), field("op", true, STRING)));
  private static final Schema WITHOUT_OP = new Schema(List.of(
      field("id", false, LONG), field("name", true, STRING)));

  private VectorSchemaRoot rows(Schema schema, Object[]... rows) {
    return batch(allocator, schema, columns(rows));
  }

  private static Object[] row(Object... values) {
    return values;
  }

  private void run(IcebergSink sink, Path deadLetters, VectorSchemaRoot... roots)
      throws Exception {
    try (Pipeline p = Pipeline.from(new RootsSource("s", List.of(roots))).id("p")
        .batch(BatchPolicy.rows(1)).deadLetter(deadLetters).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  /** Issue 13, defect 1: the converter prepared for a rejected batch was kept, half-updated. */
  @Test
  void aCdcDelete_afterADeadLetteredBatchWithoutTheOpColumn_stillDeletes() throws Exception {
    Path deadLetters = warehouse.resolve("dead");
    IcebergSink sink = sink().commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    run(sink, deadLetters,
        rows(WITH_OP, row(1L, "a", "insert")),
        rows(WITHOUT_OP, row(2L, "b")),
        rows(WITH_OP, row(1L, null, "delete")));
    assertThat(rows()).as("the delete removed key 1").isEmpty();
    try (Stream<Path> files = Files.list(deadLetters)) {
      assertThat(files.filter(f -> f.toString().endsWith(".arrow"))).hasSize(1);
    }
  }

  /**
   * Issue 13, defect 2: a dead-lettered batch alone in its flush moved no committed position, so
   * the next run read it again and wrote a second dead-letter file.
   */
  @Test
  void aDeadLetteredBatchAloneInItsFlush_isCommittedPastAndNotReadAgain() throws Exception {
    Path deadLetters = warehouse.resolve("dead");
    Schema wider = new Schema(List.of(field("id", false, LONG), field("name", true, STRING),
        field("extra", true, STRING)));
    IcebergSink sink = sink().build(); // strict evolution: the extra column is rejected
    run(sink, deadLetters, rows(WITHOUT_OP, row(1L, "a")), rows(wider, row(2L, "b", "x")));
    assertThat(io.crest.iceberg.commit.PipelineState.find(table(), null, "p").positions())
        .as("the position after the dead-lettered batch is committed")
        .containsEntry("s", io.crest.spi.SourcePosition.ofOffset(2));

    java.util.concurrent.atomic.AtomicInteger deadLettered =
        new java.util.concurrent.atomic.AtomicInteger();
    try (Pipeline p = Pipeline.from(new RootsSource("s", List.of(
            rows(WITHOUT_OP, row(1L, "a")), rows(wider, row(2L, "b", "x")))))
        .id("p").batch(BatchPolicy.rows(1)).deadLetter(deadLetters)
        .listener(new io.crest.PipelineListener() {
          @Override
          public void onDeadLetter(io.crest.DeadLetterEvent event) {
            deadLettered.incrementAndGet();
          }
        }).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(deadLettered).as("the second run read nothing again").hasValue(0);
    try (Stream<Path> files = Files.list(deadLetters)) {
      assertThat(files.filter(f -> f.toString().endsWith(".arrow"))).hasSize(1);
    }
    assertThat(rows()).hasSize(1);
  }

  /** Issue 13, defect 5: each thread of a pipeline uses its own Table instance. */
  @Test
  void theWriterAndTheCommitter_eachUseATableOfTheirOwn() throws Exception {
    ((SupportsNamespaces) catalog.catalog()).createNamespace(TABLE.namespace());
    catalog.catalog().createTable(TABLE, new org.apache.iceberg.Schema(
        Types.NestedField.required(1, "id", Types.LongType.get()),
        Types.NestedField.optional(2, "name", Types.StringType.get())));
    FaultyCatalog tracking = new FaultyCatalog(catalog.catalog());
    IcebergSink sink = IcebergSink.builder().catalog(tracking).table("db.t").build();
    run(sink, warehouse.resolve("dead"),
        rows(WITHOUT_OP, row(1L, "a")), rows(WITHOUT_OP, row(2L, "b")),
        rows(WITHOUT_OP, row(3L, "c")));
    assertThat(rows()).hasSize(3);
    Map<Table, Set<String>> used = tracking.pipelineThreads;
    assertThat(used.values()).allSatisfy(threads -> assertThat(threads).hasSizeLessThan(2));
    assertThat(used.values().stream().flatMap(Set::stream).distinct())
        .as("both threads used a table").containsExactlyInAnyOrder("crest-p-writer",
            "crest-p-committer");
  }

  @Test
  void anUpsertPartitionedByANonKeyColumn_isRejectedAtBuild() {
    assertThatThrownBy(() -> sink().partitionBy("bucket(4, name)").equalityDeletes()
        .commitStrategy(CommitStrategy.upsert("id")).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Cannot build IcebergSink for table db.t: partition field"
            + " 'bucket(4, name)' comes from column 'name', which is not a key");
  }

  @Test
  void anUpsertIntoAFormatV1Table_isRejectedAtBuild() {
    assertThatThrownBy(() -> sink().formatVersion(1)
        .commitStrategy(CommitStrategy.upsert("id")).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("format version 1");
  }

  @Test
  void anUpsertIntoAnExistingFormatV1Table_isRejectedWhenThePipelineStarts() {
    ((SupportsNamespaces) catalog.catalog()).createNamespace(TABLE.namespace());
    catalog.catalog().createTable(TABLE, new org.apache.iceberg.Schema(
        Types.NestedField.required(1, "id", Types.LongType.get())),
        PartitionSpec.unpartitioned(), Map.of("format-version", "1"));
    IcebergSink sink = sink().commitStrategy(CommitStrategy.upsert("id")).build();
    Pipeline p = Pipeline.from(new RootsSource("s", List.of())).id("p").to(sink);
    assertThatThrownBy(p::start).isInstanceOf(ValidationException.class)
        .hasMessageContaining("Cannot upsert into table db.t: it has format version 1");
  }

  @Test
  void anOverwriteByFilterStrategyThatDelegates_isRejectedAtBuild() {
    CommitStrategy filter = IcebergCommitStrategies.overwriteByFilter(Expressions.alwaysTrue());
    CommitStrategy delegating = new CommitStrategy() {
      @Override
      public String name() {
        return "mine";
      }

      @Override
      public Mode mode() {
        return filter.mode();
      }
    };
    assertThatThrownBy(() -> sink().commitStrategy(delegating).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("strategy mine asks for OVERWRITE_BY_FILTER but gives no Iceberg"
            + " filter");
  }
}
