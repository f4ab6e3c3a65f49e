package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one stream on its own thread, for as long as the stream lasts: issues the {@code DoGet},
 * emits every new batch as a batch of its own, and after a transient failure reconnects (to the
 * stream's next server, after a jittered backoff) and resumes after the last batch it emitted.
 *
 * <ul>
 *   <li>{@link StreamSpec.Mode#REPLAY}: the server sends the stream from its start on every call;
 *       rows up to the position (a row offset) are dropped. The reader ends when the call ends.
 *   <li>{@link StreamSpec.Mode#INCREMENTAL}: the ticket carries the last position and the server
 *       sends only what follows, each batch tagged with the position after it. When a call ends
 *       the reader asks again, at once if the call brought rows, else after the poll interval; it
 *       ends only when stopped.
 * </ul>
 *
 * <p>Lifecycle: {@link #start} once; {@link #stop} and then {@link #join} from the source's
 * control thread. The reader closes its {@link FlightStream} itself, on its own thread, so the
 * stream is never used by two threads at once; {@link #stop} only cancels the call (which Flight
 * allows from any thread), wakes a wait for a reconnect or a poll, and interrupts the thread while,
 * and only while, it waits in {@link SourceContext#emit}, so an interrupt never lands inside
 * Flight or gRPC code.
 */
final class StreamReader implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(StreamReader.class);
  private static final long JOIN_WARNING_SECONDS = 10;
  private static final long PERMIT_CHECK_MILLIS = 50;

  private enum Outcome {
    /** The server ended the call normally. */
    ENDED,
    /** The reader was stopped or the pipeline refused a batch. */
    STOPPED
  }

  private final StreamSpec spec;
  private final ClientPool clients;
  private final ReadSettings settings;
  private final Semaphore permits;
  private final BufferAllocator allocator;
  private final SourceContext context;
  private final Runnable onEnd;
  private final Thread thread;

  // Used by the reader thread only.
  private long offset;
  private String position;
  private boolean progressed;
  private int endpointIndex;

  private final AtomicInteger reconnects = new AtomicInteger();

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean stopping;
  private boolean emitting;
  private FlightStream stream;

  /**
   * Creates a reader; nothing happens until {@link #start}.
   *
   * @param permits one permit is held while the reader has a call open, bounding the number of
   *     streams read at once
   * @param allocator where the emitted batches are allocated
   * @param resume the position to resume after, or {@code null} to read from the start; a row
   *     offset for a replayed stream
   * @param onEnd run once, on the reader's thread, after a replayed stream ended and every batch
   *     of it was emitted; not run when the reader fails or stops early
   * @throws SourceException if {@code resume} is not a row offset for a replayed stream
   */
  StreamReader(
      StreamSpec spec,
      ClientPool clients,
      ReadSettings settings,
      Semaphore permits,
      BufferAllocator allocator,
      SourceContext context,
      SourcePosition resume,
      Runnable onEnd) {
    this.spec = spec;
    this.clients = clients;
    this.settings = settings;
    this.permits = permits;
    this.allocator = allocator;
    this.context = context;
    this.onEnd = onEnd;
    if (resume != null) {
      if (spec.mode() == StreamSpec.Mode.REPLAY) {
        this.offset = resumeOffset(spec, resume);
      } else {
        this.position = resume.value();
      }
    }
    this.thread = new Thread(this, "crest-flight-" + spec.id());
    this.thread.setDaemon(true);
  }

  /**
   * Reads a replayed stream's resume position as a row offset.
   *
   * @throws SourceException if it is not one
   */
  static long resumeOffset(StreamSpec spec, SourcePosition position) {
    try {
      return position.asOffset();
    } catch (IllegalArgumentException e) {
      throw new SourceException(
          "Cannot resume stream " + spec.id() + " at position '" + position
              + "': it is not a row offset (it was not recorded by a replayed Flight stream;"
              + " read the stream under a new pipeline id)",
          spec.id(),
          null,
          e);
    }
  }

  /** Starts the reader's thread. */
  void start() {
    thread.start();
  }

  String streamId() {
    return spec.id();
  }

  /** How often the reader scheduled a reconnect after a transient failure. */
  int reconnects() {
    return reconnects.get();
  }

  /**
   * Asks the reader to stop: cancels its call, wakes a wait and interrupts a wait to emit.
   * Idempotent.
   */
  void stop() {
    FlightStream current;
    synchronized (lock) {
      stopping = true;
      current = stream;
      if (emitting) {
        thread.interrupt();
      }
      lock.notifyAll();
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
    joinThread(thread, "the reader of stream " + spec);
  }

  static void joinThread(Thread thread, String what) {
    if (thread.getState() == Thread.State.NEW) {
      return;
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join(TimeUnit.SECONDS.toMillis(JOIN_WARNING_SECONDS));
        if (thread.isAlive()) {
          LOG.warn("Still waiting for {} to stop", what);
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
    int failures = 0;
    while (true) {
      if (stopRequested()) {
        return;
      }
      StreamSpec.Endpoint endpoint = spec.endpoints().get(endpointIndex);
      progressed = false;
      Outcome outcome;
      try {
        outcome = readOnce(endpoint);
      } catch (Throwable e) {
        if (stopRequested()) {
          LOG.debug("Stream {} stopped while reading", spec, e);
          return;
        }
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        if (progressed) {
          failures = 0;
        }
        if (!FlightErrors.isTransient(e)) {
          context.fail(FlightErrors.toSourceException(
              "read stream " + spec.id(), endpoint.display, spec.id(), e, ""));
          return;
        }
        if (spec.mode() == StreamSpec.Mode.INCREMENTAL && isDeadline(e)) {
          // A long poll that outlived the call timeout: an ordinary end of a call, not a failure.
          LOG.debug("Incremental call of stream {} reached its deadline; asking again", spec.id());
          if (!pause(settings.pollInterval)) {
            return;
          }
          continue;
        }
        failures++;
        if (failures > settings.maxReconnectAttempts) {
          String gaveUp = settings.maxReconnectAttempts == 0
              ? "reconnecting is off"
              : "gave up after " + settings.maxReconnectAttempts + " reconnect attempts";
          context.fail(FlightErrors.toSourceException(
              "read stream " + spec.id(), endpoint.display, spec.id(), e, gaveUp));
          return;
        }
        reconnects.incrementAndGet();
        Duration delay = settings.backoff.delay(failures);
        endpointIndex = (endpointIndex + 1) % spec.endpoints().size();
        LOG.warn("Stream {} from {} failed ({}); reconnecting to {} in {} ms (attempt {} of {}),"
                + " resuming after {}",
            spec.id(), endpoint.display, e.getMessage(),
            spec.endpoints().get(endpointIndex).display, delay.toMillis(), failures,
            settings.maxReconnectAttempts, resumeDescription());
        if (!pause(delay)) {
          return;
        }
        continue;
      }
      if (outcome == Outcome.STOPPED) {
        return;
      }
      failures = 0;
      if (spec.mode() == StreamSpec.Mode.REPLAY) {
        if (!stopRequested()) {
          LOG.debug("Stream {} ended", spec);
          onEnd.run();
        }
        return;
      }
      // A call that brought rows may have stopped at a server's size limit: ask again at once.
      if (!progressed && !pause(settings.pollInterval)) {
        return;
      }
    }
  }

  private static boolean isDeadline(Throwable error) {
    return error instanceof FlightRuntimeException
        && ((FlightRuntimeException) error).status().code() == FlightStatusCode.TIMED_OUT;
  }

  private String resumeDescription() {
    if (spec.mode() == StreamSpec.Mode.REPLAY) {
      return "row " + offset;
    }
    return position == null ? "the start" : "position " + position;
  }

  /** Connects to {@code endpoint} and reads one call to its end. */
  private Outcome readOnce(StreamSpec.Endpoint endpoint) throws Exception {
    if (!acquirePermit()) {
      return Outcome.STOPPED;
    }
    try (ClientPool.Lease lease = clients.acquire(endpoint.location)) {
      FlightStream current = null;
      try {
        current = spec.mode() == StreamSpec.Mode.REPLAY
            // A replayed stream may stay open for ever: no deadline.
            ? lease.client().getStream(spec.ticket(), lease.options())
            : lease.client().getStream(
                spec.ticketAfter(position), lease.options(clients.timeout()));
        if (!publish(current)) {
          return Outcome.STOPPED;
        }
        return spec.mode() == StreamSpec.Mode.REPLAY ? readReplay(current, endpoint)
            : readIncremental(current, endpoint);
      } catch (RuntimeException e) {
        if (FlightErrors.isTransient(e)) {
          lease.invalidate();
        }
        throw e;
      } finally {
        if (current != null) {
          synchronized (lock) {
            stream = null; // close() cancels the call itself; stop() has nothing left to cancel
          }
          closeStream(current);
        }
      }
    } finally {
      permits.release();
    }
  }

  private boolean acquirePermit() throws InterruptedException {
    while (!permits.tryAcquire(PERMIT_CHECK_MILLIS, TimeUnit.MILLISECONDS)) {
      if (stopRequested()) {
        return false;
      }
    }
    if (stopRequested()) {
      permits.release();
      return false;
    }
    return true;
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

  /** Reads a replayed stream to its end, dropping the rows up to the current offset. */
  private Outcome readReplay(FlightStream current, StreamSpec.Endpoint endpoint)
      throws InterruptedException {
    long skipUntil = offset;
    BatchConverter converter = null;
    long rowsRead = 0;
    while (current.next()) {
      if (stopRequested()) {
        return Outcome.STOPPED;
      }
      if (!current.hasRoot()) {
        continue; // application metadata ahead of the schema: no rows
      }
      // The stream reuses this root for every batch.
      VectorSchemaRoot root = current.getRoot();
      if (converter == null) {
        converter = converterFor(current, root, endpoint);
      }
      int rows = root.getRowCount();
      long batchStart = rowsRead;
      rowsRead += rows;
      if (rows == 0 || rowsRead <= skipUntil) {
        continue; // nothing new: an empty batch, or rows emitted or committed before
      }
      int firstRow = (int) Math.max(0, skipUntil - batchStart);
      BatchConverter.validate(root);
      if (!emit(converter.take(root, firstRow), SourcePosition.ofOffset(rowsRead))) {
        return Outcome.STOPPED;
      }
      offset = rowsRead;
    }
    if (rowsRead < skipUntil) {
      throw new SourceException(
          "Cannot resume stream " + spec.id() + " at row " + skipUntil
              + ": the server sent only " + rowsRead + " rows (the view was reset or is not"
              + " append-only; read it again from the start under a new pipeline id)",
          spec.id(),
          null,
          null);
    }
    return Outcome.ENDED;
  }

  /** Reads one incremental call to its end, following the positions the server sends. */
  private Outcome readIncremental(FlightStream current, StreamSpec.Endpoint endpoint)
      throws InterruptedException {
    BatchConverter converter = null;
    while (current.next()) {
      if (stopRequested()) {
        return Outcome.STOPPED;
      }
      String after = positionOf(current.getLatestMetadata());
      VectorSchemaRoot root = current.hasRoot() ? current.getRoot() : null;
      if (root == null || root.getRowCount() == 0) {
        if (after != null) {
          position = after; // the server moved on without rows (a heartbeat)
        }
        continue;
      }
      if (after == null) {
        throw new SourceException(
            "Cannot read stream " + spec.id() + " from " + endpoint.display + ": the server sent"
                + " a batch of " + root.getRowCount() + " rows without its position in the"
                + " application metadata (an incremental server must tag every batch; see"
                + " docs/flight-tickets.md)",
            spec.id(),
            null,
            null);
      }
      if (converter == null) {
        converter = converterFor(current, root, endpoint);
      }
      BatchConverter.validate(root);
      if (!emit(converter.take(root, 0), SourcePosition.of(after))) {
        return Outcome.STOPPED;
      }
      position = after;
    }
    return Outcome.ENDED;
  }

  private static String positionOf(ArrowBuf metadata) {
    byte[] bytes = BatchConverter.metadata(metadata);
    return bytes.length == 0 ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  private BatchConverter converterFor(
      FlightStream current, VectorSchemaRoot root, StreamSpec.Endpoint endpoint) {
    Optional<String> nested = BatchConverter.nestedDictionaryField(
        root.getSchema().getFields(), current.getDictionaryProvider());
    if (nested.isPresent()) {
      throw new SourceException(
          "Cannot read stream " + spec.id() + " from " + endpoint.display + ": field "
              + nested.get() + " is dictionary-encoded inside a nested type (only top-level"
              + " dictionary-encoded fields are decoded; have the server send plain values)",
          spec.id(),
          null,
          null);
    }
    return new BatchConverter(allocator, current.getDictionaryProvider());
  }

  /**
   * Wraps {@code owned} as a batch and emits it, letting {@link #stop} interrupt the wait. The
   * batch belongs to the context once passed to emit, whatever happens.
   */
  private boolean emit(VectorSchemaRoot owned, SourcePosition after) throws InterruptedException {
    SourceBatch batch;
    try {
      batch = SourceBatch.of(spec.id(), owned, after);
    } catch (RuntimeException e) {
      owned.close();
      throw e;
    }
    synchronized (lock) {
      if (stopping) {
        batch.close();
        return false;
      }
      emitting = true;
    }
    try {
      boolean accepted = context.emit(batch);
      if (accepted) {
        progressed = true;
      }
      return accepted;
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

  /** Waits for {@code delay} or until stopped; returns whether the reader should go on. */
  private boolean pause(Duration delay) {
    return ReaderWaits.pause(lock, delay, () -> stopping, context);
  }

  private boolean stopRequested() {
    return ReaderWaits.stopRequested(lock, () -> stopping, context);
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
        LOG.debug("Could not close stream {}", spec, e);
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
