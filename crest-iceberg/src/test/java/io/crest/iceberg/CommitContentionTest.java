package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.micrometer.CrestMetrics;
import io.crest.testing.GeneratedSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.data.Record;
import org.junit.jupiter.api.Test;

/**
 * Two instances appending to one table: another instance's append lands between this one's read
 * of the table and its commit, a real conflict in the JDBC catalog. The append is applied again
 * on top (not invalidated), both land, and the conflict is counted.
 */
class CommitContentionTest extends SinkTestBase {

  /** Runs one pipeline to the end; {@code metrics} (may be null) listens and stays open. */
  private PipelineStats run(IcebergSink sink, String id, long firstId, long rows,
      CrestMetrics metrics) throws Exception {
    GeneratedSource source = new GeneratedSource(allocator, 100).stream(id, firstId, rows);
    Pipeline.Builder b = Pipeline.from(source).id(id).batch(BatchPolicy.rows(1_000_000));
    if (metrics != null) {
      b.listener(metrics);
    }
    try (Pipeline p = b.to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      p.stop();
      return p.stats();
    }
  }

  @Test
  void append_whileAnotherInstanceAppends_isAppliedAgainOnTop_bothLandOnce_andConflictCounted()
      throws Exception {
    run(sink().build(), "seed", 0, 1_000, null); // creates the table
    FaultyCatalog faulty = new FaultyCatalog(catalog.catalog());
    List<PipelineStats> other = new ArrayList<>();
    faulty.beforeNextCommit.set(() -> {
      try {
        other.add(run(sink().build(), "other", 10_000, 1_000, null));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);

    PipelineStats stats = run(IcebergSink.builder().catalog(faulty).table("db.t").build(),
        "mine", 20_000, 1_000, metrics);

    assertThat(other).hasSize(1);
    assertThat(other.get(0).commitConflicts()).isZero();
    assertThat(stats.commits()).isEqualTo(1);
    assertThat(stats.commitConflicts()).isEqualTo(1);
    assertThat(stats.commitRetries()).isZero(); // Iceberg's own retry took it
    assertThat(registry.get(CrestMetrics.COMMIT_CONFLICTS).counter().count()).isEqualTo(1.0);
    assertThat(registry.get(CrestMetrics.COMMIT_RETRIES).counter().count()).isEqualTo(0.0);
    metrics.close();
    // The other instance's snapshot is the parent of this one's: applied on top, not instead.
    Snapshot head = table().currentSnapshot();
    assertThat(head.summary()).containsEntry("crest.pipeline-id", "mine");
    assertThat(table().snapshot(head.parentId()).summary())
        .containsEntry("crest.pipeline-id", "other");
    List<Long> ids = new ArrayList<>();
    for (Record r : rows()) {
      ids.add((Long) r.getField("id"));
    }
    List<Long> expected = new ArrayList<>();
    LongStream.range(0, 1_000).forEach(expected::add);
    LongStream.range(10_000, 11_000).forEach(expected::add);
    LongStream.range(20_000, 21_000).forEach(expected::add);
    assertThat(ids).containsExactlyInAnyOrderElementsOf(expected);
  }
}
