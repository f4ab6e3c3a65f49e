package io.crest;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * When a pipeline commits: after a number of rows, a number of bytes, or an elapsed time, whichever
 * comes first.
 *
 * <p>The policy decides when to <em>commit</em>, not how much is held in memory: batches are
 * encoded into open files as they arrive, so memory stays bounded by the pipeline's buffer limit
 * whatever the commit interval. Rows and bytes count what arrived from the source (bytes are Arrow
 * buffer bytes, before encoding and compression). The time limit runs from the arrival of the first
 * batch that the next commit will cover, so an idle source causes no empty commits.
 *
 * <p>Immutable and thread-safe. Build one with a static factory and add limits with the {@code
 * or*} methods:
 *
 * <pre>{@code
 * BatchPolicy.rows(100_000).orBytes(DataSize.mib(64)).orEvery(Duration.ofSeconds(5))
 * }</pre>
 */
public final class BatchPolicy {
  private static final BatchPolicy DEFAULTS =
      new BatchPolicy(1_000_000L, DataSize.mib(256), Duration.ofSeconds(10));

  private final Long maxRows;
  private final DataSize maxBytes;
  private final Duration maxInterval;

  private BatchPolicy(Long maxRows, DataSize maxBytes, Duration maxInterval) {
    this.maxRows = maxRows;
    this.maxBytes = maxBytes;
    this.maxInterval = maxInterval;
  }

  /**
   * The policy a pipeline uses when none is set: one million rows, 256 MiB or ten seconds.
   */
  public static BatchPolicy defaults() {
    return DEFAULTS;
  }

  /**
   * Commits once {@code maxRows} rows have arrived.
   *
   * @throws IllegalArgumentException if {@code maxRows} is not positive
   */
  public static BatchPolicy rows(long maxRows) {
    return new BatchPolicy(null, null, null).orRows(maxRows);
  }

  /**
   * Commits once {@code maxBytes} of Arrow data have arrived.
   *
   * @throws IllegalArgumentException if {@code maxBytes} is zero
   */
  public static BatchPolicy bytes(DataSize maxBytes) {
    return new BatchPolicy(null, null, null).orBytes(maxBytes);
  }

  /**
   * Commits once {@code interval} has passed since the first uncommitted batch arrived.
   *
   * @throws IllegalArgumentException if {@code interval} is zero or negative
   */
  public static BatchPolicy every(Duration interval) {
    return new BatchPolicy(null, null, null).orEvery(interval);
  }

  /**
   * Returns this policy that also commits once {@code maxRows} rows have arrived.
   *
   * @throws IllegalArgumentException if {@code maxRows} is not positive
   * @throws IllegalStateException if this policy already has a row limit
   */
  public BatchPolicy orRows(long maxRows) {
    if (maxRows <= 0) {
      throw new IllegalArgumentException(
          "Cannot set batch row limit: " + maxRows + " is not positive");
    }
    if (this.maxRows != null) {
      throw new IllegalStateException(
          "Cannot set batch row limit to " + maxRows + ": already set to " + this.maxRows);
    }
    return new BatchPolicy(maxRows, maxBytes, maxInterval);
  }

  /**
   * Returns this policy that also commits once {@code maxBytes} of Arrow data have arrived.
   *
   * @throws IllegalArgumentException if {@code maxBytes} is zero
   * @throws IllegalStateException if this policy already has a byte limit
   */
  public BatchPolicy orBytes(DataSize maxBytes) {
    Objects.requireNonNull(maxBytes, "maxBytes");
    if (maxBytes.toBytes() == 0) {
      throw new IllegalArgumentException("Cannot set batch byte limit: 0 B is not positive");
    }
    if (this.maxBytes != null) {
      throw new IllegalStateException(
          "Cannot set batch byte limit to " + maxBytes + ": already set to " + this.maxBytes);
    }
    return new BatchPolicy(maxRows, maxBytes, maxInterval);
  }

  /**
   * Returns this policy that also commits once {@code interval} has passed since the first
   * uncommitted batch arrived.
   *
   * @throws IllegalArgumentException if {@code interval} is zero or negative
   * @throws IllegalStateException if this policy already has a time limit
   */
  public BatchPolicy orEvery(Duration interval) {
    Objects.requireNonNull(interval, "interval");
    if (interval.isZero() || interval.isNegative()) {
      throw new IllegalArgumentException(
          "Cannot set batch interval: " + interval + " is not positive");
    }
    if (this.maxInterval != null) {
      throw new IllegalStateException(
          "Cannot set batch interval to " + interval + ": already set to " + this.maxInterval);
    }
    return new BatchPolicy(maxRows, maxBytes, interval);
  }

  /** The row limit, if any. */
  public OptionalLong maxRows() {
    return maxRows == null ? OptionalLong.empty() : OptionalLong.of(maxRows);
  }

  /** The byte limit, if any. */
  public Optional<DataSize> maxBytes() {
    return Optional.ofNullable(maxBytes);
  }

  /** The time limit, if any. */
  public Optional<Duration> maxInterval() {
    return Optional.ofNullable(maxInterval);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof BatchPolicy)) {
      return false;
    }
    BatchPolicy that = (BatchPolicy) o;
    return Objects.equals(maxRows, that.maxRows)
        && Objects.equals(maxBytes, that.maxBytes)
        && Objects.equals(maxInterval, that.maxInterval);
  }

  @Override
  public int hashCode() {
    return Objects.hash(maxRows, maxBytes, maxInterval);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("BatchPolicy[");
    String sep = "";
    if (maxRows != null) {
      sb.append("rows=").append(maxRows);
      sep = ", ";
    }
    if (maxBytes != null) {
      sb.append(sep).append("bytes=").append(maxBytes);
      sep = ", ";
    }
    if (maxInterval != null) {
      sb.append(sep).append("every=").append(maxInterval);
    }
    return sb.append(']').toString();
  }
}
