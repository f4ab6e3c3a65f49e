package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one stream on its own thread: issues the {@code DoGet}, skips the rows before the resume
 * offset, and emits every later batch as a batch of its own.
 *
 * <p>Lifecycle: {@link #start} once; {@link #stop} and then {@link #join} from the source's
 * control thread. The reader closes its {@link FlightStream} itself, on its own thread, so the
 * stream is never used by two threads at once; {@link #stop} only cancels the call (which Flight
 * allows from any thread) and interrupts the thread while, and only while, it waits in {@link
 * SourceContext#emit}, so an interrupt never lands inside Flight or gRPC code.
 */
final class StreamReader implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamReader.class);
  private static final long JOIN_WARNING_SECONDS = 10;

  private final StreamSpec spec;
  private final FlightClient client;
  private final BufferAllocator allocator;
  private final SourceContext context;
  private final long resumeOffset;
  private final Runnable onEnd;
  private final Thread thread;

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean stopping;
  private boolean emitting;
  private FlightStream stream;

  /**
   * Creates a reader; nothing happens until {@link #start}.
   *
   * @param allocator where the emitted batches are allocated
   * @param resumeOffset the number of rows at the stream's start to skip
   * @param onEnd run once, on the reader's thread, after the stream ended and every batch of it
   *     was emitted; not run when the reader fails or stops early
   */
  StreamReader(
      StreamSpec spec,
      FlightClient client,
      BufferAllocator allocator,
      SourceContext context,
      long resumeOffset,
      Runnable onEnd) {
    this.spec = spec;
    this.client = client;
    this.allocator = allocator;
    this.context = context;
    this.resumeOffset = resumeOffset;
    this.onEnd = onEnd;
    this.thread = new Thread(this, "crest-flight-" + spec.id());
    this.thread.setDaemon(true);
  }

  /** Starts the reader's thread. */
  void start() {
    thread.start();
  }

  /** Asks the reader to stop: cancels its call and wakes it if it waits to emit. Idempotent. */
  void stop() {
    FlightStream current;
    synchronized (lock) {
      stopping = true;
      current = stream;
      if (emitting) {
        thread.interrupt();
      }
    }
    if (current != null) {
      try {
        current.cancel("Crest source is closing", null);
      } catch (RuntimeException e) {
        LOG.debug("Could not cancel stream {}", spec, e);
      }
    }
  }

  /**
   * Waits for the reader's thread to end, logging while it takes long, and keeps the caller's
   * interrupt status.
   */
  void join() {
    if (thread.getState() == Thread.State.NEW) {
      return;
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join(TimeUnit.SECONDS.toMillis(JOIN_WARNING_SECONDS));
        if (thread.isAlive()) {
          LOG.warn("Still waiting for the reader of stream {} to stop", spec);
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void run() {
    FlightStream current = null;
    boolean ended = false;
    try {
      current = client.getStream(spec.ticket());
      if (publish(current)) {
        ended = read(current);
      }
    } catch (Throwable e) {
      report(e);
    } finally {
      if (current != null) {
        synchronized (lock) {
          stream = null; // close() cancels the call itself; stop() has nothing left to cancel
        }
        closeStream(current);
      }
    }
    if (ended && !stopRequested()) {
      LOG.debug("Stream {} ended", spec);
      onEnd.run();
    }
  }

  /** Makes the stream cancellable by {@link #stop}; cancels it at once if stop came first. */
  private boolean publish(FlightStream current) {
    synchronized (lock) {
      stream = current;
      if (!stopping) {
        return true;
      }
    }
    current.cancel("Crest source is closing", null);
    return false;
  }

  /**
   * Reads the stream to its end.
   *
   * @return {@code true} if the stream ended and every batch was emitted, {@code false} if the
   *     reader stopped early
   */
  private boolean read(FlightStream current) throws InterruptedException {
    BatchConverter converter = null;
    long rowsRead = 0;
    while (current.next()) {
      if (stopRequested()) {
        return false;
      }
      if (!current.hasRoot()) {
        continue; // application metadata ahead of the schema: no rows
      }
      // The stream reuses this root for every batch.
      VectorSchemaRoot root = current.getRoot();
      if (converter == null) {
        converter = converterFor(current, root);
      }
      int rows = root.getRowCount();
      long batchStart = rowsRead;
      rowsRead += rows;
      if (rows == 0 || rowsRead <= resumeOffset) {
        continue; // nothing new: an empty batch, or rows committed by an earlier run
      }
      int firstRow = (int) Math.max(0, resumeOffset - batchStart);
      VectorSchemaRoot owned = converter.take(root, firstRow);
      SourceBatch batch;
      try {
        batch = SourceBatch.of(spec.id(), owned, SourcePosition.ofOffset(rowsRead));
      } catch (RuntimeException e) {
        owned.close();
        throw e;
      }
      if (!emit(batch)) {
        return false;
      }
    }
    if (rowsRead < resumeOffset) {
      throw new SourceException(
          "Cannot resume stream " + spec.id() + " at row " + resumeOffset
              + ": the server sent only " + rowsRead + " rows (the view was reset or is not"
              + " append-only; read it again from the start under a new pipeline id)",
          spec.id(),
          null,
          null);
    }
    return true;
  }

  private BatchConverter converterFor(FlightStream current, VectorSchemaRoot root) {
    Optional<String> nested = BatchConverter.nestedDictionaryField(
        root.getSchema().getFields(), current.getDictionaryProvider());
    if (nested.isPresent()) {
      throw new SourceException(
          "Cannot read stream " + spec.id() + " from " + spec.uri() + ": field " + nested.get()
              + " is dictionary-encoded inside a nested type (only top-level dictionary-encoded"
              + " fields are decoded; have the server send plain values)",
          spec.id(),
          null,
          null);
    }
    return new BatchConverter(allocator, current.getDictionaryProvider());
  }

  /**
   * Emits a batch, letting {@link #stop} interrupt the wait. The batch belongs to the context
   * once passed to emit, whatever happens.
   */
  private boolean emit(SourceBatch batch) throws InterruptedException {
    synchronized (lock) {
      if (stopping) {
        batch.close();
        return false;
      }
      emitting = true;
    }
    try {
      return context.emit(batch);
    } finally {
      synchronized (lock) {
        emitting = false;
        if (stopping) {
          // A stop() interrupt meant for emit may still be pending; it must not reach the
          // stream's close, which would then leave its buffers unreleased.
          Thread.interrupted();
        }
      }
    }
  }

  private boolean stopRequested() {
    synchronized (lock) {
      if (stopping) {
        return true;
      }
    }
    return context.isStopping();
  }

  private void report(Throwable error) {
    if (stopRequested()) {
      LOG.debug("Stream {} stopped while reading", spec, error);
      return;
    }
    if (error instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    context.fail(toSourceException(error));
  }

  private SourceException toSourceException(Throwable error) {
    if (error instanceof SourceException) {
      return (SourceException) error;
    }
    String prefix = "Cannot read stream " + spec.id() + " from " + spec.uri() + ": ";
    if (error instanceof FlightRuntimeException) {
      CallStatus status = ((FlightRuntimeException) error).status();
      String code = status.code().name();
      String description = status.description();
      String message = prefix + code
          + (description == null || description.isEmpty() ? "" : ": " + description)
          + hint(status);
      return new SourceException(message, spec.id(), code, error);
    }
    if (error instanceof InterruptedException) {
      return new SourceException(
          prefix + "the reader thread was interrupted (stop the pipeline to stop its source)",
          spec.id(), null, error);
    }
    return new SourceException(prefix + error, spec.id(), null, error);
  }

  private static String hint(CallStatus status) {
    switch (status.code()) {
      case UNAVAILABLE:
        return " (the server is unreachable or went away; retry later)";
      case NOT_FOUND:
        return " (the server does not know the ticket; check the view name)";
      case UNAUTHENTICATED:
      case UNAUTHORIZED:
        return " (check the credentials the server expects)";
      case TIMED_OUT:
        return " (the server did not answer in time; retry later)";
      default:
        return "";
    }
  }

  private void closeStream(FlightStream current) {
    // close() drains the call with blocking reads; an interrupt there would abandon its buffers.
    boolean interrupted = Thread.interrupted();
    try {
      current.close();
    } catch (Exception e) {
      if (stopRequested()) {
        LOG.debug("Could not close stream {} while stopping", spec, e);
      } else {
        LOG.warn("Could not close stream {}", spec, e);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
