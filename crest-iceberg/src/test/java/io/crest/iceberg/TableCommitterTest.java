package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.CommitStrategy;
import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.iceberg.commit.CommitRetry;
import io.crest.iceberg.commit.CommitSettings;
import io.crest.iceberg.commit.PipelineState;
import io.crest.iceberg.commit.TableCommittable;
import io.crest.iceberg.commit.TableCommittable.FileGroup;
import io.crest.iceberg.commit.TableCommitter;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The committer on its own, without Arrow or data written by Crest: committables of plain files
 * against a real catalog whose commits and reads fail on request.
 */
class TableCommitterTest extends SinkTestBase {
  private static final Schema SCHEMA =
      new Schema(Types.NestedField.required(1, "id", Types.LongType.get()));
  private static final CommitSettings APPEND = new CommitSettings(
      CommitStrategy.append(), null, null, new CommitRetry(3, Duration.ZERO, Duration.ZERO));

  private FaultyCatalog faulty;
  private TableCommitter committer;

  @BeforeEach
  void createTable() {
    // Iceberg's own retries off: every injected conflict reaches the committer.
    ((org.apache.iceberg.catalog.SupportsNamespaces) catalog.catalog())
        .createNamespace(TABLE.namespace());
    catalog.catalog().createTable(TABLE, SCHEMA, PartitionSpec.unpartitioned(),
        Map.of(TableProperties.COMMIT_NUM_RETRIES, "0"));
    faulty = new FaultyCatalog(catalog.catalog());
    committer = new TableCommitter(faulty, TABLE, null, APPEND, "p", null, null);
  }

  @AfterEach
  void closeCommitter() {
    committer.close();
  }

  private TableCommittable committable(int files) throws IOException {
    List<DataFile> data = new java.util.ArrayList<>();
    for (int i = 0; i < files; i++) {
      Path file = warehouse.resolve("data-" + System.nanoTime() + ".parquet");
      Files.write(file, new byte[16]);
      data.add(DataFiles.builder(PartitionSpec.unpartitioned())
          .withPath(file.toUri().toString())
          .withFormat(FileFormat.PARQUET)
          .withFileSizeInBytes(16)
          .withRecordCount(1)
          .build());
    }
    return TableCommittable.of(List.of(new FileGroup(data, List.of())),
        Map.of("s", SourcePosition.ofOffset(files)));
  }

  private static boolean exists(DataFile file) {
    return Files.exists(Path.of(java.net.URI.create(file.location())));
  }

  private DataFile firstFile(TableCommittable c) {
    return c.groups().get(0).data().get(0);
  }

  @Test
  void aCommit_recordsItsFilesAndPositions() throws IOException {
    TableCommittable c = committable(2);
    committer.commit(c);
    Table t = table();
    assertThat(t.currentSnapshot().addedDataFiles(t.io())).hasSize(2);
    assertThat(PipelineState.find(t, null, "p").positions())
        .containsEntry("s", SourcePosition.ofOffset(2));
  }

  @Test
  void aRewriteOfAFileAnotherCommitReplacedMeanwhile_failsInsteadOfDoublingItsRows()
      throws IOException {
    TableCommittable first = committable(1);
    committer.commit(first);
    DataFile original = firstFile(first);
    long base = table().currentSnapshot().snapshotId();
    // Another writer's compaction replaces the file after the flush read the table.
    DataFile compacted = firstFile(committable(1));
    table().newRewrite().deleteFile(original).addFile(compacted).commit();
    // The flush rewrote the same file without its deleted rows: committing that would keep the
    // compaction's copy of the rows and add its own.
    DataFile rewritten = firstFile(committable(1));
    TableCommittable rewrite = TableCommittable.of(List.of(new FileGroup(List.of(), List.of(),
            List.of(), java.util.Set.of(), base, null, List.of(rewritten), List.of(original),
            false)),
        Map.of("s", SourcePosition.ofOffset(2)));
    TableCommitter upsert = new TableCommitter(faulty, TABLE, null, new CommitSettings(
        CommitStrategy.upsert("id"), null, null, new CommitRetry(3, Duration.ZERO, Duration.ZERO)),
        "keyed", null, null);
    try {
      assertThatThrownBy(() -> upsert.commit(rewrite))
          .isInstanceOf(CommitFailedException.class)
          .hasMessageContaining(original.location());
    } finally {
      upsert.close();
    }
    Table t = table();
    try (org.apache.iceberg.io.CloseableIterable<org.apache.iceberg.FileScanTask> tasks =
        t.newScan().planFiles()) {
      assertThat(tasks).extracting(task -> task.file().location())
          .containsExactly(compacted.location());
    }
  }

  @Test
  void aCommitWithoutFiles_onlyMovesThePositions() {
    committer.commit(TableCommittable.of(List.of(), Map.of("s", SourcePosition.ofOffset(7))));
    Table t = table();
    assertThat(t.currentSnapshot().addedDataFiles(t.io())).isEmpty();
    assertThat(PipelineState.find(t, null, "p").positions())
        .containsEntry("s", SourcePosition.ofOffset(7));
  }

  @Test
  void conflictsAfterAnUnknownOutcome_whoseLookUpFailed_areNotAFailureThatDeletesFiles()
      throws IOException {
    // Attempt 1: outcome unknown, and the look-up that follows cannot read the table. Attempts 2
    // and 3 conflict, and the last read fails too: the first attempt may have landed.
    faulty.unknownWithoutCommit.set(1);
    faulty.onInjected = kind -> {
      if (kind.equals("unknown")) {
        faulty.failingRefreshes.set(1);
        faulty.conflicts.set(2);
      } else if (faulty.conflicts.get() == 0) {
        faulty.failingRefreshes.set(1);
      }
    };
    TableCommittable c = committable(1);
    assertThatThrownBy(() -> committer.commit(c))
        .isInstanceOf(CommitStateUnknownException.class)
        .hasMessageContaining("Cannot tell whether commit " + c.commitId() + " reached table db.t");

    faulty.failingRefreshes.set(1);
    committer.abort(c);
    assertThat(exists(firstFile(c))).as("kept while the table cannot be read").isTrue();

    committer.abort(c);
    assertThat(exists(firstFile(c))).as("deleted once a read proved the commit absent").isFalse();
  }

