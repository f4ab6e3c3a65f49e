package io.crest.iceberg.commit;

import io.crest.spi.Backoff;
import java.time.Duration;
import java.util.Objects;

/**
 * How often a commit is tried again after Iceberg's own retries gave up, and how long to pause
 * between attempts: at most {@link #maxAttempts()} attempts, pausing by the jittered exponential
 * {@link Backoff} so that competing writers spread out. Used by the sink's committer and by table
 * maintenance, so every commit Crest makes retries by one rule. Immutable and thread-safe.
 */
public final class CommitRetry {
  /** Eight attempts, pauses from 200 ms up to 30 s. */
  public static final CommitRetry DEFAULT =
      new CommitRetry(8, Duration.ofMillis(200), Duration.ofSeconds(30));

  private final int maxAttempts;
  private final Backoff backoff;

  /**
   * A retry rule of {@code maxAttempts} attempts with pauses from {@code initialBackoff} doubling
   * up to {@code maxBackoff}.
   *
   * @throws IllegalArgumentException if {@code maxAttempts} is not positive
   * @throws IllegalArgumentException if {@code initialBackoff} is negative or {@code maxBackoff} is
   *     below it
   */
  public CommitRetry(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    this(maxAttempts, Backoff.of(initialBackoff, maxBackoff));
  }

  /**
   * A retry rule of {@code maxAttempts} attempts pausing by {@code backoff}.
   *
   * @throws IllegalArgumentException if {@code maxAttempts} is not positive
   */
  public CommitRetry(int maxAttempts, Backoff backoff) {
    Objects.requireNonNull(backoff, "backoff");
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("Cannot retry " + maxAttempts + " times with backoff "
          + backoff.initial() + ".." + backoff.max() + " (attempts >= 1)");
    }
    this.maxAttempts = maxAttempts;
    this.backoff = backoff;
  }

  /** How many attempts in all, the first included. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** The pauses between attempts; {@code backoff().pause(n)} sleeps before retry {@code n}. */
  public Backoff backoff() {
    return backoff;
  }

  /** This rule with {@code attempts} attempts. */
  public CommitRetry withAttempts(int attempts) {
    return new CommitRetry(attempts, backoff);
  }

  /** This rule with pauses from {@code initial} up to {@code max}. */
  public CommitRetry withBackoff(Duration initial, Duration max) {
    return new CommitRetry(maxAttempts, Backoff.of(initial, max));
  }

  @Override
  public String toString() {
    return maxAttempts + " attempts, backoff " + backoff.initial() + ".." + backoff.max();
  }
}
