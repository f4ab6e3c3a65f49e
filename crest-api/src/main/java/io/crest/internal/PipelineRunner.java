package io.crest.internal;

import io.crest.BatchEvent;
import io.crest.BatchPolicy;
import io.crest.CommitEvent;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.errors.CommitFailedException;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.ValidationException;
import io.crest.DeadLetterEvent;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine behind {@link Pipeline}: source readers hand batches to a byte-bounded queue; one
 * writer thread writes them into the sink's open files and prepares a committable when the batch
 * policy says so; one committer thread commits committables in order, so a commit overlaps the
 * writing of the next batches. A committer that falls behind blocks the writer, whose queue then
 * fills and blocks the readers (back-pressure).
 *
 * <p>Commits are cumulative: each records every stream's position after it. So once one commit
 * fails, no later one may be committed (its positions would cover the lost rows); later ones are
 * aborted and the pipeline fails.
 */
public final class PipelineRunner implements Pipeline {
  private static final Logger LOG = LoggerFactory.getLogger(PipelineRunner.class);

  /** Control items that travel through the queues in order with the data. */
  private enum Control {
    /** The source has no more data: flush, then report idle once committed. */
    SOURCE_COMPLETE,
    /** Stop: flush and end the writer thread. */
    STOP,
    /** Committer: everything before this is committed, the pipeline is idle. */
    IDLE,
    /** Committer: the writer recorded a failure; nothing after this is committed. */
    FAILED,
    /** Committer: no more committables. */
    END
  }

  /** Streams whose positions the source no longer needs, queued after the batches before it. */
  private static final class Forget {
    final List<String> streams;

    Forget(List<String> streams) {
      this.streams = streams;
    }
  }

  /** A source failure, queued after the batches that arrived before it. */
  private static final class SourceFailed {
    final Throwable error;

    SourceFailed(Throwable error) {
      this.error = error;
    }
  }

  private final String id;
  private final Source source;
  private final Sink sink;
  private final BatchPolicy policy;
  private final DataSize bufferLimit;
  private final List<PipelineListener> listeners;
  private final LongSupplier nanoClock;
  private final DeadLetterWriter deadLetters;

  private final Object lock = new Object();
  private final Object shutdownLock = new Object();
  // Guarded by lock.
  private State state = State.NEW;
  private Throwable failure;
  private boolean idle;
  private boolean shutDown;
  // Set once a shutdown began or was requested from one of the pipeline's own threads.
  private boolean stopRequested;
  // Counted down when start() returns or throws: a stop requested from a callback waits for it,
  // so the source is never closed while it is still being started.
  private final java.util.concurrent.CountDownLatch startDone =
      new java.util.concurrent.CountDownLatch(1);

  private final BatchQueue queue;
  private final BlockingQueue<Object> commitQueue = new ArrayBlockingQueue<>(1);
  private SinkWriter sinkWriter;
  // Set once by start(), before the threads start; read under lock afterwards.
  private volatile Thread writerThread;
  private volatile Thread committerThread;
  // Committer thread only.
  private boolean sourceToldOfFailure;

