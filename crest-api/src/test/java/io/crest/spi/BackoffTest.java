package io.crest.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The one retry rule of every reconnect and commit Crest makes: growth, bounds, jitter, pauses. */
class BackoffTest {
  private static final Duration INITIAL = Duration.ofMillis(100);
  private static final Duration MAX = Duration.ofSeconds(1);
  private static final double HIGHEST = Math.nextDown(1.0);

  @AfterEach
  void clearInterrupt() {
    Thread.interrupted(); // a failed interrupt test must not leak into the next test
  }

  @Test
  void delay_doublesPerAttemptUpToTheMaximum() {
    Backoff backoff = Backoff.of(INITIAL, MAX, () -> 0.999_999);

    assertThat(backoff.delay(1)).isBetween(Duration.ofMillis(99), INITIAL);
    assertThat(backoff.delay(2)).isBetween(Duration.ofMillis(199), Duration.ofMillis(200));
    assertThat(backoff.delay(4)).isBetween(Duration.ofMillis(799), Duration.ofMillis(800));
    assertThat(backoff.delay(5)).isBetween(Duration.ofMillis(999), MAX);
    assertThat(backoff.delay(60)).isBetween(Duration.ofMillis(999), MAX);
  }

  @Test
  void delay_withLowestJitter_isHalfTheStep() {
    Backoff backoff = Backoff.of(INITIAL, MAX, () -> 0.0);

    assertThat(backoff.delay(1)).isEqualTo(Duration.ofMillis(50));
    assertThat(backoff.delay(3)).isEqualTo(Duration.ofMillis(200));
    assertThat(backoff.delay(1000)).isEqualTo(Duration.ofMillis(500));
  }

  @Test
  void delay_withHighestJitter_isTheWholeStepAtMost() {
    Backoff backoff = Backoff.of(INITIAL, MAX, () -> HIGHEST);

    assertThat(backoff.delay(1)).isLessThanOrEqualTo(INITIAL);
    assertThat(backoff.delay(4)).isLessThanOrEqualTo(Duration.ofMillis(800));
    assertThat(backoff.delay(5)).isLessThanOrEqualTo(MAX);
  }

  @Test
  void delay_withRandomJitter_staysWithinHalfAndAllOfTheStep() {
    Backoff backoff = Backoff.of(INITIAL, MAX);
    long[] steps = {100, 200, 400, 800, 1000, 1000, 1000};

    for (int attempt = 1; attempt <= steps.length; attempt++) {
      Duration step = Duration.ofMillis(steps[attempt - 1]);
      for (int i = 0; i < 200; i++) {
        assertThat(backoff.delay(attempt))
            .as("attempt %d", attempt)
            .isBetween(step.dividedBy(2), step);
      }
    }
  }

  @Test
  void delay_withRandomJitter_spreadsThePauses() {
    Backoff backoff = Backoff.of(INITIAL, MAX);
    Set<Duration> delays = new HashSet<>();

    for (int i = 0; i < 50; i++) {
      delays.add(backoff.delay(3));
    }

    assertThat(delays).hasSizeGreaterThan(10);
  }

  @Test
  void delay_withJitterOutsideTheUnitRange_staysWithinTheStep() {
    assertThat(Backoff.of(INITIAL, MAX, () -> 7.0).delay(1)).isEqualTo(INITIAL);
    assertThat(Backoff.of(INITIAL, MAX, () -> -1.0).delay(1)).isEqualTo(Duration.ofMillis(50));
    assertThat(Backoff.of(INITIAL, MAX, () -> Double.NaN).delay(1))
        .isEqualTo(Duration.ofMillis(50));
  }

  @Test
  void aZeroBackoff_neverPauses() {
    Backoff none = Backoff.of(Duration.ZERO, Duration.ZERO, () -> HIGHEST);

    assertThat(none.delay(1)).isZero();
    assertThat(none.delay(30)).isZero();
    assertThat(none.delay(Integer.MAX_VALUE)).isZero();
  }

  @Test
  void aZeroInitialPause_neverPauses_whateverTheMaximum() {
    Backoff none = Backoff.of(Duration.ZERO, MAX, () -> HIGHEST);

    assertThat(none.delay(1)).isZero();
    assertThat(none.delay(Integer.MAX_VALUE)).isZero();
  }

  @Test
  void aHugeAttemptNumber_staysAtTheMaximum_withoutOverflow() {
    Backoff backoff = Backoff.of(INITIAL, MAX);

    assertThat(backoff.delay(10_000)).isBetween(Duration.ofMillis(500), MAX);
    assertThat(backoff.delay(Integer.MAX_VALUE)).isBetween(Duration.ofMillis(500), MAX);
  }

  @Test
  void theLastDoublingBeforeOverflow_isExact_andTheNextOneIsCapped() {
    Backoff backoff = Backoff.of(Duration.ofNanos(1), Duration.ofNanos(Long.MAX_VALUE), () -> 0.0);

    assertThat(backoff.delay(63)).isEqualTo(Duration.ofNanos(1L << 61)); // step 2^62
    assertThat(backoff.delay(64)).isEqualTo(Duration.ofNanos(Long.MAX_VALUE / 2));
    assertThat(backoff.delay(Integer.MAX_VALUE)).isEqualTo(Duration.ofNanos(Long.MAX_VALUE / 2));
  }

