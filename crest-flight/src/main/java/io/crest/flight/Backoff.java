package io.crest.flight;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.DoubleSupplier;

/**
 * Jittered exponential backoff between reconnect attempts: attempt {@code n} (from 1) waits a
 * random time between half and all of {@code min(initial * 2^(n-1), max)}, so that many readers
 * cut off by one outage do not reconnect in step. Immutable and thread-safe.
 */
final class Backoff {
  private final Duration initial;
  private final Duration max;
  private final DoubleSupplier random;

  /**
   * Creates a backoff.
   *
   * @param random uniform numbers in {@code [0, 1)}; tests pass a fixed one
   */
  Backoff(Duration initial, Duration max, DoubleSupplier random) {
    this.initial = initial;
    this.max = max;
    this.random = random;
  }

  /** A backoff using {@link ThreadLocalRandom} for its jitter. */
  static Backoff of(Duration initial, Duration max) {
    return new Backoff(initial, max, () -> ThreadLocalRandom.current().nextDouble());
  }

  /** The time to wait before attempt {@code attempt} (1 for the first reconnect). */
  Duration delay(int attempt) {
    long ceilingNanos = max.toNanos();
    long nanos = initial.toNanos();
    for (int i = 1; i < attempt && nanos < ceilingNanos; i++) {
      nanos = nanos > ceilingNanos / 2 ? ceilingNanos : nanos * 2;
    }
    nanos = Math.min(nanos, ceilingNanos);
    long half = nanos / 2;
    return Duration.ofNanos(half + (long) (random.getAsDouble() * (nanos - half)));
  }

  @Override
  public String toString() {
    return "Backoff[" + initial + " .. " + max + ", jittered]";
  }
}