  private final AtomicLong rowsIn = new AtomicLong();
  private final AtomicLong batchesIn = new AtomicLong();
  private final AtomicLong bytesIn = new AtomicLong();
  private final AtomicLong rowsCommitted = new AtomicLong();
  private final AtomicLong filesCommitted = new AtomicLong();
  private final AtomicLong bytesCommitted = new AtomicLong();
  private final AtomicLong commits = new AtomicLong();
  private final AtomicLong lastCommitNanos = new AtomicLong();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();

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
    this.listeners = List.copyOf(listeners);
    this.nanoClock = nanoClock;
    this.queue = new BatchQueue(bufferLimit.toBytes());
    this.deadLetters =
        deadLetterDirectory == null ? null : new DeadLetterWriter(deadLetterDirectory, id, sink.name());
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public void start() {
    synchronized (lock) {
      if (state != State.NEW) {
        throw new IllegalStateException(
            "Cannot start pipeline " + id + ": it is " + state + ", a pipeline starts once");
      }
      state = State.RUNNING;
    }
    try {
      Optional<String> instance = source.instanceId();
      SinkContext context = SinkContext.of(id, source.name());
      sinkWriter = sink.open(instance.map(context::withSourceInstance).orElse(context));
      queue.countHeldBytesOf(sinkWriter);
      CommittedState restored = sinkWriter.restoredState();
      checkSourceInstance(restored, instance);
      LOG.info("Pipeline {}: {} -> {}, resuming from {}, batch {}, buffer {}",
          id, source.name(), sink.name(), restored, policy, bufferLimit);
      Map<String, SourcePosition> positions = new TreeMap<>(restored.positions());
      writerThread = new Thread(() -> writeLoop(positions), "crest-" + id + "-writer");
      committerThread = new Thread(this::commitLoop, "crest-" + id + "-committer");
      writerThread.start();
      committerThread.start();
      source.start(new Context(Collections.unmodifiableMap(new TreeMap<>(restored.positions()))));
    } catch (RuntimeException | Error e) {
      fail(e);
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
    long deadline = System.nanoTime() + timeout.toNanos();
    String own = ownThread();
    if (own != null) {
      throw new IllegalStateException(
          "Cannot await pipeline " + id + ": called on its own " + own + " thread (from a"
              + " listener or source hook), which must return before the pipeline can become"
              + " idle (await on another thread; to end the pipeline from a callback call stop(),"
              + " which returns at once)");
    }
    synchronized (lock) {
      if (writerThread == null) {
        throw new IllegalStateException("Cannot await pipeline " + id + ": it was not started");
      }
      while (!idle && failure == null && !shutDown) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(lock, left);
      }
      if (failure != null) {
        throw new PipelineFailedException(id, failure);
      }
      return idle;
    }
  }

