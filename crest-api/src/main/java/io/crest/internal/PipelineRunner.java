package io.crest.internal;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.errors.ValidationException;
import io.crest.internal.QueueItems.Control;
import io.crest.internal.QueueItems.Forget;
import io.crest.internal.QueueItems.SourceFailed;
import io.crest.spi.CommittedState;
import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind {@link Pipeline}: source readers hand batches to a byte-bounded queue; one
 * writer thread ({@link WriteLoop}) writes them into the sink's open files and prepares a
 * committable when the batch policy says so; one committer thread ({@link CommitLoop}) commits
 * committables in order, so a commit overlaps the writing of the next batches. A committer that
 * falls behind blocks the writer, whose queue then fills and blocks the readers (back-pressure).
 * This class starts and stops them and answers for the pipeline; {@link Status} holds where it is
 * in its life, {@link Listeners} calls the listeners.
 *
 * <p>Commits are cumulative: each records every stream's position after it. So once one commit
 * fails, no later one may be committed (its positions would cover the lost rows); later ones are
 * aborted and the pipeline fails.
 */
public final class PipelineRunner implements Pipeline {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  private final String id;
  private final Source source;
  private final Sink sink;
  private final BatchPolicy policy;
  private final DataSize bufferLimit;
  private final LongSupplier nanoClock;
  private final DeadLetterWriter deadLetters;
  private final Listeners listeners;
  private final Counters counters = new Counters();
  private final Status status;

  private final Object shutdownLock = new Object();
  // Counted down when start() returns or throws: a stop requested from a callback waits for it,
  // so the source is never closed while it is still being started.
  private final CountDownLatch startDone = new CountDownLatch(1);

  private final BatchQueue queue;
  private final BlockingQueue<Object> commitQueue = new ArrayBlockingQueue<>(1);
  private volatile SinkWriter sinkWriter;
  // Set once by start(), before the threads start.
  private volatile Thread writerThread;
  private volatile Thread committerThread;
  // Marks the source's threads that emitted: a stop() from one of them must not wait for the
  // source's close, which joins it.
  private final ThreadLocal<Boolean> sourceThread = ThreadLocal.withInitial(() -> false);

  /** Builds a pipeline; use {@link Pipeline#from} instead. */
  public PipelineRunner(
      String id,
      Source source,
      Sink sink,
      BatchPolicy policy,
      DataSize bufferLimit,
      List<PipelineListener> listeners,
      Path deadLetterDirectory) {
    this(id, source, sink, policy, bufferLimit, listeners, deadLetterDirectory, System::nanoTime);
  }

  PipelineRunner(
      String id,
      Source source,
      Sink sink,
      BatchPolicy policy,
      DataSize bufferLimit,
      List<PipelineListener> listeners,
      Path deadLetterDirectory,
      LongSupplier nanoClock) {
    this.id = Objects.requireNonNull(id, "id");
    this.source = Objects.requireNonNull(source, "source");
    this.sink = Objects.requireNonNull(sink, "sink");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.bufferLimit = Objects.requireNonNull(bufferLimit, "bufferLimit");
    this.listeners = new Listeners(id, listeners);
    this.nanoClock = nanoClock;
    this.queue = new BatchQueue(bufferLimit.toBytes());
    this.status = new Status(id, this.listeners, queue::closeToProducers);
    this.deadLetters =
        deadLetterDirectory == null ? null : new DeadLetterWriter(deadLetterDirectory, id, sink.name());
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void start() {
    status.start();
    try {
      Optional<String> instance = source.instanceId();
      SinkContext context = SinkContext.of(id, source.name());
      SinkWriter writer = sink.open(instance.map(context::withSourceInstance).orElse(context));
      sinkWriter = writer;
      queue.countHeldBytesOf(writer);
      CommittedState restored = writer.restoredState();
      checkSourceInstance(restored, instance);
      LOG.info("Pipeline {}: {} -> {}, resuming from {}, batch {}, buffer {}",
          id, source.name(), sink.name(), restored, policy, bufferLimit);
      writerThread = new Thread(new WriteLoop(id, sink.name(), source, writer, queue, commitQueue,
          deadLetters, policy, status, counters, listeners, nanoClock, restored.positions()),
          "crest-" + id + "-writer");
      committerThread = new Thread(new CommitLoop(id, sink.name(), source, writer, commitQueue,
          status, counters, listeners, nanoClock), "crest-" + id + "-committer");
      writerThread.start();
      committerThread.start();
      source.start(new Context(Collections.unmodifiableMap(new TreeMap<>(restored.positions()))));
    } catch (RuntimeException | Error e) {
      status.fail(e);
      shutdown();
      throw e;
    } finally {
      startDone.countDown();
    }
  }

  /**
   * Refuses to apply positions recorded against other data: a source whose instance id changed
   * was reset, and its old positions would skip or misplace rows of the new data.
   */
  private void checkSourceInstance(CommittedState restored, Optional<String> instance) {
    Optional<String> recorded = restored.sourceInstance();
    if (recorded.isPresent() && instance.isPresent() && !recorded.equals(instance)) {
      throw new ValidationException(
          "Cannot resume pipeline " + id + " from " + sink.name() + ": the source " + source.name()
              + " was reset (its instance id is " + instance.get() + ", the last commit "
              + restored.commitId().orElse("?") + " recorded positions under " + recorded.get()
              + "; start a new pipeline id to ingest the new data from its beginning)");
    }
    if (recorded.isPresent() && instance.isEmpty()) {
      LOG.warn("Pipeline {}: the last commit recorded source instance {} but the "
          + "source reports none now; resuming without the check", id, recorded.get());
    }
  }

  @Override
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    Objects.requireNonNull(timeout, "timeout");
    String own = ownThread();
    if (own != null) {
      throw new IllegalStateException(
          "Cannot await pipeline " + id + ": called on its own " + own + " thread (from a"
              + " listener or source hook), which must return before the pipeline can become"
              + " idle (await on another thread; to end the pipeline from a callback call stop(),"
              + " which returns at once)");
    }
    if (writerThread == null) {
      throw new IllegalStateException("Cannot await pipeline " + id + ": it was not started");
    }
    return status.awaitIdle(timeout.toNanos());
  }

