package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.DeadLetterEvent;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.PipelineFencedException;
import io.crest.errors.ValidationException;
import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.testing.GeneratedSource;
import io.crest.testing.RootsSource;
import io.crest.testing.TestBatches;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once under injected commit failures, concurrent writers, a second copy of a pipeline,
 * snapshot expiry, rollback, a reset source and bad input, on a real SQLite JDBC catalog. Every
 * result is read back through Iceberg's generic reader.
 */
class ExactlyOnceTest {
  private static final Duration WAIT = Duration.ofMinutes(2);
  private static final TableIdentifier TABLE = TableIdentifier.of("db", "events");

  @TempDir Path warehouse;
  private BufferAllocator allocator;
  private OpenCatalog catalog;

  @BeforeEach
  void open() {
    allocator = new RootAllocator();
    catalog = new OpenCatalog(
        IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
  }

  @AfterEach
  void close() throws IOException {
    catalog.close();
    allocator.close();
  }

  /** Creates the table with fast Iceberg-level retries, so injected conflicts reach Crest soon. */
  private void createTable() {
    ((org.apache.iceberg.catalog.SupportsNamespaces) catalog.catalog())
        .createNamespace(TABLE.namespace(), new java.util.HashMap<>());
    catalog.catalog().buildTable(TABLE, ArrowSchemas.toIceberg(TestBatches.SCHEMA, "db.events"))
        .withProperty("commit.retry.num-retries", "1")
        .withProperty("commit.retry.min-wait-ms", "1")
        .withProperty("commit.retry.max-wait-ms", "2")
        .create();
  }

  private IcebergSink.Builder sinkOn(org.apache.iceberg.catalog.Catalog c) {
    return IcebergSink.builder()
        .catalog(c)
        .table("db.events")
        .commitBackoff(Duration.ofMillis(1), Duration.ofMillis(10));
  }

  private IcebergSink sink() {
    return sinkOn(catalog.catalog()).build();
  }

  private Pipeline pipeline(String id, GeneratedSource source, IcebergSink sink) {
    return Pipeline.from(source).id(id).batch(BatchPolicy.rows(200)).to(sink);
  }

  private void runToEnd(String id, GeneratedSource source, IcebergSink sink) throws Exception {
    try (Pipeline p = pipeline(id, source, sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private List<Long> ids() throws IOException {
    Table table = catalog.loadTable(TABLE);
    List<Long> ids = new ArrayList<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("id")));
    }
    return ids;
  }

  private static List<Long> range(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }

  private long parquetFiles() throws IOException {
    try (Stream<Path> files = Files.walk(warehouse)) {
      return files.filter(f -> f.toString().endsWith(".parquet")).count();
    }
  }

  @Test
  void conflicts_beyondIcebergsRetries_areRetriedByCrest_andLandOnce() throws Exception {
    createTable();
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    faulty.conflicts.set(7); // Iceberg tries twice per Crest attempt: Crest needs 4 attempts
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 1_000),
        sinkOn(faulty).commitAttempts(6).build());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 1_000));
    assertThat(faulty.conflicts.get()).isZero();
  }

  @Test
  void conflicts_beyondEveryAttempt_failTheCommit_andDeleteItsFiles() throws Exception {
    createTable();
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    faulty.conflicts.set(1_000);
    Pipeline p = pipeline("p", new GeneratedSource(allocator, 100).stream("s", 0, 500),
        sinkOn(faulty).commitAttempts(2).build());
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(CommitFailedException.class)
        .hasMessageContaining("to table db.events after 2 attempts")
        .hasMessageContaining("the files are deleted");
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(ids()).isEmpty();
    assertThat(parquetFiles()).as("data files of failed commits").isZero();
    // Nothing was lost: a healthy run reads every row again.
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 500), sink());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 500));
  }

  @Test
  void unknownOutcome_afterTheCommitLanded_isResolvedByCommitId_withoutADuplicate()
      throws Exception {
    createTable();
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    faulty.unknownAfterCommit.set(3);
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 1_000), sinkOn(faulty).build());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 1_000));
    assertThat(faulty.unknownAfterCommit.get()).isZero();
  }

  @Test
  void unknownOutcome_withoutTheCommit_isRetriedWithTheSameFiles_andLandsOnce() throws Exception {
    createTable();
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    faulty.unknownWithoutCommit.set(3);
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 1_000), sinkOn(faulty).build());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 1_000));
    assertThat(faulty.unknownWithoutCommit.get()).isZero();
  }

  @Test
  void unknownOutcome_thatNeverClears_stopsWithFilesKept_andARestartLosesNothing() throws Exception {
    createTable();
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    faulty.unknownWithoutCommit.set(1_000);
    Pipeline p = pipeline("p", new GeneratedSource(allocator, 100).stream("s", 0, 500),
        sinkOn(faulty).commitAttempts(3).build());
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(CommitStateUnknownException.class)
        .hasMessageContaining("files kept");
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(parquetFiles()).as("files of a commit in an unknown state are kept").isPositive();
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 500), sink());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 500));
  }

  @Test
  void twoPipelines_withDifferentIds_writingConcurrently_bothLandEveryRowOnce() throws Exception {
    createTable();
    CountDownLatch go = new CountDownLatch(1);
    try (Pipeline a = pipeline("a",
            new GeneratedSource(allocator, 50).stream("s", 0, 2_000).holdUntil(go), sink());
        Pipeline b = pipeline("b",
            new GeneratedSource(allocator, 50).stream("s", 100_000, 2_000).holdUntil(go), sink())) {
      a.start();
      b.start();
      go.countDown();
      assertThat(a.awaitIdle(WAIT)).isTrue();
      assertThat(b.awaitIdle(WAIT)).isTrue();
    }
    List<Long> expected = new ArrayList<>(range(0, 2_000));
    expected.addAll(range(100_000, 102_000));
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void twoCopiesOfOnePipeline_theSecondToCommitIsFenced_andNoRowIsDuplicated() throws Exception {
    createTable();
    CountDownLatch go = new CountDownLatch(1);
    Pipeline a = pipeline("same",
        new GeneratedSource(allocator, 50).stream("s", 0, 2_000).holdUntil(go), sink());
    Pipeline b = pipeline("same",
        new GeneratedSource(allocator, 50).stream("s", 0, 2_000).holdUntil(go), sink());
    a.start();
    b.start(); // both read the same (empty) state before either commits
    go.countDown();
    List<Throwable> failures = new ArrayList<>();
    for (Pipeline p : List.of(a, b)) {
      try {
        p.awaitIdle(WAIT);
        p.close();
      } catch (PipelineFailedException e) {
        failures.add(e.getCause());
        assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
      }
    }
    assertThat(failures).hasSize(1);
    assertThat(failures.get(0))
        .isInstanceOf(PipelineFencedException.class)
        .hasMessageContaining("pipeline same was fenced")
        .hasMessageContaining("only one copy of a pipeline id may run");
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 2_000));
  }

  @Test
  void snapshotExpiry_ofAllThePipelinesSnapshots_doesNotMakeItIngestAgain() throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 500), sink());
    Table table = catalog.loadTable(TABLE);
    table.newFastAppend().set("writer", "someone-else").commit();
    table.newFastAppend().set("writer", "someone-else").commit();
    table.expireSnapshots().expireOlderThan(System.currentTimeMillis() + 1).retainLast(1).commit();
    table.refresh();
    for (Snapshot s : table.snapshots()) {
      assertThat(s.summary()).doesNotContainKey("crest.pipeline-id");
    }
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 800), sink());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 800));
  }

  @Test
  void rollback_pastThePipelinesLastCommits_makesItReadTheRolledBackRowsOnceMore()
      throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 1_000), sink());
    Table table = catalog.loadTable(TABLE);
    List<Snapshot> history = new ArrayList<>();
    table.snapshots().forEach(history::add);
    assertThat(history).hasSizeGreaterThan(2);
    table.manageSnapshots().rollbackTo(history.get(1).snapshotId()).commit();
    assertThat(ids()).hasSizeLessThan(1_000);
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 1_000), sink());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 1_000));
  }

  @Test
  void resetSource_withANewInstanceId_isRefused_insteadOfSkipped() throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 300).instance("view-v1"), sink());
    Pipeline p = pipeline("p",
        new GeneratedSource(allocator, 100).stream("s", 0, 300).instance("view-v2"), sink());
    assertThatThrownBy(p::start)
        .isInstanceOf(ValidationException.class)
        .hasMessageContaining("Cannot resume pipeline p from db.events")
        .hasMessageContaining("was reset (its instance id is view-v2")
        .hasMessageContaining("recorded positions under view-v1");
    assertThat(p.state()).isEqualTo(Pipeline.State.FAILED);
    assertThat(ids()).hasSize(300);
  }

  private VectorSchemaRoot batchWithNullId(long firstId, int rows, int nullRow) {
    Schema nullable = new Schema(List.of(
        new Field("id", FieldType.nullable(new ArrowType.Int(64, true)), null),
        new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
    VectorSchemaRoot root = VectorSchemaRoot.create(nullable, allocator);
    root.allocateNew();
    BigIntVector id = (BigIntVector) root.getVector("id");
    VarCharVector name = (VarCharVector) root.getVector("name");
    for (int i = 0; i < rows; i++) {
      if (i == nullRow) {
        id.setNull(i);
      } else {
        id.setSafe(i, firstId + i);
      }
      name.setSafe(i, ("bad-" + i).getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(rows);
    return root;
  }

  @Test
  void nullInARequiredColumn_stopsThePipeline_namingTableColumnRowStreamAndPosition()
      throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 100), sink());
    Pipeline p = Pipeline.from(new RootsSource("other", List.of(
            TestBatches.root(allocator, 1_000, 10), batchWithNullId(2_000, 10, 7))))
        .id("p2").batch(BatchPolicy.rows(1_000_000)).to(sink());
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(ValidationException.class)
        .hasMessageContaining("db.events")
        .hasMessageContaining("'id'")
        .hasMessageContaining("row 7")
        .hasMessageContaining("stream other, 10 rows up to position 20");
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(0, 100));
  }

  @Test
  void aBatchTheColumnarWriterRejectsHalfWay_stopsThePipeline_insteadOfGoingToTheDeadLetters()
      throws Exception {
    // A null in a nested required field is found by the columnar encoder only while it writes,
    // when rows of the batch are already in the open file: the batch cannot be set aside.
    Schema arrow = new Schema(List.of(
        io.crest.iceberg.testing.ArrowTestData.field("id", false, new ArrowType.Int(64, true)),
        io.crest.iceberg.testing.ArrowTestData.structOf("point", true,
            io.crest.iceberg.testing.ArrowTestData.field("x", false,
                new ArrowType.FloatingPoint(org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)))));
    VectorSchemaRoot good = io.crest.iceberg.testing.ArrowTestData.batch(allocator, arrow, List.of(
        List.of(1L, 2L),
        List.of(io.crest.iceberg.testing.ArrowTestData.struct("x", 1.0),
            io.crest.iceberg.testing.ArrowTestData.struct("x", 2.0))));
    VectorSchemaRoot bad = io.crest.iceberg.testing.ArrowTestData.batch(allocator, arrow, List.of(
        List.of(3L, 4L),
        List.of(io.crest.iceberg.testing.ArrowTestData.struct("x", 3.0),
            io.crest.iceberg.testing.ArrowTestData.struct("x", null))));
    Path dlq = warehouse.resolve("dead-letters");
    Pipeline p = Pipeline.from(new RootsSource("points", List.of(good, bad)))
        .id("points")
        .deadLetter(dlq)
        .to(IcebergSink.builder().catalog(catalog.catalog()).table("db.points").build());
    p.start();
    Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> p.awaitIdle(WAIT));
    assertThat(failure).isInstanceOf(PipelineFailedException.class)
        .hasStackTraceContaining("the flush is discarded");
    assertThat(org.assertj.core.api.Assertions.catchThrowable(p::close))
        .isInstanceOf(PipelineFailedException.class);
    assertThat(p.stats().deadLettered()).isZero();
    assertThat(p.stats().rowsCommitted()).isZero();
    assertThat(dlq).doesNotExist();
  }

  @Test
  void deadLetter_keepsTheRejectedBatchesOriginalRows_andGoodBatchesGoOn() throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 100), sink());
    Path dlq = warehouse.resolve("dead-letters");
    List<DeadLetterEvent> events = new CopyOnWriteArrayList<>();
    try (Pipeline p = Pipeline.from(new RootsSource("other", List.of(
                TestBatches.root(allocator, 1_000, 10),
                batchWithNullId(2_000, 10, 3),
                TestBatches.root(allocator, 3_000, 10))))
            .id("p2")
            .deadLetter(dlq)
            .listener(new PipelineListener() {
              @Override
              public void onDeadLetter(DeadLetterEvent event) {
                events.add(event);
              }
            })
            .to(sink())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().deadLettered()).isEqualTo(1);
    }
    List<Long> expected = new ArrayList<>(range(0, 100));
    expected.addAll(range(1_000, 1_010));
    expected.addAll(range(3_000, 3_010));
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(expected);

    assertThat(events).hasSize(1);
    DeadLetterEvent event = events.get(0);
    assertThat(event.stream()).isEqualTo("other");
    assertThat(event.positionAfter().value()).isEqualTo("20");
    assertThat(event.reason()).contains("'id'").contains("row 3");
    try (ArrowFileReader reader =
        new ArrowFileReader(Files.newByteChannel(event.file()), allocator)) {
      assertThat(reader.loadNextBatch()).isTrue(); // reads the footer too
      assertThat(reader.getMetaData())
          .containsEntry("crest.stream", "other")
          .containsEntry("crest.position", "20")
          .containsEntry("crest.pipeline-id", "p2")
          .containsEntry("crest.sink", "db.events");
      assertThat(reader.getMetaData().get("crest.reason")).contains("'id'");
      VectorSchemaRoot root = reader.getVectorSchemaRoot();
      assertThat(root.getRowCount()).isEqualTo(10);
      BigIntVector id = (BigIntVector) root.getVector("id");
      assertThat(id.isNull(3)).isTrue();
      assertThat(id.get(4)).isEqualTo(2_004);
      assertThat(root.getVector("name").getObject(9).toString()).isEqualTo("bad-9");
    }
    try (Stream<Path> files = Files.list(dlq)) {
      assertThat(files).hasSize(1); // no temporary file left behind
    }
  }

  @Test
  void stateProperty_matchesTheLastCommit() throws Exception {
    runToEnd("p", new GeneratedSource(allocator, 100).stream("s", 0, 300).instance("v1"), sink());
    Table table = catalog.loadTable(TABLE);
    Map<String, String> summary = table.currentSnapshot().summary();
    assertThat(table.properties().get("crest.state.p"))
        .isEqualTo("{\"commit-id\":\"" + summary.get("crest.commit-id")
            + "\",\"source-instance\":\"v1\",\"positions\":{\"s\":\"300\"}}");
    assertThat(summary).containsEntry("crest.source-instance", "v1");
  }
}
