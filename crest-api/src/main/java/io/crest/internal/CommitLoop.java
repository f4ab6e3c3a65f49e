package io.crest.internal;

import io.crest.CommitEvent;
import io.crest.errors.CommitFailedException;
import io.crest.internal.QueueItems.Control;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.SinkWriter;
import io.crest.spi.Source;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.function.LongSupplier;

/**
 * The committer thread's work: commits the writer's committables one at a time, in order, and
 * tells the source and the listeners. Commits are cumulative (each records every stream's
 * position), so once one fails, every later one is aborted and the pipeline fails. Runs on one
 * thread; ends at {@link Control#END}.
 */
final class CommitLoop implements Runnable {
  private final String id;
  private final String sinkName;
  private final Source source;
  private final SinkWriter sinkWriter;
  private final BlockingQueue<Object> commitQueue;
  private final Status status;
  private final Counters counters;
  private final Listeners listeners;
  private final LongSupplier nanoClock;
  private boolean sourceToldOfFailure;

  CommitLoop(String id, String sinkName, Source source, SinkWriter sinkWriter,
      BlockingQueue<Object> commitQueue, Status status, Counters counters, Listeners listeners,
      LongSupplier nanoClock) {
    this.id = id;
    this.sinkName = sinkName;
    this.source = source;
    this.sinkWriter = sinkWriter;
    this.commitQueue = commitQueue;
    this.status = status;
    this.counters = counters;
    this.listeners = listeners;
    this.nanoClock = nanoClock;
  }

  @Override
  public void run() {
    long lastEnd = nanoClock.getAsLong();
    boolean broken = false;
    while (true) {
      Object item = takeUninterruptibly();
      if (item == Control.END || item == Control.FAILED) {
        // Everything the writer prepared before its failure has been committed or refused.
        if (status.failed()) {
          tellSourceFailed();
        }
        if (item == Control.END) {
          return;
        }
        continue;
      }
      if (item == Control.IDLE) {
        status.idle();
        continue;
      }
      Committable committable = (Committable) item;
      if (broken) {
        abortQuietly(committable);
        continue;
      }
      long start = nanoClock.getAsLong();
      CommitResult result = null;
      try {
        result = sinkWriter.commit(committable);
      } catch (CommitFailedException e) {
        broken = true;
        abortQuietly(committable);
        status.fail(e);
      } catch (RuntimeException | Error e) {
        // Outcome unknown or unexpected: keep the files, they may be part of the table now.
        broken = true;
        status.fail(e);
      }
      if (broken) {
        tellSourceFailed();
        continue;
      }
      long end = nanoClock.getAsLong();
      counters.rowsCommitted.addAndGet(committable.rowCount());
      counters.filesCommitted.addAndGet(committable.fileCount());
      counters.bytesCommitted.addAndGet(committable.byteCount());
      counters.commits.incrementAndGet();
      counters.commitConflicts.addAndGet(result.conflicts());
      counters.commitRetries.addAndGet(result.retries());
      counters.lastCommitNanos.set(end - start);
      CommitEvent event = new CommitEvent(id, sinkName, committable.commitId(),
          result.reference(), committable.rowCount(), committable.fileCount(),
          committable.byteCount(), Duration.ofNanos(end - start), Duration.ofNanos(end - lastEnd),
          committable.positions(), result.conflicts(), result.retries());
      lastEnd = end;
      try {
        source.committed(committable.positions());
      } catch (RuntimeException e) {
        listeners.secondary("source-hook", "tell the source " + source.name() + " about a commit",
            e);
      }
      listeners.commit(event);
    }
  }

  /** Tells the source, once, that nothing more will be committed in this run. */
  private void tellSourceFailed() {
    if (sourceToldOfFailure) {
      return;
    }
    sourceToldOfFailure = true;
    try {
      source.pipelineFailed(status.failure());
    } catch (RuntimeException e) {
      listeners.secondary("source-hook", "tell the source " + source.name() + " about the failure",
          e);
    }
  }

  private void abortQuietly(Committable committable) {
    try {
      sinkWriter.abort(committable);
    } catch (RuntimeException e) {
      listeners.secondary("cleanup", "abort commit " + committable.commitId(), e);
    }
  }

  private Object takeUninterruptibly() {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return commitQueue.take();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
