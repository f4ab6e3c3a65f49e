package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.CommitInfo;
import io.crest.CommitStrategy;
import io.crest.errors.CommitFailedException;
import io.crest.errors.ValidationException;
import io.crest.testing.CommitStrategyContract;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** Commit strategies against a real table, after sequences of commits, read back by Iceberg. */
class CommitStrategyTest extends SinkTestBase {
  private static final ArrowType LONG = new ArrowType.Int(64, true);
  private static final ArrowType STRING = ArrowType.Utf8.INSTANCE;
  private static final Schema KV = new Schema(List.of(
      field("id", false, LONG), field("region", false, STRING), field("v", true, STRING)));
  private static final Schema KV_OPS = new Schema(List.of(
      field("id", false, LONG), field("region", false, STRING), field("v", true, STRING),
      field("op", true, STRING)));

  private VectorSchemaRoot kv(Object[]... rows) {
    return batch(allocator, KV, columns(rows));
  }

  private VectorSchemaRoot kvOps(Object[]... rows) {
    return batch(allocator, KV_OPS, columns(rows));
  }

  private static Object[] row(Object... values) {
    return values;
  }

  /** id -> v, failing on a duplicate id. */
  private static Map<Long, Object> contents(List<Record> rows) {
    Map<Long, Object> map = new HashMap<>();
    for (Record r : rows) {
      Object previous = map.put((Long) r.getField("id"), r.getField("v"));
      assertThat(previous == null && !map.containsKey(null)).as("duplicate id %s", r).isTrue();
    }
    assertThat(map).hasSize(rows.size());
    return map;
  }

  @Test
  void append_isTheDefault_andKeepsEveryRow() throws Exception {
    write(sink().build(), kv(row(1L, "eu", "a")));
    write(sink().build(), kv(row(1L, "eu", "b")));
    assertThat(rows()).hasSize(2);
    assertThat(table().currentSnapshot().operation()).isEqualTo("append");
  }

  @Test
  void overwritePartitions_replacesOnlyThePartitionsACommitTouches() throws Exception {
    IcebergSink sink = sink().partitionBy("region").commitStrategy(CommitStrategy.overwritePartitions())
        .build();
    write(sink, kv(row(1L, "eu", "a"), row(2L, "us", "b")));
    write(sink, kv(row(3L, "eu", "c")));
    assertThat(contents(rows())).containsOnly(Map.entry(2L, "b"), Map.entry(3L, "c"));
    assertThat(table().currentSnapshot().operation()).isEqualTo("overwrite");
  }

  @Test
  void overwriteByFilter_replacesTheMatchingPartitions() throws Exception {
    write(sink().partitionBy("region").build(), kv(row(1L, "eu", "a"), row(2L, "us", "b")));
    write(sink().commitStrategy(IcebergCommitStrategies.overwriteByFilter(
        Expressions.equal("region", "eu"))).build(), kv(row(3L, "eu", "c")));
    assertThat(contents(rows())).containsOnly(Map.entry(2L, "b"), Map.entry(3L, "c"));
  }

  @Test
  void upsert_leavesTheLatestRowPerKey_acrossManyCommitsAndWithinOneBatch() throws Exception {
    IcebergSink sink = sink().commitStrategy(CommitStrategy.upsert("id")).build();
    write(sink, kv(row(1L, "eu", "a1"), row(2L, "eu", "b1"), row(1L, "eu", "a2")));
    assertThat(contents(rows())).containsOnly(Map.entry(1L, "a2"), Map.entry(2L, "b1"));
    for (int i = 3; i <= 12; i++) {
      write(sink, kv(row(1L, "eu", "a" + i), row(3L, "us", "c" + i), row(3L, "us", "c" + i + "'")));
    }
    // Several batches of one flush, with the same key in each.
    write(sink, kv(row(2L, "eu", "b2")), kv(row(2L, "eu", "b3")), kv(row(4L, "us", "d")));
    assertThat(contents(rows())).containsOnly(
        Map.entry(1L, "a12"), Map.entry(2L, "b3"), Map.entry(3L, "c12'"), Map.entry(4L, "d"));
    assertThat(table().currentSnapshot().operation()).isEqualTo("overwrite");
  }

  @Test
  void upsertWithOps_honoursDeletesAndUpdates_fromAChangeStream() throws Exception {
    IcebergSink sink = sink().partitionBy("region")
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id", "region")).build();
    write(sink, kvOps(row(1L, "eu", "a", "insert"), row(2L, "eu", "b", "insert"),
        row(3L, "us", "c", "insert"), row(2L, "eu", null, "delete")));
    assertThat(contents(rows())).containsOnly(Map.entry(1L, "a"), Map.entry(3L, "c"));
    write(sink, kvOps(row(1L, "eu", "a'", "update"), row(3L, "us", null, "D"),
        row(2L, "eu", "b again", "insert")));
    assertThat(contents(rows())).containsOnly(Map.entry(1L, "a'"), Map.entry(2L, "b again"));
    assertThat(table().schema().findField("op")).as("the op column is not written").isNull();
  }