  @Override
  public void stop() {
    boolean neverStarted;
    synchronized (lock) {
      neverStarted = state == State.NEW;
      if (neverStarted) {
        state = State.STOPPED;
        shutDown = true;
        lock.notifyAll();
      }
    }
    if (neverStarted) {
      closeSource();
      return;
    }
    if (ownThread() != null) {
      requestStop();
      return;
    }
    shutdown();
    synchronized (lock) {
      if (failure != null) {
        throw new PipelineFailedException(id, failure);
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  @Override
  public PipelineStats stats() {
    return new PipelineStats(
        rowsIn.get(),
        batchesIn.get(),
        bytesIn.get(),
        rowsCommitted.get(),
        filesCommitted.get(),
        bytesCommitted.get(),
        commits.get(),
        Duration.ofNanos(lastCommitNanos.get()),
        errors.get(),
        deadLettered.get(),
        queue.countedBytes());
  }

  @Override
  public State state() {
    synchronized (lock) {
      return state;
    }
  }

  @Override
  public Optional<Throwable> failure() {
    synchronized (lock) {
      return Optional.ofNullable(failure);
    }
  }

  @Override
  public String toString() {
    return "Pipeline[" + id + ": " + source.name() + " -> " + sink.name() + "]";
  }

  /**
   * The name of the pipeline thread the caller runs on ({@code writer} or {@code committer}, where
   * listeners and source hooks are called), or {@code null} on any other thread.
   */
  private String ownThread() {
    Thread current = Thread.currentThread();
    if (current == writerThread) {
      return "writer";
    }
    return current == committerThread ? "committer" : null;
  }

  /**
   * Starts the orderly {@link #shutdown} on a short-lived thread of its own and returns: called
   * on the writer or committer thread (from a listener or source hook), which the shutdown joins.
   * The stop takes effect once the callback returns.
   */
  private void requestStop() {
    synchronized (lock) {
      if (stopRequested || shutDown) {
        return;
      }
      stopRequested = true;
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
      synchronized (lock) {
        if (shutDown) {
          return;
        }
        stopRequested = true;
      }
      queue.closeToProducers();
      queue.putControl(Control.STOP);
      joinQuietly(writerThread);
      joinQuietly(committerThread);
      queue.discardRemaining();
      if (sinkWriter != null) {
        try {
          sinkWriter.close();
        } catch (RuntimeException e) {
          recordSecondary("cleanup", "close the sink writer", e);
        }
      }
      closeSource();
      synchronized (lock) {
        shutDown = true;
        state = failure == null ? State.STOPPED : State.FAILED;
        lock.notifyAll();
      }
      LOG.info("Pipeline {} stopped: {}", id, stats());
    }
  }

  private void closeSource() {
    try {
      source.close();
    } catch (RuntimeException e) {
      recordSecondary("cleanup", "close the source " + source.name(), e);
    }
  }

  private void writeLoop(Map<String, SourcePosition> positions) {
    FlushTrigger trigger = new FlushTrigger(policy);
    try {
      while (true) {
        Object item = queue.poll(trigger.nanosUntilDue(nanoClock.getAsLong()));
        if (item instanceof SourceBatch) {
          SourceBatch batch = (SourceBatch) item;
          long size = batch.sizeInBytes();
          try {
            if (failed()) {
              continue; // the pipeline is going down: the batch is not written, only released
            }
            boolean written = batch.rowCount() == 0 || writeOrDeadLetter(batch);
            SourcePosition before = positions.put(batch.stream(), batch.positionAfter());
            batchesIn.incrementAndGet();
            bytesIn.addAndGet(size);
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
              rowsIn.addAndGet(batch.rowCount());
              trigger.add(batch.rowCount(), size, now);
              notifyBatch(batch, size, now);
            }
          } finally {
            batch.close();
            queue.release(size);
          }
          if (trigger.isDue(nanoClock.getAsLong())) {
            flush(trigger, positions);
          }
        } else if (item instanceof Forget) {
          boolean moved = false;
          for (String stream : ((Forget) item).streams) {
            moved |= positions.remove(stream) != null;
          }
          long now = nanoClock.getAsLong();
          if (moved) {
            trigger.moved(now);
          }
          if (trigger.isDue(now)) {
            flush(trigger, positions);
          }
        } else if (item == null) {
          if (trigger.isDue(nanoClock.getAsLong())) {
            flush(trigger, positions);
          }
        } else if (item == Control.SOURCE_COMPLETE) {
          flush(trigger, positions);
          commitQueue.put(Control.IDLE);
        } else if (item instanceof SourceFailed) {
          flush(trigger, positions);
          fail(((SourceFailed) item).error);
          commitQueue.put(Control.FAILED);
        } else if (item == Control.STOP) {
          flush(trigger, positions);
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      fail(new IllegalStateException("Writer thread of pipeline " + id + " was interrupted", e));
    } catch (RuntimeException | Error e) {
      fail(e);
    } finally {
      putUninterruptibly(Control.END);
    }
  }

  private void notifyBatch(SourceBatch batch, long size, long now) {
    if (listeners.isEmpty()) {
      return;
    }
    BatchEvent event =
        new BatchEvent(id, batch.stream(), batch.rowCount(), size, batch.positionAfter(), now);
    for (PipelineListener listener : listeners) {
      try {
        listener.onBatch(event);
      } catch (RuntimeException e) {
        recordSecondary("listener", "notify listener " + listener + " of a batch", e);
      }
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
      deadLettered.incrementAndGet();
      LOG.warn("Pipeline {}: {} rejected by {}, written to {}: {}",
          id, where, sink.name(), file, e.getMessage());
      DeadLetterEvent event = new DeadLetterEvent(
          id, batch.stream(), batch.positionAfter(), batch.rowCount(), file, e.getMessage());
      try {
        source.deadLettered(event);
      } catch (RuntimeException se) {
        recordSecondary("source-hook", "tell the source " + source.name() + " about a dead"
            + " letter", se);
      }
      for (PipelineListener listener : listeners) {
        try {
          listener.onDeadLetter(event);
        } catch (RuntimeException le) {
          recordSecondary("listener", "notify listener " + listener + " of a dead letter", le);
        }
      }
      return false;
    }
  }

  private void flush(FlushTrigger trigger, Map<String, SourcePosition> positions)
      throws InterruptedException {
    if (!trigger.hasPending() || failed()) {
      return;
    }
    Committable committable =
        sinkWriter.prepareCommit(Collections.unmodifiableMap(new TreeMap<>(positions)));
    trigger.reset();
    if (committable != null) {
      commitQueue.put(committable);
    }
  }

  private void commitLoop() {
    long lastEnd = nanoClock.getAsLong();
    boolean broken = false;
    while (true) {
      Object item = takeUninterruptibly();
      if (item == Control.END || item == Control.FAILED) {
        // Everything the writer prepared before its failure has been committed or refused.
        if (failed()) {
          tellSourceFailed();
        }
        if (item == Control.END) {
          return;
        }
        continue;
      }
      if (item == Control.IDLE) {
        synchronized (lock) {
          idle = true;
          lock.notifyAll();
        }
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
        fail(e);
      } catch (RuntimeException | Error e) {
        // Outcome unknown or unexpected: keep the files, they may be part of the table now.
        broken = true;
        fail(e);
      }
      if (broken) {
        tellSourceFailed();
        continue;
      }
      long end = nanoClock.getAsLong();
      rowsCommitted.addAndGet(committable.rowCount());
      filesCommitted.addAndGet(committable.fileCount());
      bytesCommitted.addAndGet(committable.byteCount());
      commits.incrementAndGet();
      lastCommitNanos.set(end - start);
      CommitEvent event =
          new CommitEvent(
              id,
              sink.name(),
              committable.commitId(),
              result.reference(),
              committable.rowCount(),
              committable.fileCount(),
              committable.byteCount(),
              Duration.ofNanos(end - start),
              Duration.ofNanos(end - lastEnd),
              committable.positions());
      lastEnd = end;
      try {
        source.committed(committable.positions());
      } catch (RuntimeException e) {
        recordSecondary("source-hook", "tell the source " + source.name() + " about a commit", e);
      }
      for (PipelineListener listener : listeners) {
        try {
          listener.onCommit(event);
        } catch (RuntimeException e) {
          recordSecondary("listener", "notify listener " + listener + " of a commit", e);
        }
      }
    }
  }

  /**
   * Tells the source, once, that nothing more will be committed in this run (see {@link
   * Source#pipelineFailed}). Committer thread only.
   */
  private void tellSourceFailed() {
    if (sourceToldOfFailure) {
      return;
    }
    sourceToldOfFailure = true;
    Throwable error;
    synchronized (lock) {
      error = failure;
    }
    try {
      source.pipelineFailed(error);
    } catch (RuntimeException e) {
      recordSecondary("source-hook", "tell the source " + source.name() + " about the failure", e);
    }
  }

  private void abortQuietly(Committable committable) {
    try {
      sinkWriter.abort(committable);
    } catch (RuntimeException e) {
      recordSecondary("cleanup", "abort commit " + committable.commitId(), e);
    }
  }

  private boolean failed() {
    synchronized (lock) {
      return failure != null;
    }
  }

  /** Records the pipeline's fatal failure (the first one wins) and stops the readers. */
  private void fail(Throwable error) {
    errors.incrementAndGet();
    synchronized (lock) {
      if (failure != null) {
        if (failure != error) {
          failure.addSuppressed(error);
        }
        return;
      }
      failure = error;
      lock.notifyAll();
    }
    LOG.error("Pipeline " + id + " failed", error);
    queue.closeToProducers();
    for (PipelineListener listener : listeners) {
      try {
        listener.onFailure(error);
      } catch (RuntimeException e) {
        LOG.warn("Listener " + listener + " failed on a failure", e);
      }
    }
  }

  private void recordSecondary(String kind, String what, RuntimeException e) {
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
    public boolean emit(SourceBatch batch) throws InterruptedException {
      Objects.requireNonNull(batch, "batch");
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
