package io.crest.flight;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.memory.BufferAllocator;

/**
 * The Flight clients of one source, one per server, made on first use and shared by the streams
 * of that server. A client that failed with a transient error is {@linkplain Lease#invalidate
 * invalidated}: later leases get a fresh one (a fresh gRPC channel, without the channel's own
 * reconnect backoff), and the old one is closed when its last lease is returned.
 *
 * <p>Thread-safe. {@link #close} closes every client and is called once no lease is in use.
 */
final class ClientPool implements AutoCloseable {
  private final BufferAllocator allocator;
  private final ClientSecurity security;
  private final Duration callTimeout;

  private final Object lock = new Object();
  // Guarded by lock.
  private final Map<Location, Entry> current = new HashMap<>();
  private final List<Entry> all = new ArrayList<>();
  private boolean closed;

  ClientPool(BufferAllocator allocator, ClientSecurity security, Duration callTimeout) {
    this.allocator = allocator;
    this.security = security;
    this.callTimeout = callTimeout;
  }

  /** The deadline option of a call that must not take longer than the configured call timeout. */
  CallOption timeout() {
    return CallOptions.timeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Lends the client of {@code location}, connecting (and authenticating) first if there is none.
   *
   * @throws org.apache.arrow.flight.FlightRuntimeException if the handshake fails
   * @throws IllegalStateException if the pool is closed
   */
  Lease acquire(Location location) {
    synchronized (lock) {
      checkOpen();
      Entry entry = current.get(location);
      if (entry != null) {
        entry.refs++;
        return new Lease(entry);
      }
    }
    ClientSecurity.Connection connection = security.connect(allocator, location, timeout());
    synchronized (lock) {
      Entry existing = current.get(location);
      if (closed || existing != null) {
        closeUninterruptibly(connection.client);
        checkOpen();
        existing.refs++;
        return new Lease(existing);
      }
      Entry entry = new Entry(location, connection);
      entry.refs = 1;
      current.put(location, entry);
      all.add(entry);
      return new Lease(entry);
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("Cannot connect: the Flight source is closing");
    }
  }

  /** Closes every client, in use or not. Idempotent. */
  @Override
  public void close() {
    List<Entry> toClose;
    synchronized (lock) {
      closed = true;
      toClose = new ArrayList<>(all);
      all.clear();
      current.clear();
    }
    for (Entry entry : toClose) {
      entry.closeClient();
    }
  }

  /** A close that an interrupt can cut short, as Flight's clients and servers have. */
  interface InterruptibleClose {
    void close() throws InterruptedException;
  }

  /**
   * Closes a client even if this thread is interrupted: an interrupted close leaves the client's
   * allocator open, which would then fail the close of the source's allocator.
   */
  static void closeUninterruptibly(FlightClient client) {
    closeUninterruptibly((InterruptibleClose) client::close);
  }

  /** Closes a Flight client or server, retrying when interrupted; the interrupt is kept. */
  static void closeUninterruptibly(InterruptibleClose closeable) {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          closeable.close();
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

  private final class Entry {
    final Location location;
    final ClientSecurity.Connection connection;
    // Guarded by lock.
    int refs;
    boolean invalid;
    boolean clientClosed;

    Entry(Location location, ClientSecurity.Connection connection) {
      this.location = location;
      this.connection = connection;
    }

    void closeClient() {
      synchronized (lock) {
        if (clientClosed) {
          return;
        }
        clientClosed = true;
      }
      closeUninterruptibly(connection.client);
    }
  }

  /** One use of a client; return it with {@link #close}. Used by one thread. */
  final class Lease implements AutoCloseable {
    private final Entry entry;
    private boolean returned;

    private Lease(Entry entry) {
      this.entry = entry;
    }

    FlightClient client() {
      return entry.connection.client;
    }

    /** The credentials to pass with every call, plus {@code extra}. */
    CallOption[] options(CallOption... extra) {
      List<CallOption> options = new ArrayList<>(entry.connection.credentials);
      options.addAll(List.of(extra));
      return options.toArray(new CallOption[0]);
    }

    /** Marks the client as broken: later leases of its server get a new one. */
    void invalidate() {
      synchronized (lock) {
        entry.invalid = true;
        if (current.get(entry.location) == entry) {
          current.remove(entry.location);
        }
      }
    }

    @Override
    public void close() {
      boolean closeClient;
      synchronized (lock) {
        if (returned) {
          return;
        }
        returned = true;
        entry.refs--;
        closeClient = entry.invalid && entry.refs == 0;
        if (closeClient) {
          all.remove(entry);
        }
      }
      if (closeClient) {
        entry.closeClient();
      }
    }
  }
}
