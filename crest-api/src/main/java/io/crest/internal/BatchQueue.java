package io.crest.internal;

import io.crest.spi.SourceBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The hand-off between a source's readers and the writer thread, bounded in bytes.
 *
 * <p>A batch's bytes count from {@link #offer} until the writer calls {@link #release} after
 * writing it, so the budget covers the batch being written too. A batch larger than the whole
 * budget is accepted when nothing else is counted, so an oversized batch slows the source down
 * instead of blocking it forever. Control items (not batches) bypass the budget and keep their
 * order relative to batches. Thread-safe.
 */
final class BatchQueue {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private final Condition notEmpty = lock.newCondition();
  private final ArrayDeque<Object> items = new ArrayDeque<>();
  private final long limitBytes;
  private long countedBytes;
  private boolean closed;

  BatchQueue(long limitBytes) {
    this.limitBytes = limitBytes;
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
        while (!closed && countedBytes > 0 && countedBytes + size > limitBytes) {
          notFull.await();
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

  /** The bytes counted now: queued batches plus the one being written. */
  long countedBytes() {
    lock.lock();
    try {
      return countedBytes;
    } finally {
      lock.unlock();
    }
  }
}
