package io.crest.internal;

import io.crest.BatchEvent;
import io.crest.BatchPolicy;
import io.crest.DeadLetterEvent;
import io.crest.errors.ValidationException;
import io.crest.internal.QueueItems.Control;
import io.crest.internal.QueueItems.Forget;
import io.crest.internal.QueueItems.SourceFailed;
import io.crest.spi.Committable;
import io.crest.spi.SinkWriter;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writer thread's work: takes batches and control items from the hand-off in order, writes
 * each batch into the sink (or its dead-letter file), keeps every stream's position, and prepares
 * a committable for the committer whenever the batch policy says so. Runs on one thread; ends at
 * {@link Control#STOP} or a failure, and always hands the committer {@link Control#END} last.
 */
final class WriteLoop implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  private final String id;
  private final String sinkName;
  private final Source source;
  private final SinkWriter sinkWriter;
  private final BatchQueue queue;
  private final BlockingQueue<Object> commitQueue;
  private final DeadLetterWriter deadLetters;
  private final Status status;
  private final Counters counters;
  private final Listeners listeners;
  private final LongSupplier nanoClock;
  private final FlushTrigger trigger;
  private final Map<String, SourcePosition> positions;

  /**
   * @param deadLetters where rejected batches go, {@code null} to fail the pipeline instead
   * @param positions every stream's position as restored; the loop owns it from now on
   */
  WriteLoop(String id, String sinkName, Source source, SinkWriter sinkWriter, BatchQueue queue,
      BlockingQueue<Object> commitQueue, DeadLetterWriter deadLetters, BatchPolicy policy,
      Status status, Counters counters, Listeners listeners, LongSupplier nanoClock,
      Map<String, SourcePosition> positions) {
    this.id = id;
    this.sinkName = sinkName;
    this.source = source;
    this.sinkWriter = sinkWriter;
    this.queue = queue;
    this.commitQueue = commitQueue;
    this.deadLetters = deadLetters;
    this.status = status;
    this.counters = counters;
    this.listeners = listeners;
    this.nanoClock = nanoClock;
    this.trigger = new FlushTrigger(policy);
    this.positions = new TreeMap<>(positions);
  }

  @Override
  public void run() {
    try {
      while (true) {
        Object item = queue.poll(trigger.nanosUntilDue(nanoClock.getAsLong()));
        if (item instanceof SourceBatch) {
          take((SourceBatch) item);
          flushIfDue();
        } else if (item instanceof Forget) {
          boolean moved = false;
          for (String stream : ((Forget) item).streams()) {
            moved |= positions.remove(stream) != null;
          }
          if (moved) {
            trigger.moved(nanoClock.getAsLong());
          }
          flushIfDue();
        } else if (item == null) {
          flushIfDue();
        } else if (item == Control.SOURCE_COMPLETE) {
          flush();
          commitQueue.put(Control.IDLE);
        } else if (item instanceof SourceFailed) {
          flush();
          status.fail(((SourceFailed) item).error());
          commitQueue.put(Control.FAILED);
        } else if (item == Control.STOP) {
          flush();
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      status.fail(
          new IllegalStateException("Writer thread of pipeline " + id + " was interrupted", e));
    } catch (RuntimeException | Error e) {
      status.fail(e);
    } finally {
      putUninterruptibly(Control.END);
    }
  }

  /** Writes one batch (or dead-letters it), moves its stream's position, releases the batch. */
  private void take(SourceBatch batch) {
    long size = batch.sizeInBytes();
    try {
      if (status.failed()) {
        return; // the pipeline is going down: the batch is not written, only released
      }
      boolean written = batch.rowCount() == 0 || writeOrDeadLetter(batch);
      SourcePosition before = positions.put(batch.stream(), batch.positionAfter());
      counters.batchesIn.incrementAndGet();
      counters.bytesIn.addAndGet(size);
      long now = nanoClock.getAsLong();
      if (!written) {
        // Dead-lettered: no rows to commit, but the moved position must be, or a restart
        // reads the batch again. Its rows count towards the policy like written ones.
        trigger.add(batch.rowCount(), size, now);
      } else if (batch.rowCount() == 0) {
        if (!batch.positionAfter().equals(before)) {
          trigger.moved(now);
        }
      } else {
        counters.rowsIn.addAndGet(batch.rowCount());
        trigger.add(batch.rowCount(), size, now);
        if (!listeners.isEmpty()) {
          listeners.batch(new BatchEvent(
              id, batch.stream(), batch.rowCount(), size, batch.positionAfter(), now));
        }
      }
    } finally {
      batch.close();
      queue.release(size);
    }
  }

  /**
   * Writes the batch; returns {@code false} if the sink rejected it and it went to the dead-letter
   * directory instead. A rejection without a dead-letter directory fails the pipeline with an
   * error that names the stream and position too.
   */
  private boolean writeOrDeadLetter(SourceBatch batch) {
    try {
      sinkWriter.write(batch);
      return true;
    } catch (ValidationException e) {
      String where = "stream " + batch.stream() + ", " + batch.rowCount()
          + " rows up to position " + batch.positionAfter();
      if (deadLetters == null) {
        throw new ValidationException(e.getMessage() + " [" + where + "]", e);
      }
      Path file = deadLetters.write(batch, e.getMessage());
      counters.deadLettered.incrementAndGet();
      LOG.warn("Pipeline {}: {} rejected by {}, written to {}: {}",
          id, where, sinkName, file, e.getMessage());
      DeadLetterEvent event = new DeadLetterEvent(
          id, batch.stream(), batch.positionAfter(), batch.rowCount(), file, e.getMessage());
      try {
        source.deadLettered(event);
      } catch (RuntimeException se) {
        listeners.secondary("source-hook", "tell the source " + source.name() + " about a dead"
            + " letter", se);
      }
      listeners.deadLetter(event);
      return false;
    }
  }

  private void flushIfDue() throws InterruptedException {
    if (trigger.isDue(nanoClock.getAsLong())) {
      flush();
    }
  }

  private void flush() throws InterruptedException {
    if (!trigger.hasPending() || status.failed()) {
      return;
    }
    Committable committable =
        sinkWriter.prepareCommit(Collections.unmodifiableMap(new TreeMap<>(positions)));
    trigger.reset();
    if (committable != null) {
      commitQueue.put(committable);
    }
  }

  private void putUninterruptibly(Object item) {
    boolean interrupted = false;
    while (true) {
      try {
        commitQueue.put(item);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
