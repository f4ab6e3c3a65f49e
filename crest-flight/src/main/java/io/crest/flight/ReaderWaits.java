package io.crest.flight;

import io.crest.spi.SourceContext;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The pause between a reader's attempts or polls, shared by {@link StreamReader} and {@link
 * SqlQueryReader}: a wait on the reader's lock that its stop wakes. Stateless.
 */
final class ReaderWaits {
  private ReaderWaits() {}

  /**
   * Waits on {@code lock} for {@code delay}, or until {@code stopping} (read under the lock)
   * holds, or the pipeline is stopping.
   *
   * @return whether the reader should go on: false when it was stopped or interrupted (the
   *     interrupt is kept)
   */
  static boolean pause(Object lock, Duration delay, BooleanSupplier stopping,
      SourceContext context) {
    long deadline = System.nanoTime() + delay.toNanos();
    synchronized (lock) {
      while (!stopping.getAsBoolean()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          break;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return !stopRequested(lock, stopping, context);
  }

  /** Whether the reader ({@code stopping}, read under {@code lock}) or the pipeline stops. */
  static boolean stopRequested(Object lock, BooleanSupplier stopping, SourceContext context) {
    synchronized (lock) {
      if (stopping.getAsBoolean()) {
        return true;
      }
    }
    return context.isStopping();
  }
}
