package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running part of a {@link FlightSource}: its reader and discovery threads, Flight clients
 * and allocator, from {@link #start} to {@link #close}. A source has one run; the run starts
 * once. Thread-safety and ownership as documented on {@link FlightSource}.
 */
final class FlightReadRun {
  private static final Logger LOG = LoggerFactory.getLogger(FlightSource.class);
  private static final String ALLOCATOR_NAME = "crest-flight-source";

  private enum State {
    NEW,
    STARTED,
    CLOSED
  }

  private final BufferAllocator parentAllocator;
  private final List<StreamSpec> streams;
  private final List<FlightSource.DiscoverySpec> discoveries;
  private final ReadSettings settings;
  private final String name;
  private final Shard shard;
  // Sharded: every discovered stream's newest position over all shards' last commits (any shard
  // count), read at start; null when not sharded or the sink cannot list them.
  private Map<String, SourcePosition> newestPositions;

  private final Object closeLock = new Object();
  private final Object lock = new Object();
  // Guarded by lock.
  private State state = State.NEW;
  private BufferAllocator allocator;
  private ClientPool clients;
  private Semaphore permits;
  private SourceContext context;
  private final List<StreamReader> readers = new ArrayList<>();
  private final List<Discovery> running = new ArrayList<>();
  private final AtomicInteger openUnits = new AtomicInteger();

  FlightReadRun(
      BufferAllocator parentAllocator,
      List<StreamSpec> streams,
      List<FlightSource.DiscoverySpec> discoveries,
      ReadSettings settings,
      String name,
      Shard shard) {
    this.shard = shard;
    this.parentAllocator = parentAllocator;
    this.streams = streams;
    this.discoveries = discoveries;
    this.settings = settings;
    this.name = name;
  }

  /**
   * Starts one reader thread per configured stream, named {@code crest-flight-<stream id>}, and
   * one thread per discovery, which starts a reader per endpoint it finds; returns without waiting
   * for a connection or data. Connection and read failures are not thrown here but reported to
   * {@link SourceContext#fail} as a {@link SourceException} carrying the stream id and the Flight
   * status code. When every replayed stream has ended (and no incremental stream is read), the
   * source calls {@link SourceContext#complete} once.
   *
   * @throws NullPointerException if {@code context} is null
   * @throws IllegalStateException if the source was started or closed before
   * @throws SourceException if the resume position of a replayed stream is not a row offset
   */
  void start(SourceContext context) {
    Objects.requireNonNull(context, "context");
    List<StreamReader> startedReaders;
    List<Discovery> startedDiscoveries;
    Throwable failure;
    synchronized (lock) {
      if (state != State.NEW) {
        throw new IllegalStateException(
            "Cannot start source " + name + ": it is "
                + (state == State.STARTED ? "started already" : "closed")
                + " (a source starts once; build a new one)");
      }
      warnAboutUnknownPositions(context.resumePositions());
      state = State.STARTED;
      this.context = context;
      try {
        // Every reader is built (checking its resume position) before any thread starts.
        open(context);
        return;
      } catch (RuntimeException | Error e) {
        failure = e;
        startedReaders = new ArrayList<>(readers);
        startedDiscoveries = new ArrayList<>(running);
        state = State.CLOSED;
      }
    }
    // Outside the lock, as in close(): a discovery thread may be waiting for it.
    try {
      release(startedReaders, startedDiscoveries);
    } catch (RuntimeException closing) {
      failure.addSuppressed(closing);
    }
    if (failure instanceof Error) {
      throw (Error) failure;
    }
    if (failure instanceof SourceException) {
      throw (SourceException) failure;
    }
    throw new SourceException("Cannot start source " + name + ": " + failure, null, null, failure);
  }

  private void warnAboutUnknownPositions(Map<String, SourcePosition> positions) {
    Set<String> unknown = new TreeSet<>(positions.keySet());
    for (StreamSpec stream : streams) {
      unknown.remove(stream.id());
    }
    for (FlightSource.DiscoverySpec discovery : discoveries) {
      unknown.removeIf(id -> id.startsWith(discovery.id + "/"));
    }
    if (!unknown.isEmpty()) {
      LOG.warn("Source {} ignores the positions of streams it does not read: {}", name, unknown);
    }
  }

  // Called with lock held.
  private void open(SourceContext context) {
    allocator = parentAllocator.newChildAllocator(ALLOCATOR_NAME, 0, Long.MAX_VALUE);
    clients = new ClientPool(allocator, settings.security, settings.callTimeout);
    permits = new Semaphore(settings.maxConcurrentStreams);
    openUnits.set(streams.size() + discoveries.size());
    if (shard != null) {
      newestPositions = ShardPositions.newest(context, shard, name);
    }
    for (StreamSpec stream : streams) {
      readers.add(reader(stream, context.resumePositions().get(stream.id())));
    }
    for (FlightSource.DiscoverySpec spec : discoveries) {
      running.add(
          new Discovery(
              spec.id, spec.server, spec.descriptor, clients, settings,
              found -> discovered(spec, found),
              error -> context.fail(error)));
    }
    LOG.info("Source {} starting {} streams and {} discoveries, resuming at {}",
        name, streams.size(), discoveries.size(), new TreeMap<>(context.resumePositions()));
    for (StreamReader reader : readers) {
      reader.start();
    }
    for (Discovery discovery : running) {
      discovery.start();
    }
  }

  private StreamReader reader(StreamSpec stream, SourcePosition position) {
    return new StreamReader(
        stream, clients, settings, permits, allocator, context, position, this::unitEnded);
  }

  private void unitEnded() {
    if (openUnits.decrementAndGet() == 0) {
      LOG.info("Source {}: every stream ended", name);
      context.complete();
    }
  }

  /** Starts readers for the streams a discovery found; called on the discovery's thread. */
  private void discovered(FlightSource.DiscoverySpec spec, List<StreamSpec> found) {
    synchronized (lock) {
      if (state != State.STARTED) {
        return;
      }
      Set<String> used = new TreeSet<>();
      for (StreamReader reader : readers) {
        used.add(reader.streamId());
      }
      List<StreamSpec> owned = found;
      Set<String> rehomed = new TreeSet<>();
      if (shard != null) {
        owned = ShardPositions.owned(shard, spec.id, found);
        LOG.info("Discovery {} at {}: {} reads {} of the {} streams found", spec.id, spec.uri,
            shard, owned.size(), found.size());
      }
      List<StreamReader> added = new ArrayList<>();
      for (StreamSpec stream : owned) {
        if (used.contains(stream.id())) {
          context.fail(new SourceException(
              "Cannot read discovered stream " + stream.id() + " from " + spec.uri
                  + ": another stream has the same id (give the discovery another id)",
              stream.id(), null, null));
          return;
        }
        SourcePosition own = context.resumePositions().get(stream.id());
        SourcePosition newest = newestPositions == null ? null : newestPositions.get(stream.id());
        SourcePosition position = newest != null ? newest : own;
        if (own != null && !own.equals(position)) {
          rehomed.add(stream.id()); // another shard read it since: its own entry is stale
        }
        try {
          added.add(reader(stream, position));
        } catch (SourceException e) {
          context.fail(e);
          return;
        }
        if (position != null) {
          LOG.debug("Discovered stream {} resumes after {}", stream.id(), position);
        }
      }
      forgetVanishedStreams(spec, found);
      if (shard != null) {
        ShardPositions.forgetStale(context, spec.id, rehomed);
      }
      openUnits.addAndGet(added.size());
      readers.addAll(added);
      for (StreamReader reader : added) {
        reader.start();
      }
    }
    unitEnded();
  }

  /**
   * Forgets the positions of the streams of {@code spec} that the last commit has and the server
   * no longer lists: this run cannot read them, so without this their positions would stay in
   * every later commit. If the server lists such a stream again later, it is read from its start.
   */
  private void forgetVanishedStreams(FlightSource.DiscoverySpec spec, List<StreamSpec> found) {
    Set<String> vanished = new TreeSet<>();
    for (String id : context.resumePositions().keySet()) {
      if (id.startsWith(spec.id + "/")) {
        vanished.add(id);
      }
    }
    for (StreamSpec stream : found) {
      vanished.remove(stream.id());
    }
    if (!vanished.isEmpty()) {
      LOG.warn("Discovery {} at {} no longer lists streams {} that the last commit has positions"
              + " for; their positions are dropped from the next commit (if the server lists"
              + " them again, or gave them new tickets, they are read again from the start)",
          spec.id, spec.uri, vanished);
      context.forget(vanished);
    }
  }

  /**
   * Stops the readers and discoveries (cancelling their calls and interrupting a wait in {@link
   * SourceContext#emit}), waits for them to end, then closes the Flight clients and the source's
   * allocator. Safe to call more than once and before {@link #start}; a closed source cannot be
   * started.
   *
   * <p>Call it only once every batch the source emitted is closed: a batch still open then is
   * reported as a leak by the allocator.
   *
   * @throws IllegalStateException if the source's allocator still holds memory (a leak)
   */
  void close() {
    synchronized (closeLock) {
      List<StreamReader> toStop;
      List<Discovery> discoveriesToStop;
      synchronized (lock) {
        if (state == State.CLOSED) {
          return;
        }
        state = State.CLOSED;
        toStop = new ArrayList<>(readers);
        discoveriesToStop = new ArrayList<>(running);
      }
      // Outside the lock: a discovery thread may be waiting for it to add readers.
      release(toStop, discoveriesToStop);
    }
  }

  /** Releases what {@link #open} made, in reverse order. */
  private void release(List<StreamReader> toStop, List<Discovery> discoveriesToStop) {
    RuntimeException failure = null;
    for (Discovery discovery : discoveriesToStop) {
      discovery.stop();
    }
    for (StreamReader reader : toStop) {
      reader.stop();
    }
    for (Discovery discovery : discoveriesToStop) {
      discovery.join();
    }
    List<StreamReader> all;
    synchronized (lock) {
      all = new ArrayList<>(readers); // readers a discovery added before the state changed
      readers.clear();
      running.clear();
    }
    for (StreamReader reader : all) {
      reader.stop();
    }
    for (StreamReader reader : all) {
      reader.join();
    }
    if (clients != null) {
      try {
        clients.close();
      } catch (RuntimeException e) {
        failure = addFailure(failure, e);
      }
    }
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

  /** How often the readers scheduled a reconnect after a transient failure, for tests. */
  int reconnects() {
    synchronized (lock) {
      int sum = 0;
      for (StreamReader reader : readers) {
        sum += reader.reconnects();
      }
      return sum;
    }
  }
}
