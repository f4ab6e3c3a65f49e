package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.testing.GeneratedSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.arrow.ArrowAllocation;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;

class TableMaintenanceTest extends SinkTestBase {
  private static final Schema KV = new Schema(List.of(field("id", false, new ArrowType.Int(64, true)),
      field("region", false, ArrowType.Utf8.INSTANCE), field("v", true, ArrowType.Utf8.INSTANCE)));

  private VectorSchemaRoot kv(long first, int n, String version) {
    List<Object[]> rows = new ArrayList<>();
    for (long id = first; id < first + n; id++) {
      rows.add(new Object[] {id, id % 2 == 0 ? "eu" : "us", version + id});
    }
    return batch(allocator, KV, columns(rows.toArray(new Object[0][])));
  }

  static int dataFiles(Table t) throws Exception {
    int n = 0;
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask ignored : tasks) {
        n++;
      }
    }
    return n;
  }

  private static int deleteFiles(Table t) throws Exception {
    int n = 0;
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        n += task.deletes().size();
      }
    }
    return n;
  }

  private static Set<String> contents(List<Record> rows) {
    return rows.stream().map(r -> r.getField("id") + "=" + r.getField("v")).collect(Collectors.toSet());
  }

  @Test
  void compaction_ofManyTinyCommits_withDeletes_keepsTheRows_andDropsTheFileCount()
      throws Exception {
    // Equality deletes: a file per partition per commit, and deletes only the generic path applies
    IcebergSink sink = sink().partitionBy("region").equalityDeletes()
        .commitStrategy(CommitStrategy.upsert("id", "region")).build();
    for (int commit = 0; commit < 12; commit++) {
      write(sink, kv(commit * 5L % 40, 10, "v" + commit + "-"));
    }
    Table t = table();
    List<Record> before = rows();
    int filesBefore = dataFiles(t);
    assertThat(deleteFiles(t)).isPositive();
    assertThat(filesBefore).isGreaterThanOrEqualTo(20);

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(5);

    t.refresh();
    assertThat(result.partitionsRewritten()).isEqualTo(2);
    assertThat(result.partitionsViaGeneric()).as("partitions with deletes to apply").isEqualTo(2);
    assertThat(dataFiles(t)).isEqualTo(2).isLessThan(filesBefore);
    assertThat(deleteFiles(t)).isZero();
    assertThat(contents(rows())).isEqualTo(contents(before)).hasSize(before.size());
    assertThat(t.currentSnapshot().summary()).containsEntry("crest.maintenance", "compaction");

    // The pipeline goes on after compaction: upserts still replace the compacted rows.
    write(sink, kv(0, 4, "after-"));
    assertThat(contents(rows())).contains("0=after-0", "3=after-3").hasSize(before.size());
  }

  @Test
  void compaction_whilePipelinesAppend_losesNoRowAndDuplicatesNone() throws Exception {
    GeneratedSource source = new GeneratedSource(allocator, 50).stream("s", 0, 20_000);
    IcebergSink sink = IcebergSink.builder().catalog(catalog.catalog()).table("db.t").build();
    try (Pipeline p = Pipeline.from(source).id("appender").batch(BatchPolicy.rows(200)).to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> catalog.tableExists(TABLE)
          && table().currentSnapshot() != null);
      int compactions = 0;
      int viaArrow = 0;
      while (!p.awaitIdle(Duration.ofMillis(1))) {
        TableMaintenance.CompactionResult r = TableMaintenance.of(table()).compact(4);
        compactions += r.partitionsRewritten();
        viaArrow += r.partitionsViaArrow();
      }
      TableMaintenance.of(table()).compact(2);
      assertThat(compactions).as("compactions while the pipeline committed").isPositive();
      assertThat(viaArrow).as("appends only: every rewrite reads with Arrow").isEqualTo(compactions);
    }
    List<Long> ids = new ArrayList<>();
    rows().forEach(r -> ids.add((Long) r.getField("id")));
    assertThat(ids).containsExactlyInAnyOrderElementsOf(LongStream.range(0, 20_000).boxed().toList());
    assertThat(dataFiles(table())).isLessThan(10);
    assertThat(ArrowAllocation.rootAllocator().getAllocatedMemory()).isZero();
  }

  @Test
  void scheduledMaintenance_compactsEveryNCommits_whileThePipelineRuns() throws Exception {
    GeneratedSource source = new GeneratedSource(allocator, 20).stream("s", 0, 3_000);
    IcebergSink sink = IcebergSink.builder().catalog(catalog.catalog()).table("db.t").build();
    try (ScheduledMaintenance maintenance =
            ScheduledMaintenance.everyCommits(10, this::table, m -> m.compact(5));
        Pipeline p = Pipeline.from(source).id("scheduled").batch(BatchPolicy.rows(20))
            .listener(maintenance).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      maintenance.close(); // waits for a run in progress
      assertThat(maintenance.completedRuns()).isPositive();
      assertThat(maintenance.failedRuns()).isZero();
      assertThat(dataFiles(table())).isLessThan((int) p.stats().commits());
    }
    assertThat(rows()).hasSize(3_000);
    assertThatThrownBy(() -> ScheduledMaintenance.everyCommits(0, this::table, m -> {}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("it must be at least 1");
  }

  @Test
  void expiry_keepsEachPipelinesNewestSnapshotTagged_andAResumeReadsNothingTwice()
      throws Exception {
    IcebergSink sink = IcebergSink.builder().catalog(catalog.catalog()).table("db.t").build();
    try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 1_000))
        .id("p1").batch(BatchPolicy.rows(100)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    Table t = table();
    long pipelineHead = t.currentSnapshot().snapshotId();
    for (int i = 0; i < 3; i++) {
      t.newFastAppend().set("writer", "other").commit();
    }
    int expired = TableMaintenance.of(t).expireSnapshots(Duration.ZERO, 1);
    t.refresh();
    assertThat(expired).isGreaterThanOrEqualTo(10);
    assertThat(t.refs()).containsKey("crest-p1");
    assertThat(t.snapshot("crest-p1").snapshotId()).isEqualTo(pipelineHead);
    List<Long> kept = new ArrayList<>();
    for (Snapshot s : t.snapshots()) {
      kept.add(s.snapshotId());
    }
    assertThat(kept).contains(pipelineHead).hasSize(2);

    try (Pipeline p = Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 1_200))
        .id("p1").to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(200);
    }
    assertThat(rows()).hasSize(1_200);
  }

  @Test
  void orphanRemoval_deletesOnlyUnreferencedFilesOlderThanTheWindow() throws Exception {
    write(sink().build(), kv(0, 10, "v"));
    Table t = table();
    Path data = Path.of(java.net.URI.create(t.location())).resolve("data");
    Files.createDirectories(data);
    Path oldOrphan = Files.writeString(data.resolve("old-orphan.parquet"), "left by a crash");
    Files.setLastModifiedTime(oldOrphan, FileTime.from(Instant.now().minus(Duration.ofDays(4))));
    Path youngOrphan = Files.writeString(data.resolve("young-orphan.parquet"), "commit in flight");
    Set<Path> tableFilesBefore = new HashSet<>();
    try (var files = Files.walk(Path.of(java.net.URI.create(t.location())))) {
      files.filter(Files::isRegularFile).forEach(tableFilesBefore::add);
    }
    // Make every real file old too, so only reachability protects them.
    for (Path f : tableFilesBefore) {
      Files.setLastModifiedTime(f, FileTime.from(Instant.now().minus(Duration.ofDays(5))));
    }
    Files.setLastModifiedTime(youngOrphan, FileTime.from(Instant.now().minus(Duration.ofHours(1))));

    List<String> deleted = TableMaintenance.of(t).removeOrphanFiles(Duration.ofDays(3));

    assertThat(deleted).hasSize(1).allSatisfy(p -> assertThat(p).endsWith("old-orphan.parquet"));
    assertThat(oldOrphan).doesNotExist();
    assertThat(youngOrphan).exists();
    assertThat(rows()).hasSize(10);
    assertThatThrownBy(() -> TableMaintenance.of(t).removeOrphanFiles(Duration.ofSeconds(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("the safety window must be at least one minute");
  }
}
