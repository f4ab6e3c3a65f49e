package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final Duration INITIAL = Duration.ofMillis(100);
  private static final Duration MAX = Duration.ofSeconds(1);

  @Test
  void delay_doublesPerAttemptUpToTheMaximum() {
    Backoff backoff = new Backoff(INITIAL, MAX, () -> 0.999_999);

    assertThat(backoff.delay(1)).isBetween(Duration.ofMillis(99), INITIAL);
    assertThat(backoff.delay(2)).isBetween(Duration.ofMillis(199), Duration.ofMillis(200));
    assertThat(backoff.delay(4)).isBetween(Duration.ofMillis(799), Duration.ofMillis(800));
    assertThat(backoff.delay(5)).isBetween(Duration.ofMillis(999), MAX);
    assertThat(backoff.delay(60)).isBetween(Duration.ofMillis(999), MAX);
  }

  @Test
  void delay_withLowestJitter_isHalfTheStep() {
    Backoff backoff = new Backoff(INITIAL, MAX, () -> 0.0);

    assertThat(backoff.delay(1)).isEqualTo(Duration.ofMillis(50));
    assertThat(backoff.delay(3)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.delay(1000)).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void delay_withRandomJitter_staysWithinHalfAndAllOfTheStep() {
    Backoff backoff = Backoff.of(INITIAL, MAX);

    for (int i = 0; i < 1000; i++) {
      assertThat(backoff.delay(3)).isBetween(Duration.ofMillis(200), Duration.ofMillis(400));
    }
  }
}
