package io.crest.iceberg.commit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one retry rule of every commit Crest makes: pauses, their growth, bounds and jitter. */
class CommitRetryTest {
  private static final CommitRetry RETRY =
      new CommitRetry(8, Duration.ofMillis(100), Duration.ofSeconds(1));

  @Test
  void pauses_doubleFromTheInitialOne_upToTheMaximum_jitteredIntoTheirUpperHalf() {
    long[] bases = {100, 200, 400, 800, 1000, 1000, 1000};
    for (int retry = 1; retry <= bases.length; retry++) {
      long base = Duration.ofMillis(bases[retry - 1]).toNanos();
      for (int i = 0; i < 200; i++) {
        assertThat(RETRY.pauseNanos(retry)).as("retry %d", retry).isBetween(base / 2, base);
      }
    }
  }

  @Test
  void jitter_spreadsThePauses() {
    java.util.Set<Long> pauses = new java.util.HashSet<>();
    for (int i = 0; i < 50; i++) {
      pauses.add(RETRY.pauseNanos(3));
    }
    assertThat(pauses).hasSizeGreaterThan(10);
  }

  @Test
  void aZeroBackoff_neverPauses() {
    CommitRetry none = new CommitRetry(3, Duration.ZERO, Duration.ZERO);
    assertThat(none.pauseNanos(1)).isZero();
    assertThat(none.pauseNanos(30)).isZero();
  }

  @Test
  void aHugeRetryNumber_staysAtTheMaximum_withoutOverflow() {
    assertThat(RETRY.pauseNanos(10_000)).isBetween(Duration.ofMillis(500).toNanos(),
        Duration.ofSeconds(1).toNanos());
  }

  @Test
  void withers_changeOneSettingOnly() {
    CommitRetry more = RETRY.withAttempts(20);
    assertThat(more.maxAttempts()).isEqualTo(20);
    assertThat(more.initialBackoff()).isEqualTo(RETRY.initialBackoff());
    CommitRetry slower = RETRY.withBackoff(Duration.ofSeconds(1), Duration.ofSeconds(5));
    assertThat(slower.maxAttempts()).isEqualTo(8);
    assertThat(slower.maxBackoff()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void badSettings_areRejected() {
    assertThatThrownBy(() -> new CommitRetry(0, Duration.ZERO, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("attempts >= 1");
    assertThatThrownBy(() -> new CommitRetry(1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CommitRetry(1, Duration.ofMillis(-1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
