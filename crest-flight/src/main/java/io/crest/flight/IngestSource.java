package io.crest.flight;

import io.crest.DeadLetterEvent;
import io.crest.errors.SourceException;
import io.crest.spi.Source;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Source} of one table of a {@link FlightIngestServer}: the batches producers put for
 * the table, one stream per producer (its id), positioned by the producer's sequence numbers.
 * After each commit, and after each batch the pipeline dead-lettered, it acknowledges the puts
 * whose batches became durable.
 *
 * <p>Lifecycle as the SPI says: the pipeline starts it (the table then accepts puts), tells it of
 * commits and dead letters, tells it if it failed (puts still waiting for an acknowledgement, and
 * later puts, fail with {@code UNAVAILABLE} so that their producers re-send), and closes it (the
 * table refuses puts again, and waiting puts fail the same way). Thread-safe.
 */
final class IngestSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(IngestSource.class);

  /** The stream of puts without a producer id. */
  static final String ANONYMOUS = "~anonymous";

  private enum State {
    NEW,
    STARTED,
    CLOSED
  }

  /**
   * One producer's stream: the highest sequence emitted (or resumed from), the highest committed,
   * and the dead-lettered positions above it. Emission is ordered by {@link #emitLock}; the other
   * values are read without it, so that a commit never waits for a producer blocked in emit.
   */
  static final class ProducerStream {
    final String id;
    final ReentrantLock emitLock = new ReentrantLock();
    // Guarded by emitLock.
    long lastAccepted;
    private final AtomicLong committed;
    // Position -> dead-letter file name, for positions no commit covered yet.
    private final ConcurrentSkipListMap<Long, String> deadLetters = new ConcurrentSkipListMap<>();

    ProducerStream(String id, long resumed) {
      this.id = id;
      this.lastAccepted = resumed;
      this.committed = new AtomicLong(resumed);
    }

    long committed() {
      return committed.get();
    }

    /** Whether the batch that ends at {@code position} is committed or dead-lettered. */
    boolean isDurable(long position) {
      return committed.get() >= position || deadLetters.containsKey(position);
    }

    /** The name of the dead-letter file of the batch that ends at {@code position}, or null. */
    String deadLetterFile(long position) {
      return deadLetters.get(position);
    }
  }

  private final FlightIngestServer server;
  private final String table;
  private final String name;

  private final Object lock = new Object();
  // Guarded by lock.
  private State state = State.NEW;
  private BufferAllocator allocator;
  private SourceContext context;
  private int users;

  private final Map<String, ProducerStream> streams = new ConcurrentHashMap<>();
  private final Set<PutSession> sessions = ConcurrentHashMap.newKeySet();
  // Set once, when the pipeline failed: every put, also a later one, fails with it.
  private volatile FlightRuntimeException pipelineFailure;

  IngestSource(FlightIngestServer server, String table) {
    this.server = server;
    this.table = table;
    this.name = "flight-ingest[" + table + "]";
  }

  @Override
  public String name() {
    return name;
  }

  String table() {
    return table;
  }

  /**
   * Opens the table to puts, resuming every producer at its committed sequence.
   *
   * @throws IllegalStateException if started or closed before
   * @throws SourceException if a resume position is not a sequence number
   */
  @Override
  public void start(SourceContext context) {
    Objects.requireNonNull(context, "context");
    synchronized (lock) {
      if (state != State.NEW) {
        throw new IllegalStateException("Cannot start source " + name + ": it is "
            + (state == State.STARTED ? "started already" : "closed")
            + " (a source starts once; ask the server for a new one)");
      }
      for (Map.Entry<String, SourcePosition> entry : context.resumePositions().entrySet()) {
        long sequence;
        try {
          sequence = entry.getValue().asOffset();
        } catch (IllegalArgumentException e) {
          throw new SourceException("Cannot resume producer " + entry.getKey() + " of table "
              + table + " at position '" + entry.getValue() + "': it is not a sequence number"
              + " (it was not recorded by a Flight ingest source)", entry.getKey(), null, e);
        }
        streams.put(entry.getKey(), new ProducerStream(entry.getKey(), sequence));
      }
      allocator = server.allocator().newChildAllocator(
          "crest-flight-ingest-" + table, 0, Long.MAX_VALUE);
      this.context = context;
      state = State.STARTED;
    }
    LOG.info("Table {} accepts puts, resuming producers at {}", table,
        new TreeMap<>(context.resumePositions()));
  }

  /** The stream of {@code producer}, made at its first put. */
  ProducerStream stream(String producer) {
    return streams.computeIfAbsent(producer, id -> new ProducerStream(id, 0));
  }

  /**
   * Lets a put thread use the source's allocator and context until {@link #exit}.
   *
   * @return {@code false} if the source is not started or is closing
   */
  boolean enter() {
    synchronized (lock) {
      if (state != State.STARTED) {
        return false;
      }
      users++;
      return true;
    }
  }

  void exit() {
    synchronized (lock) {
      users--;
      lock.notifyAll();
    }
  }

  /** Valid between {@link #enter} and {@link #exit}. */
  BufferAllocator allocator() {
    return allocator;
  }

  /** Valid between {@link #enter} and {@link #exit}. */
  SourceContext context() {
    return context;
  }

  /** Tracks {@code session} for acknowledgements; fails it at once if the pipeline failed. */
  void register(PutSession session) {
    sessions.add(session);
    FlightRuntimeException failure = pipelineFailure;
    if (failure != null) {
      session.fail(failure);
    }
  }

  void unregister(PutSession session) {
    sessions.remove(session);
  }

  /** Raises each producer's committed sequence, then acknowledges what became due. */
  @Override
  public void committed(Map<String, SourcePosition> positions) {
    for (Map.Entry<String, SourcePosition> entry : positions.entrySet()) {
      ProducerStream stream = streams.get(entry.getKey());
      if (stream != null) {
        long sequence = entry.getValue().asOffset();
        stream.committed.accumulateAndGet(sequence, Math::max);
      }
    }
    acknowledgeDue();
    // Only now: the acknowledgements above still had to say which batches were dead-lettered.
    for (ProducerStream stream : streams.values()) {
      stream.deadLetters.headMap(stream.committed(), true).clear();
    }
  }

  /**
   * Marks the batch as durable in the dead-letter directory and acknowledges what became due:
   * its acknowledgement, in batch order, tells the producer the file name (see {@code
   * docs/flight-tickets.md}).
   */
  @Override
  public void deadLettered(DeadLetterEvent event) {
    ProducerStream stream = streams.get(event.stream());
    if (stream == null) {
      LOG.warn("Table {}: the pipeline dead-lettered a batch of stream {}, which no put of this"
          + " source sent", table, event.stream());
      return;
    }
    stream.deadLetters.put(event.positionAfter().asOffset(), event.file().getFileName().toString());
    acknowledgeDue();
  }

  /**
   * Fails the puts waiting for an acknowledgement, and every later put of this source, with
   * {@code UNAVAILABLE} naming the table and the failure: their producers re-send once the
   * pipeline runs again.
   */
  @Override
  public void pipelineFailed(Throwable failure) {
    String cause = failure == null ? "unknown failure"
        : failure.getMessage() != null ? failure.getMessage() : failure.getClass().getName();
    FlightRuntimeException error = CallStatus.UNAVAILABLE.withDescription("Cannot acknowledge"
        + " the batches put to table " + table + ": its pipeline failed before committing them ("
        + cause + "); re-send every batch without an acknowledgement once the pipeline runs"
        + " again").toRuntimeException();
    pipelineFailure = error;
    for (PutSession session : sessions) {
      session.fail(error);
    }
    LOG.info("Table {}: failed the waiting puts, since the pipeline failed: {}", table, cause);
  }

  private void acknowledgeDue() {
    for (PutSession session : sessions) {
      session.acknowledgeDue();
    }
  }

  /**
   * Closes the table to puts, fails the puts still waiting for an acknowledgement, waits for put
   * threads to leave the pipeline's context, and closes the allocator. Safe to call twice.
   *
   * @throws IllegalStateException if the allocator still holds memory (a leak)
   */
  @Override
  public void close() {
    boolean wasStarted;
    synchronized (lock) {
      if (state == State.CLOSED) {
        return;
      }
      wasStarted = state == State.STARTED;
      state = State.CLOSED;
    }
    server.detach(this);
    failPuts("The pipeline reading table " + table + " stopped before committing these batches"
        + " (re-send every batch without an acknowledgement)");
    if (!wasStarted) {
      return;
    }
    boolean interrupted = false;
    synchronized (lock) {
      while (users > 0) {
        try {
          lock.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    allocator.close();
    LOG.info("Table {} refuses puts: its source closed", table);
  }

  /** Fails the puts waiting for an acknowledgement with {@code UNAVAILABLE} and {@code reason}. */
  void failPuts(String reason) {
    for (PutSession session : sessions) {
      session.fail(CallStatus.UNAVAILABLE.withDescription(reason).toRuntimeException());
    }
  }

  /** Whether the pipeline started the source and has not closed it. */
  boolean isStarted() {
    synchronized (lock) {
      return state == State.STARTED;
    }
  }

  @Override
  public String toString() {
    return name;
  }
}
