package io.crest.internal;

import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one pipeline is in its life, shared by its threads: the state, the fatal failure (the
 * first one wins), whether it is idle, whether a shutdown began or ended. Thread-safe: every
 * field is guarded by this object's monitor, which {@link #awaitIdle} waits on.
 */
final class Status {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  private final String id;
  private final Listeners listeners;
  private final Runnable onFirstFailure;
  private Pipeline.State state = Pipeline.State.NEW;
  private Throwable failure;
  private boolean idle;
  private boolean shutDown;
  private boolean stopRequested;

  /**
   * @param onFirstFailure run once, outside the monitor, when the first failure is recorded
   */
  Status(String id, Listeners listeners, Runnable onFirstFailure) {
    this.id = id;
    this.listeners = listeners;
    this.onFirstFailure = onFirstFailure;
  }

  /**
   * Moves a new pipeline to running.
   *
   * @throws IllegalStateException if it was started before
   */
  synchronized void start() {
    if (state != Pipeline.State.NEW) {
      throw new IllegalStateException(
          "Cannot start pipeline " + id + ": it is " + state + ", a pipeline starts once");
    }
    state = Pipeline.State.RUNNING;
  }

  /** Stops a pipeline that was never started; returns whether it was such a pipeline. */
  synchronized boolean stopUnstarted() {
    if (state != Pipeline.State.NEW) {
      return false;
    }
    state = Pipeline.State.STOPPED;
    shutDown = true;
    notifyAll();
    return true;
  }

  synchronized Pipeline.State state() {
    return state;
  }

  synchronized Throwable failure() {
    return failure;
  }

  synchronized boolean failed() {
    return failure != null;
  }

  /** Throws the pipeline's failure, if it has one, as a {@link PipelineFailedException}. */
  synchronized void throwIfFailed() {
    if (failure != null) {
      throw new PipelineFailedException(id, failure);
    }
  }

  /** Records that everything the source delivered is committed. */
  synchronized void idle() {
    idle = true;
    notifyAll();
  }

  /**
   * Marks that a shutdown was requested; returns {@code false} if one was requested or ended
   * before.
   */
  synchronized boolean requestStop() {
    if (stopRequested || shutDown) {
      return false;
    }
    stopRequested = true;
    return true;
  }

  /** Marks a shutdown as begun; returns {@code false} if one already ended. */
  synchronized boolean beginShutdown() {
    if (shutDown) {
      return false;
    }
    stopRequested = true;
    return true;
  }

  /** Records the end of the shutdown: stopped, or failed if there is a failure. */
  synchronized void shutDown() {
    shutDown = true;
    state = failure == null ? Pipeline.State.STOPPED : Pipeline.State.FAILED;
    notifyAll();
  }

  /**
   * Waits until the pipeline is idle, failed or shut down, or {@code timeoutNanos} passed.
   *
   * @return whether it became idle
   * @throws PipelineFailedException if it failed
   */
  synchronized boolean awaitIdle(long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    while (!idle && failure == null && !shutDown) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    throwIfFailed();
    return idle;
  }

  /**
   * Records the pipeline's fatal failure: the first one wins, later ones are added to it as
   * suppressed. The first runs {@code onFirstFailure} and tells the listeners.
   */
  void fail(Throwable error) {
    listeners.countError();
    synchronized (this) {
      if (failure != null) {
        if (failure != error) {
          failure.addSuppressed(error);
        }
        return;
      }
      failure = error;
      notifyAll();
    }
    LOG.error("Pipeline " + id + " failed", error);
    onFirstFailure.run();
    listeners.failure(error);
  }
}
