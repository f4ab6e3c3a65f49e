package io.crest.writer;

import static java.util.Objects.requireNonNull;

import io.crest.DataSize;
import io.crest.writer.internal.EncoderCache;

/**
 * Keeps the column encoders of Crest's Parquet writers between writers: when a writer built with
 * {@link ParquetWriterBuilder#encoderPool} closes after finishing its files, its page, column
 * chunk and dictionary buffers (grown to a row group's size) wait here for the next writer of the
 * same schema and settings, instead of being grown again from a few kilobytes. A sink that writes
 * a file per commit saves a row group's worth of allocation and copying per commit.
 *
 * <p>At most {@code maxRetained} bytes of heap wait idle, as the encoders' buffers, arrays and
 * dictionaries count them (an estimate: small per-column objects are not counted); past it the
 * longest idle encoders are dropped, and encoders larger than the whole budget are not kept. Encoders in use by open writers are not counted. Thread-safe: writers on several
 * threads may share a pool. Whoever creates the pool closes it; closing drops what waits, and
 * writers still open afterwards drop theirs when they close.
 */
public final class ParquetEncoderPool implements AutoCloseable {
  final EncoderCache cache;

  private ParquetEncoderPool(long maxRetained) {
    this.cache = new EncoderCache(maxRetained);
  }

  /**
   * A pool that keeps up to {@code maxRetained} of idle encoders.
   *
   * @throws IllegalArgumentException if {@code maxRetained} is negative
   */
  public static ParquetEncoderPool create(DataSize maxRetained) {
    requireNonNull(maxRetained, "maxRetained");
    if (maxRetained.toBytes() < 0) {
      throw new IllegalArgumentException(
          "Cannot create an encoder pool of " + maxRetained + ": it must not be negative");
    }
    return new ParquetEncoderPool(maxRetained.toBytes());
  }

  /** Heap bytes the idle encoders hold now (an estimate, as counted against the budget). */
  public long idleBytes() {
    return cache.idleBytes();
  }

  /** How many writers took idle encoders from the pool. */
  public long reusedCount() {
    return cache.reusedCount();
  }

  /** How many writers found no idle fit and built encoders of their own. */
  public long builtCount() {
    return cache.builtCount();
  }

  /** Drops the idle encoders. */
  @Override
  public void close() {
    cache.close();
  }
}
