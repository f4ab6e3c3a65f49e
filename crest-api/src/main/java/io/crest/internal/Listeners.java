package io.crest.internal;

import io.crest.BatchEvent;
import io.crest.CommitEvent;
import io.crest.DeadLetterEvent;
import io.crest.PipelineListener;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pipeline's listeners, called so that one that throws cannot fail or corrupt anything: its
 * exception is logged, counted as an error and reported to the listeners' {@code onError}.
 * Thread-safe.
 */
final class Listeners {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  private final String id;
  private final List<PipelineListener> listeners;
  private final AtomicLong errors = new AtomicLong();

  Listeners(String id, List<PipelineListener> listeners) {
    this.id = id;
    this.listeners = List.copyOf(listeners);
  }

  boolean isEmpty() {
    return listeners.isEmpty();
  }

  /** The failures counted so far: fatal ones and the ones that did not stop the pipeline. */
  long errors() {
    return errors.get();
  }

  void countError() {
    errors.incrementAndGet();
  }

  void batch(BatchEvent event) {
    each("a batch", l -> l.onBatch(event));
  }

  void deadLetter(DeadLetterEvent event) {
    each("a dead letter", l -> l.onDeadLetter(event));
  }

  void commit(CommitEvent event) {
    each("a commit", l -> l.onCommit(event));
  }

  /** Tells every listener of the pipeline's failure; a listener that throws is only logged. */
  void failure(Throwable error) {
    for (PipelineListener listener : listeners) {
      try {
        listener.onFailure(error);
      } catch (RuntimeException e) {
        LOG.warn("Listener " + listener + " failed on a failure", e);
      }
    }
  }

  /**
   * Records a failure that does not stop the pipeline ({@code kind}: listener, source-hook,
   * cleanup): logged, counted, and passed to every listener's {@code onError}.
   */
  void secondary(String kind, String what, RuntimeException e) {
    errors.incrementAndGet();
    LOG.warn("Pipeline " + id + " could not " + what, e);
    for (PipelineListener listener : listeners) {
      try {
        listener.onError(kind, e);
      } catch (RuntimeException le) {
        LOG.warn("Listener " + listener + " failed on an error", le);
      }
    }
  }

  private void each(String what, Consumer<PipelineListener> call) {
    for (PipelineListener listener : listeners) {
      try {
        call.accept(listener);
      } catch (RuntimeException e) {
        secondary("listener", "notify listener " + listener + " of " + what, e);
      }
    }
  }
}