  @Override
  public void stop() {
    if (status.stopUnstarted()) {
      closeSource();
      return;
    }
    if (ownThread() != null) {
      requestStop();
      return;
    }
    shutdown();
    status.throwIfFailed();
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public PipelineStats stats() {
    return counters.snapshot(listeners.errors(), queue.countedBytes());
  }

  @Override
  public State state() {
    return status.state();
  }

  @Override
  public Optional<Throwable> failure() {
    return Optional.ofNullable(status.failure());
  }

  @Override
  public String toString() {
    return "Pipeline[" + id + ": " + source.name() + " -> " + sink.name() + "]";
  }

  /**
   * The name of the pipeline thread the caller runs on ({@code writer} or {@code committer}, where
   * listeners and source hooks are called, or {@code source reader} for a thread of the source
   * that emitted batches), or {@code null} on any other thread.
   */
  private String ownThread() {
    Thread current = Thread.currentThread();
    if (current == writerThread) {
      return "writer";
    }
    if (current == committerThread) {
      return "committer";
    }
    return sourceThread.get() ? "source reader" : null;
  }

  /**
   * Starts the orderly {@link #shutdown} on a short-lived thread of its own and returns: called
   * on the writer or committer thread (from a listener or source hook), which the shutdown joins.
   * The stop takes effect once the callback returns.
   */
  private void requestStop() {
    if (!status.requestStop()) {
      return;
    }
    Thread stopper = new Thread(() -> {
      boolean interrupted = false;
      while (true) {
        try {
          startDone.await(); // never close the source while start() is still starting it
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      shutdown();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }, "crest-" + id + "-stopper");
    stopper.start();
  }

  /**
   * Stops everything once, in the order that keeps every buffer with one owner: close the queue
   * to readers, let the writer drain and flush, let the committer finish, discard what is left,
   * close the sink writer (which may still hold references to buffers of batches it was given,
   * e.g. on encoder threads of its own, when the writer stopped without a flush), then the source
   * (its readers are done emitting), whose allocator those buffers came from.
   */
  private void shutdown() {
    synchronized (shutdownLock) {
      if (!status.beginShutdown()) {
        return;
      }
      queue.closeToProducers();
      queue.putControl(Control.STOP);
      joinQuietly(writerThread);
      joinQuietly(committerThread);
      queue.discardRemaining();
      SinkWriter writer = sinkWriter;
      if (writer != null) {
        try {
          writer.close();
        } catch (RuntimeException e) {
          listeners.secondary("cleanup", "close the sink writer", e);
        }
      }
      closeSource();
      status.shutDown();
      LOG.info("Pipeline {} stopped: {}", id, stats());
    }
  }

  private void closeSource() {
    try {
      source.close();
    } catch (RuntimeException e) {
      listeners.secondary("cleanup", "close the source " + source.name(), e);
    }
  }

  private static void joinQuietly(Thread thread) {
    if (thread == null) {
      return;
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** The view of the pipeline that the source's readers get. */
  private final class Context implements SourceContext {
    private final Map<String, SourcePosition> resumePositions;

    Context(Map<String, SourcePosition> resumePositions) {
      this.resumePositions = resumePositions;
    }

    @Override
    public String pipelineId() {
      return id;
    }

    @Override
    public Map<String, SourcePosition> resumePositions() {
      return resumePositions;
    }

    @Override
    public Map<String, CommittedState> committedStates(String pipelineIdPrefix) {
      Objects.requireNonNull(pipelineIdPrefix, "pipelineIdPrefix");
      return sinkWriter.committedStates(pipelineIdPrefix);
    }

    @Override
    public boolean emit(SourceBatch batch) throws InterruptedException {
      Objects.requireNonNull(batch, "batch");
      if (!sourceThread.get()) {
        sourceThread.set(true);
      }
      return queue.offer(batch);
    }

    @Override
    public void forget(java.util.Collection<String> streams) {
      List<String> copy = List.copyOf(streams); // rejects null ids
      if (!copy.isEmpty()) {
        queue.putControl(new Forget(copy));
      }
    }

    @Override
    public void complete() {
      queue.putControl(Control.SOURCE_COMPLETE);
    }

    @Override
    public void fail(Throwable error) {
      Objects.requireNonNull(error, "error");
      queue.putControl(new SourceFailed(error));
    }

    @Override
    public void checkSchema(org.apache.arrow.vector.types.pojo.Schema schema) {
      Objects.requireNonNull(schema, "schema");
      sinkWriter.checkSchema(schema);
    }

    @Override
    public boolean isStopping() {
      return queue.isClosedToProducers();
    }
  }
}
