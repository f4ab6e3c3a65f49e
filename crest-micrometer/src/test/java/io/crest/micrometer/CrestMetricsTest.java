package io.crest.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchEvent;
import io.crest.CommitEvent;
import io.crest.DeadLetterEvent;
import io.crest.spi.SourcePosition;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The listener fed directly with events, on a manual clock. */
class CrestMetricsTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicLong clock = new AtomicLong(1_000 * SECOND);

  private static BatchEvent batch(String stream, int rows, long offsetAfter, long arrival) {
    return new BatchEvent("p1", stream, rows, rows * 8L, SourcePosition.ofOffset(offsetAfter),
        arrival);
  }

  private static CommitEvent commit(Map<String, SourcePosition> positions, long rows) {
    return new CommitEvent("p1", "shop.orders", "c", "snapshot 1", rows, 1, rows * 10,
        Duration.ofMillis(20), Duration.ofSeconds(1), positions);
  }

  private double lag(String stream) {
    return registry.get(CrestMetrics.SOURCE_LAG)
        .tags("pipeline", "p1", "table", "shop.orders", "stream", stream).gauge().value();
  }

  @Test
  void commitConflictsAndRetries_areCountedFromCommitEvents() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders").build();
    metrics.onCommit(commit(Map.of(), 10));
    metrics.onCommit(new CommitEvent("p1", "shop.orders", "c2", "snapshot 2", 5, 1, 50,
        Duration.ofMillis(20), Duration.ofSeconds(1), Map.of(), 3, 1));
    metrics.onCommit(new CommitEvent("p1", "shop.orders", "c3", "snapshot 3", 5, 1, 50,
        Duration.ofMillis(20), Duration.ofSeconds(1), Map.of(), 2, 0));

    assertThat(registry.get(CrestMetrics.COMMIT_CONFLICTS)
        .tags("pipeline", "p1", "table", "shop.orders").counter().count()).isEqualTo(5.0);
    assertThat(registry.get(CrestMetrics.COMMIT_RETRIES)
        .tags("pipeline", "p1", "table", "shop.orders").counter().count()).isEqualTo(1.0);
  }

  @Test
  void sourceLag_isAgeOfOldestUncommittedBatch_andZeroOnceCommitted() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders")
        .clock(clock::get).build();
    long t0 = clock.get();
    metrics.onBatch(batch("a", 10, 10, t0));
    metrics.onBatch(batch("a", 10, 20, t0 + 2 * SECOND));
    metrics.onBatch(batch("b", 5, 5, t0 + 3 * SECOND));
    clock.set(t0 + 5 * SECOND);

    assertThat(lag("a")).isEqualTo(5.0);
    assertThat(lag("b")).isEqualTo(2.0);

    // The first commit covers a's first batch only (a later batch arrived after its flush).
    metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(10)), 10));
    assertThat(lag("a")).isEqualTo(3.0);
    assertThat(lag("b")).isEqualTo(2.0);

    metrics.onCommit(commit(
        Map.of("a", SourcePosition.ofOffset(20), "b", SourcePosition.ofOffset(5)), 15));
    assertThat(lag("a")).isZero();
    assertThat(lag("b")).isZero();

    clock.set(t0 + 60 * SECOND);
    assertThat(lag("a")).as("an idle, fully committed stream has no lag").isZero();
  }

  @Test
  void sourceLag_commitAtResumePosition_coversNoLaterBatch() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders")
        .clock(clock::get).build();
    long t0 = clock.get();
    metrics.onBatch(batch("a", 10, 110, t0));
    clock.set(t0 + 4 * SECOND);

    // Stream a had nothing in the flush: the commit repeats the position it resumed from.
    metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(100)), 0));

    assertThat(lag("a")).isEqualTo(4.0);
  }

  @Test
  void sourceLag_deadLetteredBatch_doesNotCountButACommitAtItsPositionCoversEarlierBatches() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders")
        .clock(clock::get).build();
    long t0 = clock.get();
    metrics.onBatch(batch("a", 10, 10, t0));
    metrics.onDeadLetter(new DeadLetterEvent("p1", "a", SourcePosition.ofOffset(20), 10,
        Path.of("dead.arrows"), "bad row"));
    clock.set(t0 + 7 * SECOND);
    assertThat(lag("a")).isEqualTo(7.0);

    metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(20)), 10));

    assertThat(lag("a")).isZero();
    assertThat(registry.get(CrestMetrics.ERRORS).tag("kind", "dead-letter").counter().count())
        .isEqualTo(1.0);
  }

  @Test
  void tags_learnedFromEvents_registerMetersAtFirstCommitWithEarlierBatchesReplayed() {
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);
    metrics.onBatch(batch("a", 10, 10, clock.get()));
    metrics.onBatch(batch("a", 30, 40, clock.get()));
    metrics.onError("cleanup", new IllegalStateException("boom"));

    assertThat(registry.getMeters()).as("the table is not known before the first commit")
        .isEmpty();

    metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(40)), 40));

    assertThat(registry.get(CrestMetrics.RECORDS_PER_BATCH)
        .tags("pipeline", "p1", "table", "shop.orders").summary().count()).isEqualTo(2);
    assertThat(registry.get(CrestMetrics.RECORDS_PER_BATCH).summary().totalAmount())
        .isEqualTo(40.0);
    assertThat(registry.get(CrestMetrics.ERRORS).tag("kind", "cleanup").counter().count())
        .isEqualTo(1.0);
    assertThat(registry.get(CrestMetrics.RECORDS_WRITTEN).counter().count()).isEqualTo(40.0);
    assertThat(registry.get(CrestMetrics.BYTES_WRITTEN).counter().count()).isEqualTo(400.0);
    assertThat(registry.get(CrestMetrics.BATCHES_COMMITTED).counter().count()).isEqualTo(1.0);
    assertThat(registry.get(CrestMetrics.COMMIT_DURATION).timer().totalTime(TimeUnit.MILLISECONDS))
        .isEqualTo(20.0);
    assertThat(lag("a")).isZero();
  }

  @Test
  void fatalFailure_beforeTheTableIsKnown_isCountedUnderUnknownTable() {
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);
    metrics.onBatch(batch("a", 10, 10, clock.get()));

    metrics.onFailure(new IllegalStateException("catalog down"));

    assertThat(registry.get(CrestMetrics.ERRORS)
        .tags("pipeline", "p1", "table", "unknown", "kind", "fatal").counter().count())
        .isEqualTo(1.0);
    assertThat(registry.get(CrestMetrics.RECORDS_PER_BATCH).summary().count()).isEqualTo(1);
  }

  @Test
  void pipelineAndTableGiven_registerMetersAtOnceWithZeroErrorCounters() {
    CrestMetrics.builder(registry).pipeline("p1").table("shop.orders").build();

    assertThat(registry.get(CrestMetrics.ERRORS).tag("kind", "fatal").counter().count()).isZero();
    assertThat(registry.get(CrestMetrics.ERRORS).tag("kind", "dead-letter").counter().count())
        .isZero();
    assertThat(registry.get(CrestMetrics.RECORDS_WRITTEN)
        .tags("pipeline", "p1", "table", "shop.orders").counter().count()).isZero();
    assertThat(registry.get(CrestMetrics.COMMIT_DURATION).timer().takeSnapshot().percentileValues())
        .extracting(v -> v.percentile()).containsExactly(0.5, 0.95, 0.99);
  }

  @Test
  void eventOfAnotherPipeline_isRefused() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders").build();
    metrics.onBatch(batch("a", 10, 10, clock.get()));

    assertThatThrownBy(() -> metrics.onBatch(new BatchEvent("p2", "a", 1, 8,
        SourcePosition.ofOffset(11), clock.get())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot record metrics for pipeline p2: this CrestMetrics serves pipeline p1"
            + " (use one CrestMetrics per pipeline)");
  }

  @Test
  void commitToAnotherTable_isRefused() {
    CrestMetrics metrics = CrestMetrics.builder(registry).table("shop.orders").build();

    assertThatThrownBy(() -> metrics.onCommit(new CommitEvent("p1", "shop.other", "c", "s", 1,
        1, 1, Duration.ZERO, Duration.ZERO, Map.of())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot record metrics for table shop.other: this CrestMetrics serves table"
            + " shop.orders (use one CrestMetrics per pipeline)");
  }

  @Test
  void close_removesTheMeters_andLaterEventsAreIgnored() {
    CrestMetrics metrics = CrestMetrics.builder(registry).pipeline("p1").table("shop.orders")
        .build();
    metrics.onBatch(batch("a", 10, 10, clock.get()));
    assertThat(registry.getMeters()).extracting(m -> m.getId().getName())
        .contains(CrestMetrics.SOURCE_LAG, CrestMetrics.RECORDS_WRITTEN);

    metrics.close();
    metrics.close();
    metrics.onBatch(batch("a", 10, 20, clock.get()));
    metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(20)), 20));

    assertThat(registry.getMeters()).extracting(Meter::getId).isEmpty();
  }

  @Test
  void concurrentBatchesAndCommits_countEveryBatchAndEndWithoutLag() throws Exception {
    CrestMetrics metrics = CrestMetrics.forRegistry(registry); // meters appear mid-run
    int batches = 20_000;
    BlockingQueue<Long> flushed = new LinkedBlockingQueue<>();
    Thread writer = new Thread(() -> {
      for (long i = 1; i <= batches; i++) {
        metrics.onBatch(batch("a", 1, i, clock.get()));
        if (i % 100 == 0) {
          flushed.add(i);
        }
      }
    }, "test-writer");
    Thread committer = new Thread(() -> {
      try {
        long position = 0;
        while (position < batches) {
          position = flushed.take();
          metrics.onCommit(commit(Map.of("a", SourcePosition.ofOffset(position)), 100));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "test-committer");
    writer.start();
    committer.start();
    writer.join();
    committer.join();

    assertThat(registry.get(CrestMetrics.RECORDS_PER_BATCH).summary().count()).isEqualTo(batches);
    assertThat(registry.get(CrestMetrics.BATCHES_COMMITTED).counter().count())
        .isEqualTo(batches / 100);
    assertThat(lag("a")).isZero();
  }

  @Test
  void builder_blankTable_isRejected() {
    assertThatThrownBy(() -> CrestMetrics.builder(registry).table(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set table of CrestMetrics: blank");
  }

  @Test
  void builder_tableTwice_isRejectedNamingTheEarlierValue() {
    assertThatThrownBy(() -> CrestMetrics.builder(registry).table("a.b").table("a.c"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set table of CrestMetrics to 'a.c': already set to 'a.b'");
  }

  @Test
  void builder_nullRegistry_isRejected() {
    assertThatThrownBy(() -> CrestMetrics.forRegistry(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("registry");
  }
}
