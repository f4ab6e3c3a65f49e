package io.crest.iceberg.commit;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * How often and how patiently a commit is tried again after Iceberg's own retries gave up:
 * exponential backoff with jitter (half of each pause is fixed, half random), so competing writers
 * spread out. Used by the sink's committer and by table maintenance, so every commit Crest makes
 * retries by one rule. Immutable and thread-safe.
 */
public final class CommitRetry {
  /** Eight attempts, pauses from 200 ms up to 30 s. */
  public static final CommitRetry DEFAULT = new CommitRetry(8, Duration.ofMillis(200), Duration.ofSeconds(30));

  private final int maxAttempts;
  private final Duration initialBackoff;
  private final Duration maxBackoff;

  /**
   * A retry rule of {@code maxAttempts} attempts with pauses from {@code initialBackoff} doubling
   * up to {@code maxBackoff}.
   *
   * @throws IllegalArgumentException if {@code maxAttempts} is not positive, a pause is negative or
   *     {@code maxBackoff} is below {@code initialBackoff}
   */
  public CommitRetry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    if (maxAttempts < 1 || initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("Cannot retry " + maxAttempts + " times with backoff "
          + initialBackoff + ".." + maxBackoff + " (attempts >= 1, 0 <= initial <= max)");
    }
    this.maxAttempts = maxAttempts;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
  }

  /** How many attempts in all, the first included. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The pause before the first retry, before jitter. */
  public Duration initialBackoff() {
    return initialBackoff;
  }

  /** The longest pause, before jitter. */
  public Duration maxBackoff() {
    return maxBackoff;
  }

  /** This rule with {@code attempts} attempts. */
  public CommitRetry withAttempts(int attempts) {
    return new CommitRetry(attempts, initialBackoff, maxBackoff);
  }

  /** This rule with pauses from {@code initial} up to {@code max}. */
  public CommitRetry withBackoff(Duration initial, Duration max) {
    return new CommitRetry(maxAttempts, initial, max);
  }

  /** The pause before retry number {@code retry} (1 for the first retry), jittered. */
  public long pauseNanos(int retry) {
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
  public void pause(int retry) {
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