  @Test
  void aMaximumBeyondLongNanos_isCappedThere_withoutOverflow() {
    Backoff backoff = Backoff.of(Duration.ofNanos(1), Duration.ofSeconds(Long.MAX_VALUE), () -> HIGHEST);

    assertThat(backoff.delay(Integer.MAX_VALUE))
        .isBetween(Duration.ofNanos(Long.MAX_VALUE / 2), Duration.ofNanos(Long.MAX_VALUE));
    assertThat(backoff.max()).isEqualTo(Duration.ofSeconds(Long.MAX_VALUE));
  }

  @Test
  void delay_beforeTheFirstAttempt_isRejected() {
    Backoff backoff = Backoff.of(INITIAL, MAX);

    assertThatThrownBy(() -> backoff.delay(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot compute the backoff before attempt 0: attempts count from 1");
    assertThatThrownBy(() -> backoff.pause(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot compute the backoff before attempt -1: attempts count from 1");
  }

  @Test
  void of_negativeInitial_isRejected() {
    assertThatThrownBy(() -> Backoff.of(Duration.ofMillis(-1), MAX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "Cannot create backoff PT-0.001S .. PT1S: the initial pause is negative (use zero or"
                + " more)");
  }

  @Test
  void of_maxBelowInitial_isRejected() {
    assertThatThrownBy(() -> Backoff.of(Duration.ofSeconds(2), MAX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "Cannot create backoff PT2S .. PT1S: the maximum pause is below the initial one (use a"
                + " maximum of at least PT2S)");
  }

  @Test
  void of_null_isRejected() {
    assertThatThrownBy(() -> Backoff.of(null, MAX))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("initial");
    assertThatThrownBy(() -> Backoff.of(INITIAL, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("max");
    assertThatThrownBy(() -> Backoff.of(INITIAL, MAX, null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("random");
  }

  @Test
  void accessorsEqualityAndText_describeTheSettings() {
    Backoff backoff = Backoff.of(INITIAL, MAX);

    assertThat(backoff.initial()).isEqualTo(INITIAL);
    assertThat(backoff.max()).isEqualTo(MAX);
    assertThat(backoff).isEqualTo(Backoff.of(INITIAL, MAX, () -> 0.0));
    assertThat(backoff).hasSameHashCodeAs(Backoff.of(INITIAL, MAX));
    assertThat(backoff).isNotEqualTo(Backoff.of(INITIAL, Duration.ofSeconds(2)));
    assertThat(backoff).hasToString("Backoff[PT0.1S .. PT1S, jittered]");
  }

  @Test
  void pause_sleepsAtLeastTheFixedHalfOfTheStep() {
    Backoff backoff = Backoff.of(Duration.ofMillis(40), Duration.ofMillis(40), () -> 0.0);

    long start = System.nanoTime();
    backoff.pause(1);

    assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(Duration.ofMillis(20).toNanos());
  }

  @Test
  void pause_ofAZeroBackoff_returnsAtOnce_evenWhenInterrupted() {
    Thread.currentThread().interrupt();

    Backoff.of(Duration.ZERO, Duration.ZERO).pause(5);

    assertThat(Thread.interrupted()).isTrue();
  }

  @Test
  void pause_whenAlreadyInterrupted_returnsAtOnce_andKeepsTheFlag() {
    Backoff hour = Backoff.of(Duration.ofHours(1), Duration.ofHours(1));
    Thread.currentThread().interrupt();

    long start = System.nanoTime();
    hour.pause(1);

    assertThat(Thread.interrupted()).isTrue();
    assertThat(System.nanoTime() - start).isLessThan(Duration.ofSeconds(10).toNanos());
  }

  @Test
  void pause_interrupted_endsEarly_andKeepsTheFlag() {
    Backoff hour = Backoff.of(Duration.ofHours(1), Duration.ofHours(1));
    AtomicBoolean interruptedAfter = new AtomicBoolean();
    AtomicLong pausedNanos = new AtomicLong(-1);
    Thread sleeper =
        new Thread(
            () -> {
              long start = System.nanoTime();
              hour.pause(1);
              interruptedAfter.set(Thread.currentThread().isInterrupted());
              pausedNanos.set(System.nanoTime() - start);
            },
            "backoff-sleeper");
    sleeper.start();
    await().atMost(Duration.ofSeconds(10))
        .until(() -> sleeper.getState() == Thread.State.TIMED_WAITING);

    sleeper.interrupt();

    await().atMost(Duration.ofSeconds(10)).until(() -> pausedNanos.get() >= 0);
    assertThat(interruptedAfter).isTrue();
    assertThat(pausedNanos.get()).isLessThan(Duration.ofMinutes(1).toNanos());
  }
}
