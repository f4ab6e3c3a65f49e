package io.crest.internal;

import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The hand-off between a source's readers and the writer thread, bounded in bytes.
 *
 * <p>A batch's bytes count from {@link #offer} until the writer calls {@link #release} after
 * writing it, so the budget covers the batch being written too. The bytes of written batches that
 * the sink writer still holds (its {@link SinkWriter#heldBytes()}, for example on encoder threads
 * of its own) count as well, until the sink lets go of them; while a batch is being written it
 * may be counted twice, which errs on the safe side. A batch larger than the whole budget is
 * accepted when nothing else is counted or held, so an oversized batch slows the source down
 * instead of blocking it forever. Control items (not batches) bypass the budget and keep their
 * order relative to batches. Thread-safe.
 */
final class BatchQueue {
  private static final long HELD_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private final Condition notEmpty = lock.newCondition();
  private final ArrayDeque<Object> items = new ArrayDeque<>();
  private final long limitBytes;
  private long countedBytes;
  private LongSupplier heldBytes = () -> 0;
  private boolean closed;

  BatchQueue(long limitBytes) {
    this.limitBytes = limitBytes;
  }

  /**
   * Counts the bytes {@code writer} still holds of written batches against the budget, and wakes
   * the waiting producers when it lets go of some. Called before the first {@link #offer}.
   */
  void countHeldBytesOf(SinkWriter writer) {
    countHeldBytes(writer::heldBytes);
    writer.onHeldBytesReleased(this::heldBytesReleased);
  }

  /**
   * Counts {@code held} (bytes of written batches still referenced elsewhere; thread-safe and
   * cheap) against the budget; {@link #heldBytesReleased} must be called after it went down.
   */
  void countHeldBytes(LongSupplier held) {
    lock.lock();
    try {
      this.heldBytes = held;
    } finally {
      lock.unlock();
    }
  }

  /** Wakes the producers that wait for room, after the held bytes went down. Any thread. */
  void heldBytesReleased() {
    lock.lock();
    try {
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Adds a batch, waiting while the budget is exhausted. Takes ownership of the batch in every
   * case: a batch that is not accepted is closed here.
   *
   * @return whether the batch was accepted; {@code false} once the queue is closed to producers
   */
  boolean offer(SourceBatch batch) throws InterruptedException {
    long size = batch.sizeInBytes();
    boolean accepted = false;
    try {
      lock.lockInterruptibly();
      try {
        while (!closed) {
          long held = Math.max(0, heldBytes.getAsLong());
          long used = countedBytes + held;
          if (used == 0 || used + size <= limitBytes) {
            break;
          }
          if (held > 0) {
            // Woken by heldBytesReleased; the bounded wait only guards against a sink writer
            // that forgets to run its listener, so such a writer slows the source, never hangs it.
            notFull.awaitNanos(HELD_RECHECK_NANOS);
          } else {
            notFull.await();
          }
        }
        if (!closed) {
          items.addLast(batch);
          countedBytes += size;
          notEmpty.signal();
          accepted = true;
        }
      } finally {
        lock.unlock();
      }
    } finally {
      if (!accepted) {
        batch.close();
      }
    }
    return accepted;
  }

  /** Adds a control item after every item already queued, ignoring the budget and closing. */
  void putControl(Object control) {
    lock.lock();
    try {
      items.addLast(control);
      notEmpty.signal();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Takes the next item, waiting up to {@code timeoutNanos}.
   *
   * @return the item, or {@code null} if the time passed first
   */
  Object poll(long timeoutNanos) throws InterruptedException {
    lock.lockInterruptibly();
    try {
      long nanos = timeoutNanos;
      while (items.isEmpty()) {
        if (nanos <= 0) {
          return null;
        }
        nanos = notEmpty.awaitNanos(Math.min(nanos, TimeUnit.DAYS.toNanos(1)));
      }
      return items.pollFirst();
    } finally {
      lock.unlock();
    }
  }

  /** Returns {@code bytes} of a written batch to the budget. */
  void release(long bytes) {
    lock.lock();
    try {
      countedBytes -= bytes;
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Rejects every later {@link #offer} and wakes the producers that wait. */
  void closeToProducers() {
    lock.lock();
    try {
      closed = true;
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Whether {@link #closeToProducers} was called. */
  boolean isClosedToProducers() {
    lock.lock();
    try {
      return closed;
    } finally {
      lock.unlock();
    }
  }

  /** Closes every batch still queued and drops the control items. */
  void discardRemaining() {
    List<SourceBatch> batches = new ArrayList<>();
    lock.lock();
    try {
      for (Object item : items) {
        if (item instanceof SourceBatch) {
          batches.add((SourceBatch) item);
          countedBytes -= ((SourceBatch) item).sizeInBytes();
        }
      }
      items.clear();
      notFull.signalAll();
    } finally {
      lock.unlock();
    }
    batches.forEach(SourceBatch::close);
  }

  /**
   * The bytes counted now: queued batches, the one being written and those the sink writer still
   * holds.
   */
  long countedBytes() {
    lock.lock();
    try {
      return countedBytes + Math.max(0, heldBytes.getAsLong());
    } finally {
      lock.unlock();
    }
  }
}
