package io.crest.ingestor;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Asks a running {@link Ingestor} to stop gracefully, and tells when it has: the shutdown hook of
 * {@link Ingestor#main} requests a stop on SIGTERM and waits until {@link Ingestor#run} finished
 * draining. Tests use it the same way. Thread-safe; one signal serves one run.
 */
public final class StopSignal {
  private final CountDownLatch requested = new CountDownLatch(1);
  private final CountDownLatch finished = new CountDownLatch(1);

  /** Asks the run to stop: stop reading, write and commit what was received, then return. */
  public void request() {
    requested.countDown();
  }

  /** Whether a stop was requested. */
  public boolean isRequested() {
    return requested.getCount() == 0;
  }

  /** Waits up to {@code timeout} for a stop request; returns whether one came. */
  boolean awaitRequest(Duration timeout) throws InterruptedException {
    return requested.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Marks the run (or check) as finished; called by the ingestor when it returns. */
  void finish() {
    finished.countDown();
  }

  /** Whether the run finished. */
  public boolean isFinished() {
    return finished.getCount() == 0;
  }

  /**
   * Waits up to {@code timeout} for the run to finish; returns whether it did.
   *
   * @throws InterruptedException if the waiting thread was interrupted
   */
  public boolean awaitFinished(Duration timeout) throws InterruptedException {
    return finished.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }
}
