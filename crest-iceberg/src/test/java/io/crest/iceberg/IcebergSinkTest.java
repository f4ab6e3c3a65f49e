package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.ValidationException;
import io.crest.testing.GeneratedSource;
import io.crest.testing.RootsSource;
import io.crest.testing.TestBatches;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.TimeStampNanoTZVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.UnionVector;
import org.apache.arrow.vector.types.UnionMode;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.arrow.vector.types.Types.MinorType;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Table;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IcebergSinkTest {
  private static final Duration WAIT = Duration.ofMinutes(1);
  private static final TableIdentifier TABLE = TableIdentifier.of("db", "events");

  @TempDir Path warehouse;
  private BufferAllocator allocator;

  @BeforeEach
  void open() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void close() {
    allocator.close();
  }

  private IcebergSink sink() {
    return IcebergSink.builder()
        .localWarehouse(warehouse)
        .table("db.events")
        .tableProperty("write.parquet.compression-codec", "snappy")
        .build();
  }

  private OpenCatalog catalog() {
    return new OpenCatalog(
        IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
  }

  private void run(String id, GeneratedSource source) throws Exception {
    try (Pipeline p = Pipeline.from(source).id(id).batch(BatchPolicy.rows(400)).to(sink())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private static List<Long> ids(Table table) throws IOException {
    List<Long> ids = new ArrayList<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("id")));
    }
    return ids;
  }

  @Test
  void createsNamespaceAndTable_withTheConfiguredProperties() throws Exception {
    run("p1", new GeneratedSource(allocator, 100).stream("s", 0, 1_000));
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      assertThat(t.properties()).containsEntry("write.parquet.compression-codec", "snappy");
      assertThat(ids(t)).hasSize(1_000).doesNotHaveDuplicates();
    }
    // local files go through Hadoop's raw file system: no .crc side files; permissions are
    // set through java.nio (Hadoop's umask applied), not a forked chmod
    try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(warehouse)) {
      List<Path> all = files.toList();
      assertThat(all).map(Path::toString).anyMatch(f -> f.endsWith(".parquet"))
          .noneMatch(f -> f.endsWith(".crc"));
      Path parquet = all.stream().filter(f -> f.toString().endsWith(".parquet")).findFirst()
          .orElseThrow();
      assertThat(java.nio.file.Files.getPosixFilePermissions(parquet)).contains(
          java.nio.file.attribute.PosixFilePermission.OWNER_READ,
          java.nio.file.attribute.PosixFilePermission.OWNER_WRITE)
          .doesNotContain(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
    }
  }

  @Test
  void twoPipelineIds_onOneTable_eachResumeFromTheirOwnCommits_acrossOtherWritersSnapshots()
      throws Exception {
    run("p1", new GeneratedSource(allocator, 100).stream("s", 0, 500));
    run("p2", new GeneratedSource(allocator, 100).stream("s", 10_000, 300));
    // Another writer commits in between, without Crest's summary keys.
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      long before = t.currentSnapshot().snapshotId();
      t.newFastAppend().set("writer", "someone-else")
          .commit();
      assertThat(c.loadTable(TABLE).currentSnapshot().snapshotId()).isNotEqualTo(before);
    }
    run("p1", new GeneratedSource(allocator, 100).stream("s", 0, 800));
    run("p2", new GeneratedSource(allocator, 100).stream("s", 10_000, 300));
    try (OpenCatalog c = catalog()) {
      List<Long> ids = ids(c.loadTable(TABLE));
      assertThat(ids).hasSize(1_100).doesNotHaveDuplicates();
      assertThat(ids).filteredOn(id -> id < 10_000).hasSize(800);
    }
  }

  @Test
  void unsupportedArrowType_failsAtTableCreation_namingTheColumn_andCreatesNothing() throws Exception {
    Schema schema = new Schema(List.of(
        new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
        new Field("choice", FieldType.nullable(
            new ArrowType.Union(UnionMode.Sparse, new int[] {MinorType.INT.ordinal()})),
            List.of(new Field("int", FieldType.nullable(new ArrowType.Int(32, true)), null)))));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    ((UnionVector) root.getVector("choice")).setValueCount(1);
    root.getVector("id").setValueCount(1);
    root.setRowCount(1);
    Pipeline p = Pipeline.from(new RootsSource("s", List.of(root))).id("union").to(sink());
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(ValidationException.class)
        .hasMessageContaining("'choice'")
        .hasMessageContaining("db.events");
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    try (OpenCatalog c = catalog()) {
      assertThat(c.tableExists(TABLE)).isFalse();
    }
  }

  @Test
  void batchThatDoesNotFitTheTable_failsNamingTheColumn_commitsNothingOfIt_andLeavesNoFiles()
      throws Exception {
    run("p1", new GeneratedSource(allocator, 100).stream("s", 0, 100));
    long filesBefore = dataFiles();
    // Same column names, but 'id' arrives as a string: the table's type is long.
    Schema wrong = new Schema(List.of(
        new Field("id", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
        new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
    VectorSchemaRoot good = TestBatches.root(allocator, 100, 50);
    VectorSchemaRoot bad = VectorSchemaRoot.create(wrong, allocator);
    bad.allocateNew();
    bad.setRowCount(0);
    bad.getFieldVectors().forEach(v -> v.setValueCount(1));
    bad.setRowCount(1);
    Pipeline p =
        Pipeline.from(new RootsSource("t", List.of(good, bad)))
            .id("p1")
            .batch(BatchPolicy.rows(1_000_000))
            .to(sink());
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(ValidationException.class)
        .hasMessageContaining("db.events")
        .hasMessageContaining("'id'");
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    try (OpenCatalog c = catalog()) {
      assertThat(ids(c.loadTable(TABLE))).hasSize(100);
    }
    // The good batch's open file was discarded with the run: no orphan left behind.
    assertThat(dataFiles()).isEqualTo(filesBefore);
  }

  @Test
  void nanosecondTimestamps_createAFormatV3Table_andKeepEveryNanosecond() throws Exception {
    Schema schema = new Schema(List.of(
        new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
        new Field("at", FieldType.nullable(new ArrowType.Timestamp(
            org.apache.arrow.vector.types.TimeUnit.NANOSECOND, "UTC")), null)));
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    root.allocateNew();
    ((BigIntVector) root.getVector("id")).setSafe(0, 1);
    ((TimeStampNanoTZVector) root.getVector("at")).setSafe(0, 1_767_225_600_123_456_789L);
    ((BigIntVector) root.getVector("id")).setSafe(1, 2);
    ((TimeStampNanoTZVector) root.getVector("at")).setNull(1);
    root.setRowCount(2);
    try (Pipeline p = Pipeline.from(new RootsSource("s", List.of(root))).id("nanos").to(sink())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      assertThat(((HasTableOperations) t).operations().current().formatVersion()).isEqualTo(3);
      List<Object> values = new ArrayList<>();
      try (CloseableIterable<Record> rows = IcebergGenerics.read(t).build()) {
        rows.forEach(r -> values.add(r.getField("at")));
      }
      assertThat(values).containsExactlyInAnyOrder(
          OffsetDateTime.parse("2026-01-01T00:00:00.123456789Z"), null);
    }
  }

  @Test
  void columnarWriter_isTheDefault_andTheGenericWriterStaysSelectable_withTheSameRows()
      throws Exception {
    try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 500))
        .id("columnar").to(sink())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    try (OpenCatalog c = catalog()) {
      assertThat(SinkTestBase.createdBy(c.loadTable(TABLE))).containsExactly("crest");
    }
    IcebergSink generic = IcebergSink.builder().localWarehouse(warehouse).table("db.events")
        .genericWriter().build();
    try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 1_000, 500))
        .id("generic").to(generic)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      assertThat(SinkTestBase.createdBy(t)).contains("parquet-mr");
      List<String> rows = new ArrayList<>();
      try (CloseableIterable<Record> records = IcebergGenerics.read(t).build()) {
        records.forEach(r -> rows.add(r.getField("id") + "/" + r.getField("name")));
      }
      assertThat(rows).hasSize(1_000).contains("0/name-0", "499/name-499", "1000/name-1000");
    }
  }

  @Test
  void aTableWithABloomFilter_isWrittenByTheColumnarWriter_withTheFilter() throws Exception {
    String log;
    try (CapturedOutput output = CapturedOutput.start()) {
      try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 300))
          .id("bloom").to(IcebergSink.builder().localWarehouse(warehouse).table("db.events")
              .tableProperty("write.parquet.bloom-filter-enabled.column.id", "true").build())) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      log = output.text();
    }
    assertThat(log).doesNotContain("bloom-filter");
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      assertThat(SinkTestBase.createdBy(t)).containsExactly("crest");
      assertThat(ids(t)).hasSize(300).doesNotHaveDuplicates();
      List<org.apache.parquet.column.values.bloomfilter.BloomFilter> filters =
          SinkTestBase.bloomFilters(t, "id");
      assertThat(filters).isNotEmpty().doesNotContainNull();
      for (long id = 0; id < 300; id++) {
        long v = id;
        assertThat(filters).as("filters holding id %d", id)
            .anyMatch(f -> f.findHash(f.hash(v)));
      }
      assertThat(SinkTestBase.bloomFilters(t, "name")).containsOnlyNulls();
    }
  }

  @Test
  void columnarWriter_reusesItsEncodersFromCommitToCommit() throws Exception {
    String log;
    try (CapturedOutput output = CapturedOutput.start()) {
      try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 500))
          .id("columnar").batch(BatchPolicy.rows(100)).to(sink())) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
        assertThat(p.stats().commits()).isEqualTo(5);
      }
      log = output.text();
    }
    // five commits, five writers and five settings checks: only the first built encoders
    assertThat(log).containsPattern(
        "Parquet column encoders of \\S+: reused 9, built 1 ");
    try (OpenCatalog c = catalog()) {
      assertThat(ids(c.loadTable(TABLE))).hasSize(500).doesNotHaveDuplicates();
    }
  }

  @Test
  void encoderThreads_encodeOnSeveralThreads_intoFilesOfTheirOwn_withEveryRowOnce()
      throws Exception {
    IcebergSink parallel = IcebergSink.builder().localWarehouse(warehouse).table("db.events")
        .encoderThreads(3).build();
    try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 6_000))
        .id("parallel").batch(BatchPolicy.rows(2_000)).to(parallel)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsCommitted()).isEqualTo(6_000);
    }
    try (OpenCatalog c = catalog()) {
      Table t = c.loadTable(TABLE);
      List<Long> expected = new ArrayList<>();
      for (long id = 0; id < 6_000; id++) {
        expected.add(id);
      }
      assertThat(ids(t)).containsExactlyInAnyOrderElementsOf(expected);
      assertThat(SinkTestBase.createdBy(t)).containsExactly("crest");
      int files = 0;
      int commits = 0;
      for (org.apache.iceberg.Snapshot s : t.snapshots()) {
        commits++;
        int added = 0;
        for (org.apache.iceberg.DataFile f : s.addedDataFiles(t.io())) {
          added++;
        }
        assertThat(added).as("files of snapshot %d", s.snapshotId()).isBetween(1, 3);
        files += added;
      }
      assertThat(files).isGreaterThan(commits); // several files per commit
    }
    assertThatThrownBy(() -> IcebergSink.builder().encoderThreads(0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("encoder threads to 0");
  }

  @Test
  void encoderThreads_aSourceFailure_commitsWhatWasRead_andReleasesEveryBuffer()
      throws Exception {
    List<String> cleanupErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
    // the source fails after 50,000 rows, in the middle of a flush the pipeline then commits
    Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 1_000_000)
            .failAfter(50_000))
        .id("doomed")
        .batch(BatchPolicy.rows(100_000_000))
        .listener(new io.crest.PipelineListener() {
          @Override
          public void onError(String kind, Throwable error) {
            if (kind.equals("cleanup")) {
              cleanupErrors.add(String.valueOf(error));
            }
          }
        })
        .to(IcebergSink.builder().localWarehouse(warehouse).table("db.events")
            .encoderThreads(2).build());
    p.start();
    assertThat(org.assertj.core.api.Assertions.catchThrowable(() -> p.awaitIdle(WAIT)))
        .isInstanceOf(io.crest.errors.PipelineFailedException.class);
    assertThat(org.assertj.core.api.Assertions.catchThrowable(p::close))
        .isInstanceOf(io.crest.errors.PipelineFailedException.class);
    // the source's allocator was closed after the sink writer released its references
    assertThat(cleanupErrors).as("cleanup errors, e.g. leaked buffers").isEmpty();
    assertThat(p.stats().rowsIn()).isPositive();
    assertThat(p.stats().rowsCommitted()).isEqualTo(p.stats().rowsIn());
    try (OpenCatalog c = catalog()) {
      assertThat(ids(c.loadTable(TABLE))).hasSize((int) p.stats().rowsIn()).doesNotHaveDuplicates();
    }
  }

  @Test
  void encoderThreads_bufferLimit_boundsTheBatchesTheEncoderThreadsStillHold() throws Exception {
    // Every batch is the same size: 1,000 rows whose names all have 12 characters.
    int batchRows = 1_000;
    long batchBytes;
    long batchAllocated;
    try (BufferAllocator probe = allocator.newChildAllocator("probe", 0, Long.MAX_VALUE);
        io.crest.spi.SourceBatch b = TestBatches.batch(probe, "s", 1_000_000, 0, batchRows)) {
      batchBytes = b.sizeInBytes();
      batchAllocated = probe.getAllocatedMemory();
    }
    int budgetBatches = 3;
    java.util.concurrent.atomic.AtomicLong peak = new java.util.concurrent.atomic.AtomicLong();
    // The Arrow memory of the source's batches, sampled on the writer thread after each write:
    // queued, being written and held by the encoder threads, plus the one a reader waits with.
    io.crest.PipelineListener sampler = new io.crest.PipelineListener() {
      @Override
      public void onBatch(io.crest.BatchEvent event) {
        peak.accumulateAndGet(allocator.getAllocatedMemory(), Math::max);
      }
    };
    IcebergSink parallel = IcebergSink.builder().localWarehouse(warehouse).table("db.events")
        .encoderThreads(4).build();
    try (Pipeline p = Pipeline.from(
            new GeneratedSource(allocator, batchRows).stream("s", 1_000_000, 200_000))
        .id("bounded")
        .batch(BatchPolicy.rows(100_000_000))
        .bufferLimit(io.crest.DataSize.bytes(budgetBatches * batchBytes))
        .listener(sampler)
        .to(parallel)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsCommitted()).isEqualTo(200_000);
      // idle: every batch was committed, so the encoder threads hold nothing any more
      assertThat(p.stats().bufferedBytes()).isZero();
    }
    assertThat(peak.get())
        .as("peak Arrow memory of the source's batches (one batch allocates %d)", batchAllocated)
        .isPositive()
        .isLessThanOrEqualTo((budgetBatches + 1) * batchAllocated);
  }

  @Test
  void catalogInstance_isUsed_andLeftOpenForItsOwner() throws Exception {
    InMemoryCatalog catalog = new InMemoryCatalog();
    catalog.initialize("mem", Map.of());
    IcebergSink sink = IcebergSink.builder().catalog(catalog).table("db.events").build();
    for (int run = 1; run <= 2; run++) {
      try (Pipeline p =
          Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 300 * run))
              .id("mem")
              .to(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
    }
    // Still open: the sink did not close a catalog it does not own.
    assertThat(ids(catalog.loadTable(TABLE))).hasSize(600).doesNotHaveDuplicates();
    catalog.close();
  }

  @Test
  void builder_rejectsBadAndConflictingSettings() {
    assertThatThrownBy(() -> IcebergSink.builder().table("events"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use table 'events': name it with its namespace, as namespace.table");
    assertThatThrownBy(() -> IcebergSink.builder().table("db..events"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use table 'db..events': it has an empty name part");
    assertThatThrownBy(() -> IcebergSink.builder().table("a.b").table("a.c"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot use table a.c: already set to a.b");
    assertThatThrownBy(() -> IcebergSink.builder().catalog(Map.of("uri", "http://x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("neither 'type' nor 'catalog-impl'");
    assertThatThrownBy(() ->
            IcebergSink.builder().localWarehouse(warehouse).catalog(Map.of("type", "rest")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot use catalog crest (rest): already set to local warehouse");
    assertThatThrownBy(() -> IcebergSink.builder().tableProperty("k", "1").tableProperty("k", "2"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set table property k=2: already set to 1");
    assertThatThrownBy(() -> IcebergSink.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build IcebergSink: no table (call table(\"ns.name\"))");
    assertThat(IcebergSink.builder().localWarehouse(warehouse).table("a.b.c").build().name()).isEqualTo("a.b.c");
  }

  private long dataFiles() throws IOException {
    try (Stream<Path> files = Files.walk(warehouse)) {
      return files.filter(f -> f.toString().endsWith(".parquet") && f.toString().contains("/data/"))
          .count();
    }
  }
}
