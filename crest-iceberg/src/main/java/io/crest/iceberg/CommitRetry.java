package io.crest.iceberg;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * How often and how patiently a commit is tried again after Iceberg's own retries gave up:
 * exponential backoff with jitter (half of each pause is fixed, half random), so competing writers
 * spread out. Immutable and thread-safe.
 */
final class CommitRetry {
  static final CommitRetry DEFAULT = new CommitRetry(8, Duration.ofMillis(200), Duration.ofSeconds(30));

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;

  CommitRetry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
  }

  int maxAttempts() {
    return maxAttempts;
  }

  Duration initialBackoff() {
    return initialBackoff;
  }

  Duration maxBackoff() {
    return maxBackoff;
  }

  CommitRetry withAttempts(int attempts) {
    return new CommitRetry(attempts, initialBackoff, maxBackoff);
  }

  CommitRetry withBackoff(Duration initial, Duration max) {
    return new CommitRetry(maxAttempts, initial, max);
  }

  /** The pause before retry number {@code retry} (1 for the first retry), jittered. */
  long pauseNanos(int retry) {
    long ceiling = maxBackoff.toNanos();
    long base = initialBackoff.toNanos();
    for (int i = 1; i < retry && base < ceiling; i++) {
      base *= 2;
    }
    base = Math.min(base, ceiling);
    long half = base / 2;
    return half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0);
  }

  /** Sleeps before retry number {@code retry}; an interrupt ends the pause early and is kept. */
  void pause(int retry) {
    try {
      TimeUnit.NANOSECONDS.sleep(pauseNanos(retry));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return maxAttempts + " attempts, backoff " + initialBackoff + ".." + maxBackoff;
  }
}
