package io.crest.iceberg.commit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.spi.Backoff;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The commit retry rule: its attempts and settings. The pauses themselves are {@link Backoff}'s,
 * tested in crest-api ({@code io.crest.spi.BackoffTest}).
 */
class CommitRetryTest {
  private static final CommitRetry RETRY =
      new CommitRetry(8, Duration.ofMillis(100), Duration.ofSeconds(1));

  @Test
  void pauses_goThroughTheSharedBackoff() {
    assertThat(RETRY.backoff()).isEqualTo(Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(1)));
    assertThat(RETRY.backoff().delay(3)).isBetween(Duration.ofMillis(200), Duration.ofMillis(400));
  }

  @Test
  void aZeroBackoff_neverPauses() {
    CommitRetry none = new CommitRetry(3, Duration.ZERO, Duration.ZERO);
    assertThat(none.backoff().delay(1)).isZero();
    assertThat(none.backoff().delay(30)).isZero();
  }

  @Test
  void aGivenBackoff_isKept() {
    Backoff fixed = Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(1), () -> 0.0);
    CommitRetry retry = new CommitRetry(2, fixed);
    assertThat(retry.backoff()).isSameAs(fixed);
    assertThat(retry.withAttempts(5).backoff()).isSameAs(fixed);
    assertThat(retry.backoff().delay(2)).isEqualTo(Duration.ofMillis(100));
  }

  @Test
  void theDefault_isEightAttempts_from200msUpTo30s() {
    assertThat(CommitRetry.DEFAULT.maxAttempts()).isEqualTo(8);
    assertThat(CommitRetry.DEFAULT.backoff())
        .isEqualTo(Backoff.of(Duration.ofMillis(200), Duration.ofSeconds(30)));
    assertThat(CommitRetry.DEFAULT).hasToString("8 attempts, backoff PT0.2S..PT30S");
  }

  @Test
  void withers_changeOneSettingOnly() {
    CommitRetry more = RETRY.withAttempts(20);
    assertThat(more.maxAttempts()).isEqualTo(20);
    assertThat(more.backoff()).isEqualTo(RETRY.backoff());
    CommitRetry slower = RETRY.withBackoff(Duration.ofSeconds(1), Duration.ofSeconds(5));
    assertThat(slower.maxAttempts()).isEqualTo(8);
    assertThat(slower.backoff().initial()).isEqualTo(Duration.ofSeconds(1));
    assertThat(slower.backoff().max()).isEqualTo(Duration.ofSeconds(5));
  }

  @Test
  void badSettings_areRejected() {
    assertThatThrownBy(() -> new CommitRetry(0, Duration.ZERO, Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot retry 0 times with backoff PT0S..PT0S (attempts >= 1)");
    assertThatThrownBy(() -> new CommitRetry(1, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot create backoff PT2S .. PT1S: the maximum pause is below");
    assertThatThrownBy(() -> new CommitRetry(1, Duration.ofMillis(-1), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot create backoff PT-0.001S .. PT1S: the initial pause is");
    assertThatThrownBy(() -> RETRY.withAttempts(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attempts >= 1");
    assertThatThrownBy(() -> new CommitRetry(1, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("backoff");
  }
}