  @Test
  void conflictsAfterAnUnknownOutcome_failCleanly_onceAReadProvesTheCommitAbsent()
      throws IOException {
    faulty.unknownWithoutCommit.set(1);
    faulty.onInjected = kind -> {
      if (kind.equals("unknown")) {
        faulty.failingRefreshes.set(1); // the look-up right after the unknown outcome fails
        faulty.conflicts.set(2);
      }
    };
    TableCommittable c = committable(1);
    assertThatThrownBy(() -> committer.commit(c))
        .isInstanceOf(CommitFailedException.class)
        .hasMessageContaining("after 3 attempts");
    committer.abort(c);
    assertThat(exists(firstFile(c))).isFalse();
    assertThat(table().currentSnapshot()).isNull();
  }

  @Test
  void anUnknownOutcomeThatLanded_isFoundByTheNextAttempt_evenAfterAFailedLookUp()
      throws IOException {
    faulty.unknownAfterCommit.set(1);
    faulty.onInjected = kind -> faulty.failingRefreshes.set(1);
    TableCommittable c = committable(1);
    committer.commit(c);
    Table t = table();
    assertThat(PipelineState.findCommit(t, null, c.commitId())).isNotNull();
    assertThat(t.snapshots()).hasSize(1); // landed once
    assertThat(exists(firstFile(c))).isTrue();
  }

  @Test
  void aFailedReadBeforeAnAttempt_isRetried() throws IOException {
    faulty.failingRefreshes.set(2);
    TableCommittable c = committable(1);
    committer.commit(c);
    assertThat(PipelineState.findCommit(table(), null, c.commitId())).isNotNull();
  }

  @Test
  void plainConflicts_thatOutlastTheRetries_failAndTheFilesMayGo() throws IOException {
    faulty.conflicts.set(3);
    TableCommittable c = committable(1);
    assertThatThrownBy(() -> committer.commit(c)).isInstanceOf(CommitFailedException.class)
        .hasMessageContaining("Injected conflict");
    committer.abort(c);
    assertThat(exists(firstFile(c))).isFalse();
  }

  /** Positions of streams {@code from} (inclusive) to {@code to} (exclusive). */
  private static Map<String, SourcePosition> streams(int from, int to) {
    Map<String, SourcePosition> positions = new java.util.TreeMap<>();
    for (int i = from; i < to; i++) {
      positions.put("discovered/endpoint-" + i, SourcePosition.ofOffset(1_000_000L + i));
    }
    return positions;
  }

  @Test
  void tenThousandStreamsComingAndGoing_keepEverySummaryBounded() {
    // 10,000 streams, 200 live at a time: each commit carries the live window only (the source
    // forgets the streams that ended), so no summary grows with the streams seen so far.
    int maxSummary = 0;
    for (int start = 0; start + 200 <= 10_000; start += 100) {
      committer.commit(TableCommittable.of(List.of(), streams(start, start + 200)));
      Table t = table();
      maxSummary = Math.max(maxSummary,
          t.currentSnapshot().summary().get(PipelineState.SUMMARY_POSITIONS).length());
    }
    Table t = table();
    assertThat(t.snapshots()).hasSize(99);
    assertThat(maxSummary).isLessThan(PipelineState.MAX_SUMMARY_POSITIONS);
    assertThat(PipelineState.find(t, null, "p").positions()).isEqualTo(streams(9_800, 10_000));
  }

  @Test
  void tenThousandLiveStreams_areKeptInTheStateProperty_notInTheSummary() {
    committer.commit(TableCommittable.of(List.of(), streams(0, 100)));
    committer.commit(TableCommittable.of(List.of(), streams(0, 10_000)));
    Table t = table();
    Map<String, String> summary = t.currentSnapshot().summary();
    assertThat(summary).doesNotContainKey(PipelineState.SUMMARY_POSITIONS)
        .containsEntry(PipelineState.SUMMARY_POSITIONS_IN_STATE, "true");
    assertThat(summary.values().stream().mapToInt(String::length).sum())
        .isLessThan(PipelineState.MAX_SUMMARY_POSITIONS);
    assertThat(PipelineState.find(t, null, "p").positions()).isEqualTo(streams(0, 10_000));

    // Rolled back to the first commit: its summary has its own positions.
    t.manageSnapshots().rollbackTo(t.currentSnapshot().parentId()).commit();
    assertThat(PipelineState.find(table(), null, "p").positions()).isEqualTo(streams(0, 100));
  }

  @Test
  void aRollbackPastALargeStateKeptOnlyInTheProperty_isRefusedClearly() {
    committer.commit(TableCommittable.of(List.of(), streams(0, 10_000)));
    TableCommittable second = TableCommittable.of(List.of(), streams(0, 10_001));
    committer.commit(second);
    Table t = table();
    t.manageSnapshots().rollbackTo(t.currentSnapshot().parentId()).commit();
    assertThatThrownBy(() -> PipelineState.find(table(), null, "p"))
        .isInstanceOf(io.crest.errors.ValidationException.class)
        .hasMessageContaining("Cannot resume pipeline p from table")
        .hasMessageContaining("which now holds commit " + second.commitId());
  }
}
