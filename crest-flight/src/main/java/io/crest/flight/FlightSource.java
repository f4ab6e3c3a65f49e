package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Source} that reads Arrow Flight streams: for every configured stream one {@code DoGet}
 * of its ticket on its server, read on a thread of its own.
 *
 * <pre>{@code
 * FlightSource source = FlightSource.builder(allocator)
 *     .endpoint("grpc://127.0.0.1:47470", "orders_mv")
 *     .endpoint("grpc://10.0.0.2:47470", "customers_mv")
 *     .build();
 * }</pre>
 *
 * <p>Positions: a stream's position is the number of its rows read so far, counted from the start
 * of the stream ({@link SourcePosition#ofOffset}). A restarted source asks the server for the same
 * ticket again and drops the rows before the resume position on the client, so a stream must
 * replay the same rows in the same order on every {@code DoGet} (an append-only view). A stream
 * that comes back shorter than its resume position fails the source.
 *
 * <p>Batches: each emitted {@link SourceBatch} owns vectors of its own (the Flight stream's
 * reused root is never handed out), allocated in this source's allocator; dictionary-encoded
 * top-level fields arrive decoded to their value type. Empty batches are not emitted.
 *
 * <p>Resources: the source borrows the parent allocator given to {@link #builder}; on {@link
 * #start} it makes a child allocator named {@code crest-flight-source} and one {@link
 * FlightClient} per distinct server, and {@link #close} releases them, the allocator last. The
 * source holds nothing before {@link #start}.
 *
 * <p>Thread-safety: the configuration is immutable; {@link #start} and {@link #close} may be
 * called from any thread and are serialised. The reader threads call the {@link SourceContext}
 * concurrently, one thread per stream.
 */
public final class FlightSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(FlightSource.class);
  private static final String ALLOCATOR_NAME = "crest-flight-source";

  private enum State {
    NEW,
    STARTED,
    CLOSED
  }

  private final BufferAllocator parentAllocator;
  private final List<StreamSpec> streams;
  private final String name;

  private final Object lock = new Object();
  // Guarded by lock.
  private State state = State.NEW;
  private BufferAllocator allocator;
  private final List<FlightClient> clients = new ArrayList<>();
  private final List<StreamReader> readers = new ArrayList<>();

  private FlightSource(BufferAllocator parentAllocator, List<StreamSpec> streams) {
    this.parentAllocator = parentAllocator;
    this.streams = streams;
    List<String> ids = new ArrayList<>();
    for (StreamSpec stream : streams) {
      ids.add(stream.id());
    }
    this.name = "flight[" + String.join(", ", ids) + "]";
  }

  /**
   * Starts configuring a source whose buffers are allocated below {@code parentAllocator}. The
   * caller keeps owning the parent allocator and closes it after closing the source.
   */
  public static Builder builder(BufferAllocator parentAllocator) {
    return new Builder(parentAllocator);
  }

  /** Returns {@code flight[<stream ids, sorted>]}, for example {@code flight[customers, orders]}. */
  @Override
  public String name() {
    return name;
  }

  /**
   * Creates a Flight client per server and starts one reader thread per stream, named {@code
   * crest-flight-<stream id>}; returns without waiting for a connection or data. Connection and
   * read failures are not thrown here but reported to {@link SourceContext#fail} as a {@link
   * SourceException} carrying the stream id and the Flight status code. When every stream has
   * ended, the source calls {@link SourceContext#complete} once.
   *
   * @throws NullPointerException if {@code context} is null
   * @throws IllegalStateException if the source was started or closed before
   * @throws SourceException if a resume position is not a row offset, or the source cannot start
   */
  @Override
  public void start(SourceContext context) {
    Objects.requireNonNull(context, "context");
    synchronized (lock) {
      if (state != State.NEW) {
        throw new IllegalStateException(
            "Cannot start source " + name + ": it is "
                + (state == State.STARTED ? "started already" : "closed")
                + " (a source starts once; build a new one)");
      }
      Map<String, Long> offsets = resumeOffsets(context.resumePositions());
      state = State.STARTED;
      try {
        open(context, offsets);
      } catch (RuntimeException | Error e) {
        try {
          release();
        } catch (RuntimeException closing) {
          e.addSuppressed(closing);
        }
        if (e instanceof Error) {
          throw (Error) e;
        }
        throw new SourceException("Cannot start source " + name + ": " + e, null, null, e);
      }
    }
  }

  private Map<String, Long> resumeOffsets(Map<String, SourcePosition> positions) {
    Map<String, Long> offsets = new HashMap<>();
    for (StreamSpec stream : streams) {
      SourcePosition position = positions.get(stream.id());
      if (position == null) {
        continue;
      }
      try {
        offsets.put(stream.id(), position.asOffset());
      } catch (IllegalArgumentException e) {
        throw new SourceException(
            "Cannot resume stream " + stream.id() + " at position '" + position
                + "': it is not a row offset (it was not recorded by a Flight source;"
                + " read the stream under a new pipeline id)",
            stream.id(),
            null,
            e);
      }
    }
    Set<String> unknown = new TreeSet<>(positions.keySet());
    unknown.removeAll(offsets.keySet());
    if (!unknown.isEmpty()) {
      LOG.warn("Source {} ignores the positions of streams it does not read: {}", name, unknown);
    }
    return offsets;
  }

  private void open(SourceContext context, Map<String, Long> offsets) {
    allocator = parentAllocator.newChildAllocator(ALLOCATOR_NAME, 0, Long.MAX_VALUE);
    Map<Location, FlightClient> byServer = new LinkedHashMap<>();
    AtomicInteger ended = new AtomicInteger();
    Runnable onStreamEnd = () -> {
      if (ended.incrementAndGet() == streams.size()) {
        LOG.info("Source {}: every stream ended", name);
        context.complete();
      }
    };
    for (StreamSpec stream : streams) {
      FlightClient client = byServer.get(stream.location());
      if (client == null) {
        client = FlightClient.builder(allocator, stream.location()).build();
        clients.add(client);
        byServer.put(stream.location(), client);
      }
      readers.add(
          new StreamReader(
              stream, client, allocator, context, offsets.getOrDefault(stream.id(), 0L),
              onStreamEnd));
    }
    LOG.info("Source {} starting {} streams on {} servers, resuming at {}",
        name, streams.size(), byServer.size(), new TreeMap<>(offsets));
    for (StreamReader reader : readers) {
      reader.start();
    }
  }

  /**
   * Stops the readers (cancelling their calls and interrupting a wait in {@link
   * SourceContext#emit}), waits for them to end, then closes the Flight clients and the source's
   * allocator. Safe to call more than once and before {@link #start}; a closed source cannot be
   * started.
   *
   * <p>Call it only once every batch the source emitted is closed: a batch still open then is
   * reported as a leak by the allocator.
   *
   * @throws IllegalStateException if the source's allocator still holds memory (a leak)
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (state == State.CLOSED) {
        return;
      }
      state = State.CLOSED;
      release();
    }
  }

  /** Releases what {@link #open} made, in reverse order. Idempotent. */
  private void release() {
    RuntimeException failure = null;
    for (StreamReader reader : readers) {
      reader.stop();
    }
    for (StreamReader reader : readers) {
      reader.join();
    }
    readers.clear();
    for (FlightClient client : clients) {
      try {
        closeUninterruptibly(client);
      } catch (RuntimeException e) {
        failure = addFailure(failure, e);
      }
    }
    clients.clear();
    if (allocator != null) {
      try {
        allocator.close();
      } catch (RuntimeException e) {
        failure = addFailure(failure, e);
      }
      allocator = null;
    }
    if (failure != null) {
      throw failure;
    }
  }

  private static RuntimeException addFailure(RuntimeException first, RuntimeException next) {
    if (first == null) {
      return next;
    }
    first.addSuppressed(next);
    return first;
  }

  /**
   * Closes a client even if this thread is interrupted: an interrupted close leaves the client's
   * allocator open, which would then fail the close of the source's allocator.
   */
  private static void closeUninterruptibly(FlightClient client) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          client.close();
          return;
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

  @Override
  public String toString() {
    return name;
  }

  /**
   * Configures a {@link FlightSource}. Each setter checks its arguments at once; {@link #build}
   * checks the whole. Not thread-safe; the built source does not change when the builder is used
   * again.
   */
  public static final class Builder {
    private final BufferAllocator parentAllocator;
    private final Map<String, StreamSpec> streams = new TreeMap<>();

    private Builder(BufferAllocator parentAllocator) {
      this.parentAllocator = Objects.requireNonNull(parentAllocator, "parentAllocator");
    }

    /**
     * Adds the stream that the server at {@code uri} serves for {@code ticket}, the UTF-8 bytes
     * of the ticket text being the Flight ticket. The ticket text is also the stream id, under
     * which the stream's position is recorded.
     *
     * @param uri the server, {@code grpc://host:port} or {@code grpc+tcp://host:port}
     * @param ticket the ticket text, for example the name of a view
     * @throws IllegalArgumentException if {@code uri} is not such a URI or {@code ticket} is empty
     * @throws IllegalStateException if a stream with the id {@code ticket} was added before; use
     *     {@link #stream} to give one of them another id
     */
    public Builder endpoint(String uri, String ticket) {
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(ticket, "ticket");
      if (ticket.isEmpty()) {
        throw new IllegalArgumentException(
            "Cannot add endpoint " + uri + ": the ticket is empty (pass the name of the stream"
                + " the server serves)");
      }
      return add(StreamSpec.of(ticket, uri, ticket.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Adds the stream that the server at {@code uri} serves for {@code ticket}, with its position
     * recorded under {@code id}. The id must stay the same across restarts for the stream to
     * resume.
     *
     * @param id the stream id, not blank
     * @param uri the server, {@code grpc://host:port} or {@code grpc+tcp://host:port}
     * @param ticket the Flight ticket; its bytes are copied
     * @throws IllegalArgumentException if {@code id} is blank, {@code uri} is not such a URI, or
     *     {@code ticket} is empty
     * @throws IllegalStateException if a stream with this id was added before
     */
    public Builder stream(String id, String uri, Ticket ticket) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(ticket, "ticket");
      return add(StreamSpec.of(id, uri, ticket.getBytes()));
    }

    private Builder add(StreamSpec stream) {
      StreamSpec earlier = streams.get(stream.id());
      if (earlier != null) {
        throw new IllegalStateException(
            "Cannot add stream " + stream.id() + " at " + stream.uri() + ": stream id "
                + stream.id() + " is already used by the stream at " + earlier.uri()
                + " (give each stream its own id with stream(id, uri, ticket))");
      }
      streams.put(stream.id(), stream);
      return this;
    }

    /**
     * Returns a source reading every stream added, not started. The caller owns the source and
     * closes it (a pipeline does so for the source it reads).
     *
     * @throws IllegalStateException if no stream was added
     */
    public FlightSource build() {
      if (streams.isEmpty()) {
        throw new IllegalStateException(
            "Cannot build FlightSource: it has no streams (add one with endpoint(uri, ticket) or"
                + " stream(id, uri, ticket))");
      }
      return new FlightSource(
          parentAllocator, Collections.unmodifiableList(new ArrayList<>(streams.values())));
    }
  }
}