  @Test
  void upsert_intoATablePartitionedOutsideTheKey_isRejectedWhenThePipelineStarts()
      throws Exception {
    write(sink().partitionBy("region").build(), kv(row(1L, "eu", "a")));
    IcebergSink upsert = sink().equalityDeletes().commitStrategy(CommitStrategy.upsert("id"))
        .build();
    io.crest.Pipeline p = io.crest.Pipeline.from(
        new io.crest.testing.RootsSource("s", List.of(kv(row(2L, "eu", "b"))))).id("p").to(upsert);
    assertThatThrownBy(p::start)
        .isInstanceOf(ValidationException.class)
        .hasMessageContaining("Cannot upsert into table db.t on keys [id]")
        .hasMessageContaining("partition field region comes from column 'region', which is not a key");
  }

  @Test
  void upsert_onAMissingKeyColumn_isRejectedClearly() {
    Throwable cause = failure(sink().commitStrategy(CommitStrategy.upsert("order_id")).build(),
        kv(row(1L, "eu", "a")));
    assertThat(cause).isInstanceOf(ValidationException.class)
        .hasMessageContaining("key column 'order_id' is not in the table");
  }

  @Test
  void branch_receivesTheCommits_mainStaysAsItWas_andTheStateIsReadFromTheBranch()
      throws Exception {
    write(sink().build(), kv(row(1L, "eu", "main")));
    long mainHead = table().currentSnapshot().snapshotId();
    IcebergSink audit = sink().branch("audit").build();
    write(audit, kv(row(2L, "eu", "staged")));
    write(audit, kv(row(3L, "eu", "staged")));
    Table t = table();
    assertThat(t.currentSnapshot().snapshotId()).isEqualTo(mainHead);
    Snapshot branchHead = t.snapshot("audit");
    List<Long> onBranch = new ArrayList<>();
    try (CloseableIterable<Record> rows =
        IcebergGenerics.read(t).useSnapshot(branchHead.snapshotId()).build()) {
      rows.forEach(r -> onBranch.add((Long) r.getField("id")));
    }
    assertThat(onBranch).containsExactlyInAnyOrder(1L, 2L, 3L);
    assertThat(branchHead.summary()).containsKey("crest.positions");
    assertThat(io.crest.iceberg.commit.PipelineState.find(t, "audit", "p").positions()).containsKeys("run-2", "run-3");
    // Publish: fast-forward main to the audited branch.
    t.manageSnapshots().fastForwardBranch("main", "audit").commit();
    assertThat(rows()).hasSize(3);
  }

  /** A user's strategy: appends, and stamps every snapshot with an audit trail. */
  static class AuditedAppend implements CommitStrategy {
    @Override
    public String name() {
      return "auditedAppend";
    }

    @Override
    public Mode mode() {
      return Mode.APPEND;
    }

    @Override
    public Map<String, String> snapshotProperties(CommitInfo commit) {
      return Map.of("audit.job", "nightly-42", "audit.rows", Long.toString(commit.rows()));
    }
  }

  @Test
  void customStrategy_addsItsSnapshotProperties() throws Exception {
    write(sink().commitStrategy(new AuditedAppend()).build(), kv(row(1L, "eu", "a"), row(2L, "eu", "b")));
    assertThat(table().currentSnapshot().summary())
        .containsEntry("audit.job", "nightly-42")
        .containsEntry("audit.rows", "2")
        .containsEntry("crest.pipeline-id", "p");
  }

  @Test
  void customStrategy_thatThrowsOrClaimsCrestKeys_stopsTheCommit_andCommitsNothing() {
    CommitStrategy throwing = new AuditedAppend() {
      @Override
      public Map<String, String> snapshotProperties(CommitInfo commit) {
        throw new IllegalStateException("audit service down");
      }
    };
    assertThat(failure(sink().commitStrategy(throwing).build(), kv(row(1L, "eu", "a"))))
        .isInstanceOf(CommitFailedException.class)
        .hasMessageContaining("commit strategy auditedAppend failed to give its snapshot properties:"
            + " audit service down (nothing was committed)");
    CommitStrategy claiming = new AuditedAppend() {
      @Override
      public Map<String, String> snapshotProperties(CommitInfo commit) {
        return Map.of("crest.commit-id", "forged");
      }
    };
    assertThat(failure(sink().commitStrategy(claiming).build(), kv(row(1L, "eu", "a"))))
        .isInstanceOf(CommitFailedException.class)
        .hasMessageContaining("sets snapshot property 'crest.commit-id'");
    assertThat(catalog.tableExists(TABLE) ? table().currentSnapshot() : null).isNull();
  }

  @Test
  void builder_rejectsConflictingStrategySettings() {
    assertThatThrownBy(() -> sink().commitStrategy(CommitStrategy.append())
            .commitStrategy(CommitStrategy.upsert("id")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set commit strategy to upsert[id]: already set to append");
    assertThatThrownBy(() -> sink().commitStrategy(CommitStrategy.upsert("id")).clustered().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot use clustered()");
    assertThatThrownBy(() -> sink().branch(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot commit to branch ' ': blank name");
    assertThat(Optional.of(sink().branch("b").build().toString()))
        .hasValueSatisfying(s -> assertThat(s).contains("branch b").contains("append"));
  }

  @Nested
  class AuditedAppendContract extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return new AuditedAppend();
    }
  }

  @Nested
  class OverwriteByFilterContract extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return IcebergCommitStrategies.overwriteByFilter(Expressions.equal("region", "eu"));
    }
  }
}
