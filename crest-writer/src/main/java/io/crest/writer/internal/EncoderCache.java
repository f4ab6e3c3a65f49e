package io.crest.writer.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Idle {@link Encoders} of finished Parquet writers, kept for the next writer of the same schema
 * and settings, up to a budget of retained heap bytes. A writer takes the largest idle fit (its
 * buffers grew the most, so it grows least again); when the budget is exceeded, the longest idle
 * are dropped (after a schema change, the old schema's first). Thread-safe.
 */
public final class EncoderCache implements AutoCloseable {
  private final long budgetBytes;
  private final List<Encoders> idle = new ArrayList<>();
  // retained bytes of idle.get(i), measured when it was given back
  private final List<Long> idleSizes = new ArrayList<>();
  private long idleBytes;
  private boolean closed;
  private long reused;
  private long built;

  /** A cache that keeps up to {@code budgetBytes} of idle encoders' buffers. */
  public EncoderCache(long budgetBytes) {
    if (budgetBytes < 0) {
      throw new IllegalArgumentException("Cannot keep " + budgetBytes + " bytes of encoders");
    }
    this.budgetBytes = budgetBytes;
  }

  /** An idle fit for {@code schema} and {@code settings}, or new encoders. */
  Encoders take(Schema schema, Settings settings) {
    synchronized (this) {
      int best = -1;
      long bestBytes = -1;
      for (int i = 0; i < idle.size(); i++) {
        if (idle.get(i).fits(schema, settings) && idleSizes.get(i) > bestBytes) {
          best = i;
          bestBytes = idleSizes.get(i);
        }
      }
      if (best >= 0) {
        idleBytes -= bestBytes;
        idleSizes.remove(best);
        reused++;
        return idle.remove(best);
      }
      built++;
    }
    return new Encoders(schema, settings, true);
  }

  /** Keeps {@code e}, which a writer finished cleanly with, or closes it. */
  void give(Encoders e) {
    e.unbind();
    long bytes = e.retainedBytes();
    List<Encoders> dropped = new ArrayList<>();
    synchronized (this) {
      if (closed || bytes > budgetBytes) {
        dropped.add(e);
      } else {
        idle.add(e);
        idleSizes.add(bytes);
        idleBytes += bytes;
        while (idleBytes > budgetBytes) {
          // the longest idle first: encoders of a schema or settings no writer uses any more
          dropped.add(idle.remove(0));
          idleBytes -= idleSizes.remove(0);
        }
      }
    }
    dropped.forEach(Encoders::close);
  }

  /** Heap bytes held by idle encoders now (their buffers and arrays; an estimate). */
  public synchronized long idleBytes() {
    return idleBytes;
  }

  /** How many writers took idle encoders. */
  public synchronized long reusedCount() {
    return reused;
  }

  /** How many writers built encoders of their own (none fitted). */
  public synchronized long builtCount() {
    return built;
  }

  /** Drops the idle encoders; writers still open give theirs back to nobody. */
  @Override
  public void close() {
    List<Encoders> dropped;
    synchronized (this) {
      closed = true;
      dropped = new ArrayList<>(idle);
      idle.clear();
      idleSizes.clear();
      idleBytes = 0;
    }
    dropped.forEach(Encoders::close);
  }
}
