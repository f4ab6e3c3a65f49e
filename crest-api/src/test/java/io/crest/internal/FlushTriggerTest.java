package io.crest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FlushTriggerTest {
  private static final long MS = 1_000_000L;

  @Test
  void nothingPending_isNeverDue() {
    FlushTrigger t = new FlushTrigger(BatchPolicy.every(Duration.ofMillis(10)));
    assertThat(t.isDue(1_000 * MS)).isFalse();
    assertThat(t.nanosUntilDue(1_000 * MS)).isEqualTo(Long.MAX_VALUE);
    t.add(0, 100, 0); // an empty batch starts no interval
    assertThat(t.hasPending()).isFalse();
  }

  @Test
  void interval_runsFromTheFirstPendingBatch() {
    FlushTrigger t = new FlushTrigger(BatchPolicy.every(Duration.ofMillis(100)));
    t.add(10, 100, 50 * MS);
    t.add(10, 100, 120 * MS);
    assertThat(t.isDue(149 * MS)).isFalse();
    assertThat(t.nanosUntilDue(149 * MS)).isEqualTo(1 * MS);
    assertThat(t.isDue(150 * MS)).isTrue();
    assertThat(t.nanosUntilDue(150 * MS)).isZero();
    t.reset();
    assertThat(t.isDue(1_000 * MS)).isFalse();
    t.add(1, 1, 1_000 * MS);
    assertThat(t.nanosUntilDue(1_000 * MS)).isEqualTo(100 * MS);
  }

  @Test
  void rowsOrBytes_whicheverComesFirst() {
    FlushTrigger t = new FlushTrigger(BatchPolicy.rows(100).orBytes(DataSize.kib(1)));
    t.add(60, 500, 0);
    assertThat(t.isDue(0)).isFalse();
    assertThat(t.nanosUntilDue(0)).isEqualTo(Long.MAX_VALUE);
    t.add(60, 100, 0);
    assertThat(t.isDue(0)).isTrue();
    t.reset();
    t.add(1, 1024, 0);
    assertThat(t.isDue(0)).isTrue();
  }

  @Test
  void movedPositions_arePending_dueByTimeOrLaterRows() {
    FlushTrigger t = new FlushTrigger(BatchPolicy.rows(10).orEvery(Duration.ofMillis(100)));
    t.moved(50 * MS);
    assertThat(t.hasPending()).isTrue();
    assertThat(t.isDue(50 * MS)).isFalse();
    assertThat(t.nanosUntilDue(50 * MS)).isEqualTo(100 * MS);
    t.add(10, 1, 60 * MS);
    assertThat(t.isDue(60 * MS)).isTrue();
    t.reset();
    t.moved(200 * MS);
    assertThat(t.isDue(300 * MS)).isTrue();
  }
}
