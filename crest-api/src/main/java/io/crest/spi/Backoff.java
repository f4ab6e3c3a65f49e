package io.crest.spi;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * Jittered exponential backoff: how long to wait before trying again, for sources that reconnect
 * after a transient failure and sinks that retry a commit after a conflict. One rule for every
 * retry Crest makes.
 *
 * <p>The rule: the pause before attempt {@code n} (1 for the first retry) is a random time between
 * half and all of the step {@code min(initial * 2^(n-1), max)}; half of each step is fixed and half
 * random, so that many clients cut off by one outage do not retry in step. A backoff whose initial
 * pause is zero never pauses. Steps beyond {@code Long.MAX_VALUE} nanoseconds (about 292 years) are
 * capped there; huge attempt numbers do not overflow.
 *
 * <p>Immutable and thread-safe, provided the jitter source given to {@link #of(Duration, Duration,
 * DoubleSupplier)} is. Two backoffs are equal when their initial and maximum pauses are; the jitter
 * source is not compared.
 */
public final class Backoff {
  private static final DoubleSupplier THREAD_LOCAL_RANDOM =
      () -> ThreadLocalRandom.current().nextDouble();

  private final Duration initial;
  private final Duration max;
  private final long initialNanos;
  private final long maxNanos;
  private final DoubleSupplier random;

  private Backoff(Duration initial, Duration max, DoubleSupplier random) {
    this.initial = initial;
    this.max = max;
    this.initialNanos = saturatedNanos(initial);
    this.maxNanos = saturatedNanos(max);
    this.random = random;
  }

  /**
   * A backoff with pauses from {@code initial} doubling up to {@code max}, jittered with {@link
   * ThreadLocalRandom}.
   *
   * @throws IllegalArgumentException if {@code initial} is negative
   * @throws IllegalArgumentException if {@code max} is below {@code initial}
   */
  public static Backoff of(Duration initial, Duration max) {
    return of(initial, max, THREAD_LOCAL_RANDOM);
  }

  /**
   * A backoff with pauses from {@code initial} doubling up to {@code max}, jittered with numbers
   * from {@code random}. Tests pass a fixed supplier to make the pauses predictable.
   *
   * @param random uniform numbers in {@code [0, 1)}, called from any thread that asks for a delay;
   *     numbers outside that range are clamped into it
   * @throws IllegalArgumentException if {@code initial} is negative
   * @throws IllegalArgumentException if {@code max} is below {@code initial}
   */
  public static Backoff of(Duration initial, Duration max, DoubleSupplier random) {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    Objects.requireNonNull(random, "random");
    if (initial.isNegative()) {
      throw new IllegalArgumentException(
          "Cannot create backoff " + initial + " .. " + max + ": the initial pause is negative"
              + " (use zero or more)");
    }
    if (max.compareTo(initial) < 0) {
      throw new IllegalArgumentException(
          "Cannot create backoff " + initial + " .. " + max + ": the maximum pause is below the"
              + " initial one (use a maximum of at least " + initial + ")");
    }
    return new Backoff(initial, max, random);
  }

  /** The step before the first retry, before jitter. */
  public Duration initial() {
    return initial;
  }

  /** The longest step, before jitter. */
  public Duration max() {
    return max;
  }

  /**
   * The pause before attempt {@code attempt}, jittered: between half and all of {@code
   * min(initial * 2^(attempt-1), max)}.
   *
   * @param attempt 1 for the pause before the first retry, 2 before the second, and so on
   * @throws IllegalArgumentException if {@code attempt} is below 1
   */
  public Duration delay(int attempt) {
    long step = step(attempt);
    long half = step / 2;
    double r = random.getAsDouble();
    long jitter = r > 0 ? (long) (Math.min(r, 1.0) * (step - half)) : 0;
    // The product may round up past step - half for steps beyond 2^53 ns: stay within the step.
    return Duration.ofNanos(half + Math.min(jitter, step - half));
  }

  /**
   * Sleeps for {@link #delay(int) delay(attempt)}. An interrupt ends the pause early and leaves the
   * thread's interrupt flag set, so the caller can see it and stop; a thread interrupted before the
   * call does not sleep. A zero delay returns at once.
   *
   * @throws IllegalArgumentException if {@code attempt} is below 1
   */
  public void pause(int attempt) {
    long nanos = delay(attempt).toNanos();
    if (nanos == 0) {
      return;
    }
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** {@code min(initial * 2^(attempt-1), max)} in nanoseconds, without overflow. */
  private long step(int attempt) {
    if (attempt < 1) {
      throw new IllegalArgumentException(
          "Cannot compute the backoff before attempt " + attempt + ": attempts count from 1");
    }
    if (initialNanos == 0) {
      return 0;
    }
    int doublings = attempt - 1;
    // Shifting by fewer places than there are leading zeros keeps the sign bit clear.
    if (doublings >= Long.numberOfLeadingZeros(initialNanos)) {
      return maxNanos;
    }
    return Math.min(initialNanos << doublings, maxNanos);
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) { // beyond about 292 years
      return Long.MAX_VALUE;
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Backoff
        && initial.equals(((Backoff) o).initial)
        && max.equals(((Backoff) o).max);
  }

  @Override
  public int hashCode() {
    return Objects.hash(initial, max);
  }

  @Override
  public String toString() {
    return "Backoff[" + initial + " .. " + max + ", jittered]";
  }
}
