package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.testing.RootsSource;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;

/**
 * Upserts by one long key through the key index, deleting by position: random upserts and deletes
 * over a key space, many flushes, restarts (a cold index), an index far smaller than the key space
 * (so most keys are resolved from the table), a key that changes partition, and a compaction
 * between runs. After every run the table, read through Iceberg, equals the model, and holds no
 * equality delete.
 */
class KeyedUpsertTest extends SinkTestBase {
  private static final Schema CHANGES = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)),
      field("region", false, ArrowType.Utf8.INSTANCE),
      field("v", true, ArrowType.Utf8.INSTANCE),
      field("op", true, ArrowType.Utf8.INSTANCE)));
  private static final String[] REGIONS = {"eu", "us", "ap"};

  private final Map<Long, String[]> model = new TreeMap<>(); // id -> {region, v}

  @Test
  void randomUpsertsAndDeletes_formatV3_matchTheModel() throws Exception {
    run(3, false);
  }

  @Test
  void randomUpsertsAndDeletes_withAnIndexThatHoldsEveryKey_matchTheModel() throws Exception {
    // The index is filled with every key at the first flush of each run: a key it lacks is then
    // absent without a look-up in the table.
    run(3, false, IcebergSink.Builder.DEFAULT_KEY_INDEX_MEMORY);
  }

  @Test
  void randomUpsertsAndDeletes_formatV2_matchTheModel() throws Exception {
    run(2, false);
  }

  @Test
  void randomUpsertsAndDeletes_partitionedByANonKeyColumn_keysMovingBetweenPartitions()
      throws Exception {
    run(3, true);
  }

  @Test
  void aCompactionWhileAFlushIsWritten_makesItFindTheRowsOfTheRewrittenFilesAgain() throws Exception {
    Random random = new Random(5);
    IcebergSink sink = sink().formatVersion(3)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    List<VectorSchemaRoot> flushes = new ArrayList<>();
    for (int f = 0; f < 6; f++) {
      flushes.add(changes(random, f));
    }
    java.util.concurrent.atomic.AtomicInteger commits = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger batches = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger compacted = new java.util.concurrent.atomic.AtomicInteger();
    io.crest.PipelineListener compactor = new io.crest.PipelineListener() {
      @Override
      public void onCommit(io.crest.CommitEvent event) {
        commits.incrementAndGet();
      }

      @Override
      public void onBatch(io.crest.BatchEvent event) {
        // On the writer thread, after the 4th flush's rows were written (their deletes address
        // rows of files from the first three flushes) and before that flush is prepared: compact
        // those files away once the third flush is in the table.
        if (batches.incrementAndGet() == 4) {
          org.awaitility.Awaitility.await().atMost(WAIT).until(() -> commits.get() >= 3);
          compacted.set(TableMaintenance.of(table()).compact(2).dataFilesRemoved());
        }
      }
    };
    try (Pipeline p = Pipeline.from(new RootsSource("run", flushes)).id("keyed")
        .batch(BatchPolicy.rows(1)).listener(compactor).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(compacted.get()).as("data files the compaction removed").isGreaterThanOrEqualTo(3);
    assertMatchesModel("after a compaction under the running pipeline");
  }

  @Test
  void aCompactionBetweenAFlushAndItsCommit_isMetByWritingTheDeletesAgain() throws Exception {
    Random random = new Random(11);
    java.util.concurrent.atomic.AtomicInteger compacted = new java.util.concurrent.atomic.AtomicInteger();
    // Compacts on the committer thread when the 4th flush is about to commit: its deletes were
    // resolved against the table before the compaction, so its first attempt fails validation.
    CommitStrategy compacting = compactingBeforeCommit(4, compacted);
    IcebergSink sink = sink().formatVersion(3).commitStrategy(compacting).build();
    List<VectorSchemaRoot> flushes = new ArrayList<>();
    for (int f = 0; f < 6; f++) {
      flushes.add(changes(random, f));
    }
    try (Pipeline p = Pipeline.from(new RootsSource("run", flushes)).id("keyed")
        .batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(compacted.get()).as("data files the compaction removed").isGreaterThanOrEqualTo(3);
    assertMatchesModel("after a compaction under a commit");
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void deletedRowsAboveTheMaxRatio_areRewrittenAwayByTheFlushThatCrossesIt(int version)
      throws Exception {
    Random random = new Random(17L + version);
    IcebergSink sink = sink().formatVersion(version).partitionBy("region")
        .keyIndexMemory(DataSize.bytes(1024)) // most keys are looked up in the table
        .maxDeletedRatio(0.15)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    int rewrites = 0;
    for (int run = 0; run < 3; run++) {
      List<VectorSchemaRoot> flushes = new ArrayList<>();
      for (int f = 0; f < 6; f++) {
        flushes.add(changes(random, run * 6 + f));
      }
      List<Double> ratios = new java.util.concurrent.CopyOnWriteArrayList<>();
      io.crest.PipelineListener measure = new io.crest.PipelineListener() {
        @Override
        public void onCommit(io.crest.CommitEvent event) {
          ratios.add(deletedRatio(table()));
        }
      };
      try (Pipeline p = Pipeline.from(new RootsSource("run-" + run, flushes)).id("keyed")
          .batch(BatchPolicy.rows(1)).listener(measure).to(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertMatchesModel("after run " + run);
      // Measured from what Iceberg reads: every row its data files hold, against the live rows.
      long held = 0;
      try (CloseableIterable<FileScanTask> tasks = table().newScan().planFiles()) {
        for (FileScanTask task : tasks) {
          held += task.file().recordCount();
        }
      }
      assertThat(1 - (double) model.size() / held).as("deleted share after run %d", run)
          .isLessThanOrEqualTo(0.15);
      assertThat(ratios).as("deleted share after each commit of run %d", run).hasSize(6)
          .allSatisfy(r -> assertThat(r).isLessThanOrEqualTo(0.15));
    }
    for (org.apache.iceberg.Snapshot s : table().snapshots()) {
      if (s.summary().containsKey("deleted-data-files")) {
        assertThat(s.summary()).as("a commit that removed data files")
            .doesNotContainKey("crest.maintenance");
        rewrites++;
      }
    }
    assertThat(rewrites).as("flushes that rewrote data files").isPositive();
    assertNoFileLeftBehind();
  }

  @Test
  void withoutRewrites_theDeletedShareGrows() throws Exception {
    // The check above can fail: the same changes without rewrites leave far more deleted rows.
    Random random = new Random(20);
    IcebergSink sink = sink().formatVersion(3).partitionBy("region").maxDeletedRatio(1.0)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    ingest(sink, random, 0, "unbounded-1");
    ingest(sink, random, 5, "unbounded-2");
    assertMatchesModel("without rewrites");
    assertThat(deletedRatio(table())).isGreaterThan(0.15);
  }

  @Test
  void aCompactionUnderAFlushThatRewritesFiles_dropsTheRewriteAndWritesTheDeletesAgain()
      throws Exception {
    Random random = new Random(23);
    java.util.concurrent.atomic.AtomicInteger compacted = new java.util.concurrent.atomic.AtomicInteger();
    CommitStrategy compacting = compactingBeforeCommit(4, compacted);
    // Nearly every flush rewrites files: the 4th one's rewrite meets the compaction's.
    IcebergSink sink = sink().formatVersion(3).maxDeletedRatio(0.02).commitStrategy(compacting)
        .build();
    List<VectorSchemaRoot> flushes = new ArrayList<>();
    for (int f = 0; f < 7; f++) {
      flushes.add(changes(random, f));
    }
    try (Pipeline p = Pipeline.from(new RootsSource("run", flushes)).id("keyed")
        .batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(compacted.get()).as("data files the compaction removed").isPositive();
    assertMatchesModel("after a compaction under a rewriting flush");
    assertNoFileLeftBehind();
  }

  /**
   * Upserts by {@code id} with ops, compacting the table (counting the data files removed in
   * {@code compacted}) on the committer thread just before commit number {@code commit}.
   */
  private CommitStrategy compactingBeforeCommit(
      int commit, java.util.concurrent.atomic.AtomicInteger compacted) {
    CommitStrategy upsert = CommitStrategy.upsertWithOps("op", "id");
    java.util.concurrent.atomic.AtomicInteger commits = new java.util.concurrent.atomic.AtomicInteger();
    return new CommitStrategy() {
      @Override
      public String name() {
        return "compacting-upsert";
      }

      @Override
      public Mode mode() {
        return upsert.mode();
      }

      @Override
      public List<String> keyColumns() {
        return upsert.keyColumns();
      }

      @Override
      public java.util.Optional<String> opColumn() {
        return upsert.opColumn();
      }

      @Override
      public Map<String, String> snapshotProperties(io.crest.CommitInfo info) {
        if (commits.incrementAndGet() == commit) {
          compacted.set(TableMaintenance.of(table()).compact(2).dataFilesRemoved());
        }
        return Map.of();
      }
    };
  }

  @Test
  void flushesPreparedWhileThePreviousCommitIsPending_areResolvedAgainstItsFiles()
      throws Exception {
    Random random = new Random(29);
    IcebergSink sink = sink().formatVersion(3).maxDeletedRatio(0.2)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    try (io.crest.spi.SinkWriter w = sink.open(io.crest.spi.SinkContext.of("keyed", "test"))) {
      w.commit(flush(w, changes(random, 0), 1));
      io.crest.spi.Committable second = flush(w, changes(random, 1), 2);
      // The second flush's commit has not even started: the third is resolved ahead of it.
      io.crest.spi.Committable third = flush(w, changes(random, 2), 3);
      assertThat(keyedGroup(third).includesPreviousCommit()).as("third resolved ahead").isTrue();
      w.commit(second);
      // The third is still pending: the fourth is resolved against the second's snapshot plus it.
      io.crest.spi.Committable fourth = flush(w, changes(random, 3), 4);
      assertThat(keyedGroup(fourth).includesPreviousCommit()).as("fourth resolved ahead").isTrue();
      w.commit(third);
      w.commit(fourth);
      io.crest.spi.Committable fifth = flush(w, changes(random, 4), 5);
      assertThat(keyedGroup(fifth).includesPreviousCommit()).as("nothing pending").isFalse();
      w.commit(fifth);
    }
    assertMatchesModel("after flushes resolved ahead of their previous commit");
    assertNoFileLeftBehind();
  }

  @Test
  void aFlushResolvedAheadOfACommitThatAnotherWriterForcedToRedo_isRedoneToo() throws Exception {
    Random random = new Random(31);
    IcebergSink sink = sink().formatVersion(3)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    try (io.crest.spi.SinkWriter w = sink.open(io.crest.spi.SinkContext.of("keyed", "test"))) {
      w.commit(flush(w, changes(random, 0), 1));
      w.commit(flush(w, changes(random, 1), 2));
      io.crest.spi.Committable third = flush(w, changes(random, 2), 3);
      io.crest.spi.Committable fourth = flush(w, changes(random, 3), 4);
      assertThat(keyedGroup(fourth).includesPreviousCommit()).isTrue();
      // A compaction lands first: the third's deletes address rows it moved, so the third is
      // written again, and the fourth, resolved against the third as first written, too.
      assertThat(TableMaintenance.of(table()).compact(2).dataFilesRemoved()).isPositive();
      w.commit(third);
      w.commit(fourth);
      w.commit(flush(w, changes(random, 4), 5));
    }
    assertMatchesModel("after a redo under a flush resolved ahead");
    assertNoFileLeftBehind();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void upsertsToABranch_findTheBranchsRows_andLeaveMainAsItWas(int version) throws Exception {
    CommitStrategy upsert = CommitStrategy.upsertWithOps("op", "id");
    write(sink().formatVersion(version).commitStrategy(upsert).build(),
        batch(allocator, CHANGES, columns(new Object[][] {
            {1L, "eu", "main", "upsert"}, {2L, "eu", "main", "upsert"}})));
    long mainHead = table().currentSnapshot().snapshotId();
    IcebergSink audit = sink().branch("audit").commitStrategy(upsert).build();
    write(audit, batch(allocator, CHANGES, columns(new Object[][] {
        {1L, "eu", "b1", "upsert"}, {3L, "eu", "b1", "upsert"}})));
    write(audit, batch(allocator, CHANGES, columns(new Object[][] {
        {1L, "eu", "b2", "upsert"}, {2L, "eu", null, "delete"}, {3L, "us", "b2", "upsert"}})));
    write(audit, batch(allocator, CHANGES, columns(new Object[][] {
        {3L, "ap", "b3", "upsert"}, {4L, "eu", "b3", "upsert"}})));

    Table t = table();
    assertThat(t.currentSnapshot().snapshotId()).as("main's head").isEqualTo(mainHead);
    assertThat(values(t, t.snapshot("audit").snapshotId()))
        .containsExactlyInAnyOrderEntriesOf(Map.of(1L, "b2", 3L, "b3", 4L, "b3"));
    assertThat(values(t, mainHead))
        .containsExactlyInAnyOrderEntriesOf(Map.of(1L, "main", 2L, "main"));
  }

  /** Key to {@code v} of the rows of {@code snapshot}; a key read twice fails. */
  private static Map<Long, String> values(Table t, long snapshot) throws IOException {
    Map<Long, String> found = new HashMap<>();
    try (CloseableIterable<Record> rows =
        org.apache.iceberg.data.IcebergGenerics.read(t).useSnapshot(snapshot).build()) {
      for (Record r : rows) {
        assertThat(found.put((Long) r.getField("id"), (String) r.getField("v")))
            .as("key %s read twice in snapshot %d", r.getField("id"), snapshot).isNull();
      }
    }
    return found;
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(longs = {41, 43, 47, 53})
  void twoPipelinesUpsertingDisjointKeysAtOnce_intoOneTable_matchTheModel(long seed)
      throws Exception {
    // Two instances each own half of the keys (as shards of one view would), with small flushes
    // and a low max deleted ratio: each one's rewrites take in the other's files while the other
    // deletes from them, and each resolves flushes ahead while the other commits.
    Random random = new Random(seed);
    write(sink().formatVersion(3).commitStrategy(CommitStrategy.upsertWithOps("op", "id"))
        .build(), changesOf(random, 0, -1)); // creates the table
    List<VectorSchemaRoot> even = new ArrayList<>();
    List<VectorSchemaRoot> odd = new ArrayList<>();
    for (int f = 1; f <= 12; f++) {
      even.add(changesOf(random, f, 0));
      odd.add(changesOf(random, f, 1));
    }
    IcebergSink sink = sink().maxDeletedRatio(0.1)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    try (Pipeline a = Pipeline.from(new RootsSource("even", even)).id("even")
            .batch(BatchPolicy.rows(1)).to(sink);
        Pipeline b = Pipeline.from(new RootsSource("odd", odd)).id("odd")
            .batch(BatchPolicy.rows(1)).to(sink)) {
      a.start();
      b.start();
      assertThat(a.awaitIdle(WAIT)).isTrue();
      assertThat(b.awaitIdle(WAIT)).isTrue();
    }
    assertMatchesModel("after two pipelines upserting at once");
    assertNoFileLeftBehind();
  }

  /**
   * One flush of changes: 60 rows over 400 keys (a key may come several times, a quarter are
   * deletes), recorded in the model; the keys all even ({@code parity} 0), all odd (1), or any
   * (-1).
   */
  private VectorSchemaRoot changesOf(Random random, int flush, int parity) {
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      long id = random.nextInt(400);
      if (parity >= 0) {
        id = (id & ~1L) | parity;
      }
      String region = REGIONS[random.nextInt(REGIONS.length)];
      if (random.nextInt(4) == 0) {
        rows.add(new Object[] {id, region, null, "delete"});
        model.remove(id);
      } else {
        String v = "f" + flush + (parity >= 0 ? "p" + parity : "") + "r" + i;
        rows.add(new Object[] {id, region, v, "upsert"});
        model.put(id, new String[] {region, v});
      }
    }
    return batch(allocator, CHANGES, columns(rows.toArray(Object[][]::new)));
  }

  /** Writes one batch as one flush and prepares its commit; the batch is closed. */
  private io.crest.spi.Committable flush(io.crest.spi.SinkWriter w, VectorSchemaRoot root,
      long position) {
    try (io.crest.spi.SourceBatch batch = io.crest.spi.SourceBatch.of(
        "s", root, io.crest.spi.SourcePosition.ofOffset(position))) {
      w.write(batch);
    }
    return w.prepareCommit(Map.of("s", io.crest.spi.SourcePosition.ofOffset(position)));
  }

  private static io.crest.iceberg.commit.TableCommittable.FileGroup keyedGroup(
      io.crest.spi.Committable c) {
    return ((io.crest.iceberg.commit.TableCommittable) c).groups().stream()
        .filter(g -> g.validateFromSnapshot() != null || !g.deletes().isEmpty()).findFirst()
        .orElseThrow();
  }

  /** The share of the rows of the table's data files that its deletes delete. */
  private static double deletedRatio(Table t) {
    long held = 0;
    long deleted = 0;
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        held += task.file().recordCount();
        for (DeleteFile d : task.deletes()) {
          deleted += d.recordCount();
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return held == 0 ? 0 : (double) deleted / held;
  }

  /** Every file under the table's data directory is one a snapshot of the table refers to. */
  private void assertNoFileLeftBehind() throws IOException {
    Table t = table();
    Set<String> referenced = new java.util.HashSet<>();
    for (org.apache.iceberg.Snapshot s : t.snapshots()) {
      try (CloseableIterable<FileScanTask> tasks = t.newScan().useSnapshot(s.snapshotId())
          .planFiles()) {
        for (FileScanTask task : tasks) {
          referenced.add(java.net.URI.create(task.file().location()).getPath());
          task.deletes().forEach(d -> referenced.add(java.net.URI.create(d.location()).getPath()));
        }
      }
    }
    java.nio.file.Path data = java.nio.file.Path.of(
        java.net.URI.create(t.location()).getPath(), "data");
    try (java.util.stream.Stream<java.nio.file.Path> files = java.nio.file.Files.walk(data)) {
      assertThat(files.filter(java.nio.file.Files::isRegularFile)
              .map(f -> f.toAbsolutePath().toString())
              .filter(f -> !f.endsWith(".crc")))
          .as("files under %s that no snapshot refers to", data)
          .allMatch(referenced::contains);
    }
  }

  @Test
  void severalBatchesPerFlush_inFilesRolledMidBatch_matchTheModel() throws Exception {
    // Three batches per flush: a key written by an earlier batch of the flush has that row
    // deleted by position in a file of the same flush; tiny files roll in the middle of batches,
    // so each row's position is found from the files its partition writer rolled.
    run(3, true, DataSize.bytes(1024), 180, "1500");
  }

  @Test
  void lookUpsThatPruneRowGroups_byBoundsAndBloomFilters_findTheRightPositions() throws Exception {
    // Files of many small row groups: a key looked up in the table is found in the row groups its
    // bloom filter and bounds let through, at its position in the whole file.
    run(3, false, DataSize.bytes(1024), 180, "40000",
        b -> b.tableProperty("write.parquet.row-group-size-bytes", "300"));
  }

  @Test
  void severalBatchesPerFlush_formatV2_matchTheModel() throws Exception {
    run(2, false, DataSize.bytes(1024), 180, "1500");
  }

  @Test
  void severalBatchesPerFlush_throughIcebergsGenericWriter_matchTheModel() throws Exception {
    // Tables the columnar writer does not write take records through Iceberg's writer.
    run(3, true, DataSize.bytes(1024), 180, null, IcebergSink.Builder::genericWriter);
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void equalityDeletes_convertedToPositionDeletes_readTheSame_andKeyedWritesGoOn(int version)
      throws Exception {
    Random random = new Random(version);
    IcebergSink equality = sink().formatVersion(version).equalityDeletes().partitionBy("bucket(4, id)")
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    ingest(equality, random, 0, "equality");
    assertThat(deleteFiles(FileContent.EQUALITY_DELETES)).as("equality delete files").isPositive();
    Map<Long, String[]> before = new HashMap<>(model);

    io.crest.iceberg.keyed.EqualityDeleteConversion.Result r =
        TableMaintenance.of(table()).convertEqualityDeletes();

    assertThat(r.equalityDeleteFilesRemoved()).isPositive();
    assertThat(r.equalityDeleteFilesKept()).isZero();
    assertThat(r.rowsDeleted()).isPositive();
    assertThat(deleteFiles(FileContent.EQUALITY_DELETES)).as("equality deletes left").isZero();
    assertThat(model).isEqualTo(before);
    assertMatchesModel("after the conversion");
    assertThat(TableMaintenance.of(table()).convertEqualityDeletes().equalityDeleteFilesRemoved())
        .as("a second conversion").isZero();

    // The table is now one the key index resolves: upserts by position go on from it.
    IcebergSink keyed = sink().keyIndexMemory(DataSize.bytes(1024))
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    ingest(keyed, random, 10, "keyed");
    assertMatchesModel("after keyed upserts on the converted table");
  }

  private void ingest(IcebergSink sink, Random random, int firstFlush, String id)
      throws Exception {
    List<VectorSchemaRoot> flushes = new ArrayList<>();
    for (int f = 0; f < 5; f++) {
      flushes.add(changes(random, firstFlush + f));
    }
    try (Pipeline p = Pipeline.from(new RootsSource(id, flushes)).id(id)
        .batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private int deleteFiles(FileContent content) throws IOException {
    Set<String> found = new java.util.HashSet<>();
    try (CloseableIterable<FileScanTask> tasks = table().newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        task.deletes().stream().filter(d -> d.content() == content)
            .forEach(d -> found.add(d.location()));
      }
    }
    return found.size();
  }

  @Test
  void aBatch_writesEachKeyOnce_theLastRowOfAKeyWins() throws Exception {
    IcebergSink sink = sink().commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    write(sink, batch(allocator, CHANGES, columns(new Object[][] {
        {1L, "eu", "a", "upsert"}, {2L, "eu", "b", "upsert"}, {1L, "us", "c", "upsert"},
        {3L, "eu", "d", "upsert"}, {2L, "eu", null, "delete"}, {1L, "ap", "e", "upsert"},
        {4L, "eu", null, "delete"}})));
    model.put(1L, new String[] {"ap", "e"});
    model.put(3L, new String[] {"eu", "d"});
    assertMatchesModel("after one batch");
    try (CloseableIterable<FileScanTask> tasks = table().newScan().planFiles()) {
      long written = 0;
      for (FileScanTask task : tasks) {
        written += task.file().recordCount();
        assertThat(task.deletes()).as("deletes of a batch's own rows").isEmpty();
      }
      assertThat(written).as("rows written: one per upserted key").isEqualTo(2);
    }
  }

  private void run(int formatVersion, boolean partitioned) throws Exception {
    run(formatVersion, partitioned, DataSize.bytes(1024)); // 48 keys for 400: most keys miss
  }

  private void run(int formatVersion, boolean partitioned, DataSize index) throws Exception {
    run(formatVersion, partitioned, index, 1, null);
  }

  private void run(int formatVersion, boolean partitioned, DataSize index, int flushRows,
      String targetFileSize) throws Exception {
    run(formatVersion, partitioned, index, flushRows, targetFileSize, b -> { });
  }

  private void run(int formatVersion, boolean partitioned, DataSize index, int flushRows,
      String targetFileSize, java.util.function.Consumer<IcebergSink.Builder> more)
      throws Exception {
    Random random = new Random(formatVersion * 31L + (partitioned ? 7 : 0) + flushRows);
    IcebergSink.Builder b = sink().formatVersion(formatVersion)
        .keyIndexMemory(index)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id"));
    if (partitioned) {
      b.partitionBy("region");
    }
    if (targetFileSize != null) {
      b.tableProperty("write.target-file-size-bytes", targetFileSize);
    }
    more.accept(b);
    IcebergSink sink = b.build();
    int flush = 0;
    for (int run = 0; run < 4; run++) {
      List<VectorSchemaRoot> flushes = new ArrayList<>();
      for (int f = 0; f < 5; f++, flush++) {
        flushes.add(changes(random, flush));
      }
      try (Pipeline p = Pipeline.from(new RootsSource("run-" + run, flushes)).id("keyed")
          .batch(BatchPolicy.rows(flushRows)).to(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertMatchesModel("after run " + run);
      if (run == 1) {
        assertThat(TableMaintenance.of(table()).compact(2).dataFilesRemoved()).isPositive();
        assertMatchesModel("after the compaction");
      }
    }
  }

  /** One flush of changes: 60 rows over 400 keys, so a key may come several times. */
  private VectorSchemaRoot changes(Random random, int flush) {
    return changesOf(random, flush, -1);
  }

  private void assertMatchesModel(String when) throws IOException {
    Table t = table();
    Map<Long, String[]> found = new HashMap<>();
    for (Record r : rows(t, null)) {
      String[] previous = found.put((Long) r.getField("id"),
          new String[] {(String) r.getField("region"), (String) r.getField("v")});
      assertThat(previous).as("%s: key %s twice", when, r.getField("id")).isNull();
    }
    assertThat(found.keySet()).as(when).containsExactlyInAnyOrderElementsOf(model.keySet());
    model.forEach((id, expected) ->
        assertThat(found.get(id)).as("%s: key %d", when, id).containsExactly(expected));
    assertOneDeletionVectorOrPositionDeleteFileAtMost(t, when);
  }
}
