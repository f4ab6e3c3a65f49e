package io.crest.internal;

import io.crest.BatchPolicy;

/**
 * Evaluates a {@link BatchPolicy} against what arrived since the last flush. Times are read from a
 * caller-supplied clock in nanoseconds. Not thread-safe: the writer thread owns it.
 */
final class FlushTrigger {
  private final long maxRows;
  private final long maxBytes;
  private final long maxIntervalNanos;

  private long rows;
  private long bytes;
  private boolean pending;
  private long firstArrivalNanos;

  FlushTrigger(BatchPolicy policy) {
    this.maxRows = policy.maxRows().orElse(Long.MAX_VALUE);
    this.maxBytes = policy.maxBytes().map(s -> s.toBytes()).orElse(Long.MAX_VALUE);
    this.maxIntervalNanos = policy.maxInterval().map(d -> d.toNanos()).orElse(Long.MAX_VALUE);
  }

  /** Counts a written batch that arrived at {@code nowNanos}. */
  void add(long batchRows, long batchBytes, long nowNanos) {
    if (batchRows == 0) {
      return;
    }
    if (!pending) {
      pending = true;
      firstArrivalNanos = nowNanos;
    }
    rows += batchRows;
    bytes += batchBytes;
  }

  /**
   * Counts a move of positions without rows to write (a dead-lettered or empty batch, a forgotten
   * stream) at {@code nowNanos}: something is pending, so the next flush must record it, and the
   * time limit runs from here if nothing was pending. Rows and bytes limits are reached only by
   * later batches; the end of the source, a source failure and a stop flush it in any case.
   */
  void moved(long nowNanos) {
    if (!pending) {
      pending = true;
      firstArrivalNanos = nowNanos;
    }
  }

  /** Whether rows or moved positions are waiting to be committed. */
  boolean hasPending() {
    return pending;
  }

  /** Whether the policy says to flush now. */
  boolean isDue(long nowNanos) {
    return pending
        && (rows >= maxRows || bytes >= maxBytes || nowNanos - firstArrivalNanos >= maxIntervalNanos);
  }

  /** How long until the time limit makes a flush due: 0 if due, {@code Long.MAX_VALUE} if never. */
  long nanosUntilDue(long nowNanos) {
    if (!pending) {
      return Long.MAX_VALUE;
    }
    if (isDue(nowNanos)) {
      return 0;
    }
    if (maxIntervalNanos == Long.MAX_VALUE) {
      return Long.MAX_VALUE;
    }
    return maxIntervalNanos - (nowNanos - firstArrivalNanos);
  }

  /** Forgets what arrived, after a flush. */
  void reset() {
    rows = 0;
    bytes = 0;
    pending = false;
  }
}
