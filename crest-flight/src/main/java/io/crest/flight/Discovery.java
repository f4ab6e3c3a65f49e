package io.crest.flight;

import io.crest.errors.SourceException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the streams of one {@link FlightDescriptor} on its own thread: calls {@code
 * GetFlightInfo} (retrying transient failures with the source's backoff) and turns every endpoint
 * of the answer into a stream to read, its id being {@code <discovery id>/<endpoint key>}.
 *
 * <p>The endpoint key is the view of an {@link IncrementalTicket}, else the ticket text when it is
 * short printable ASCII, else {@code sha256-} and 16 hex digits of the ticket's digest: stable as
 * long as the server hands out the same tickets. Lifecycle as {@link StreamReader}.
 */
final class Discovery implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Discovery.class);
  private static final int MAX_TEXT_KEY = 64;

  private final String id;
  private final StreamSpec.Endpoint server;
  private final FlightDescriptor descriptor;
  private final ClientPool clients;
  private final ReadSettings settings;
  private final Consumer<List<StreamSpec>> found;
  private final Consumer<Throwable> failed;
  private final Thread thread;

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean stopping;

  /**
   * Creates a discovery; nothing happens until {@link #start}.
   *
   * @param found called once, on the discovery's thread, with the streams found
   * @param failed called once instead of {@code found} when discovery cannot succeed
   */
  Discovery(
      String id,
      StreamSpec.Endpoint server,
      FlightDescriptor descriptor,
      ClientPool clients,
      ReadSettings settings,
      Consumer<List<StreamSpec>> found,
      Consumer<Throwable> failed) {
    this.id = id;
    this.server = server;
    this.descriptor = descriptor;
    this.clients = clients;
    this.settings = settings;
    this.found = found;
    this.failed = failed;
    this.thread = new Thread(this, "crest-flight-discover-" + id);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  void stop() {
    synchronized (lock) {
      stopping = true;
      lock.notifyAll();
    }
  }

  void join() {
    StreamReader.joinThread(thread, "the discovery " + id);
  }

  @Override
  public void run() {
    int failures = 0;
    while (!stopped()) {
      FlightInfo info;
      try (ClientPool.Lease lease = clients.acquire(server.location)) {
        try {
          info = lease.client().getInfo(descriptor, lease.options(clients.timeout()));
        } catch (RuntimeException e) {
          if (FlightErrors.isTransient(e)) {
            lease.invalidate();
          }
          throw e;
        }
      } catch (RuntimeException e) {
        if (stopped()) {
          return;
        }
        String action = "discover the streams of " + describe(descriptor);
        if (!FlightErrors.isTransient(e)) {
          failed.accept(FlightErrors.toSourceException(action, server.display, null, e, ""));
          return;
        }
        failures++;
        if (failures > settings.maxReconnectAttempts) {
          failed.accept(FlightErrors.toSourceException(action, server.display, null, e,
              "gave up after " + settings.maxReconnectAttempts + " reconnect attempts"));
          return;
        }
        Duration delay = settings.backoff.delay(failures);
        LOG.warn("Discovery {} at {} failed ({}); retrying in {} ms (attempt {} of {})",
            id, server.display, e.getMessage(), delay.toMillis(), failures,
            settings.maxReconnectAttempts);
        pause(delay);
        continue;
      }
      List<StreamSpec> streams;
      try {
        streams = streams(info);
      } catch (RuntimeException e) {
        failed.accept(e);
        return;
      }
      LOG.info("Discovery {} at {} found {} streams: {}", id, server.display, streams.size(),
          streams);
      found.accept(streams);
      return;
    }
  }

  private List<StreamSpec> streams(FlightInfo info) {
    List<StreamSpec> streams = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    int index = 0;
    for (FlightEndpoint endpoint : info.getEndpoints()) {
      byte[] ticket = endpoint.getTicket().getBytes();
      String streamId = id + "/" + key(ticket);
      if (!ids.add(streamId)) {
        streamId = streamId + "#" + index;
        ids.add(streamId);
      }
      streams.add(StreamSpec.discovered(streamId, endpoints(endpoint), ticket));
      index++;
    }
    return streams;
  }

  private List<StreamSpec.Endpoint> endpoints(FlightEndpoint endpoint) {
    List<StreamSpec.Endpoint> out = new ArrayList<>();
    for (Location location : endpoint.getLocations()) {
      String scheme = location.getUri().getScheme();
      if (LocationSchemes.REUSE_CONNECTION.equals(scheme)) {
        out.add(server);
      } else if (LocationSchemes.GRPC.equals(scheme) || LocationSchemes.GRPC_INSECURE.equals(scheme)
          || LocationSchemes.GRPC_TLS.equals(scheme)) {
        out.add(new StreamSpec.Endpoint(location, location.getUri().toString()));
      } else {
        LOG.warn("Discovery {} skips location {}: scheme {} is not supported", id,
            location.getUri(), scheme);
      }
    }
    if (endpoint.getLocations().isEmpty()) {
      out.add(server); // no location: the stream is on the server that was asked
    }
    if (out.isEmpty()) {
      throw new SourceException(
          "Cannot discover the streams of " + describe(descriptor) + " from " + server.display
              + ": an endpoint has only unsupported locations " + endpoint.getLocations()
              + " (Crest reads grpc, grpc+tcp and grpc+tls locations)",
          null, null, null);
    }
    return out;
  }

  static String key(byte[] ticket) {
    Optional<IncrementalTicket> incremental = IncrementalTicket.parse(ticket);
    if (incremental.isPresent()) {
      return incremental.get().view();
    }
    if (ticket.length <= MAX_TEXT_KEY && printable(ticket)) {
      return new String(ticket, StandardCharsets.US_ASCII);
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(ticket);
      return "sha256-" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot name a discovered stream: no SHA-256 in this JVM", e);
    }
  }

  private static boolean printable(byte[] bytes) {
    for (byte b : bytes) {
      if (b < 0x21 || b > 0x7e) {
        return false;
      }
    }
    return bytes.length > 0;
  }

  static String describe(FlightDescriptor descriptor) {
    if (descriptor.isCommand()) {
      return "command " + key(descriptor.getCommand());
    }
    return "path " + String.join("/", descriptor.getPath());
  }

  private boolean stopped() {
    synchronized (lock) {
      return stopping;
    }
  }

  private void pause(Duration delay) {
    long deadline = System.nanoTime() + delay.toNanos();
    synchronized (lock) {
      while (!stopping) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          stopping = true;
        }
      }
    }
  }
}
