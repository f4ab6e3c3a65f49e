package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.Backoff;
import io.crest.spi.Source;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A {@link Source} that reads Arrow Flight streams, each on a thread of its own, from many servers
 * at once.
 *
 * <pre>{@code
 * FlightSource source = FlightSource.builder(allocator)
 *     .endpoint("grpc://127.0.0.1:47470", "orders_mv")                 // replayed DoGet
 *     .incremental("customers", "grpc+tls://10.0.0.2:47470", "customers_mv") // ticket convention
 *     .discover("eu", "grpc://10.0.0.3:47470", FlightDescriptor.path("sales"))  // GetFlightInfo
 *     .trustedCertificates(Path.of("ca.pem"))
 *     .basicAuth("crest", password)
 *     .build();
 * }</pre>
 *
 * <p>Three kinds of streams, any number of each:
 *
 * <ul>
 *   <li><b>Replayed</b> ({@link Builder#endpoint}, {@link Builder#stream}): one {@code DoGet} of a
 *       fixed ticket. The server sends the stream from its start on every call and may keep the
 *       call open and extend it (a live view). The position is the number of rows read ({@link
 *       SourcePosition#ofOffset}); after a reconnect or a restart the rows up to it are dropped on
 *       the client, so the server must replay the same rows in the same order (append-only). The
 *       stream ends when the server ends the call.
 *   <li><b>Incremental</b> ({@link Builder#incremental}): the ticket is an {@link
 *       IncrementalTicket} carrying the last position, and the server sends only what follows it,
 *       each batch with the position after it as application metadata (see {@code
 *       docs/flight-tickets.md}). When a call ends the source asks again: at once if the call
 *       brought rows, else after the poll interval. The stream never ends. Nothing is read
 *       twice.
 *   <li><b>Discovered</b> ({@link Builder#discover}): {@code GetFlightInfo} of a descriptor; every
 *       endpoint of the answer is a stream with id {@code <id>/<ticket>} (see {@link
 *       Builder#discover}), read from its locations in order, incremental if its ticket follows
 *       the convention and replayed otherwise. The positions of streams the server no longer
 *       lists are dropped from the committed state (see {@link Builder#discover}).
 * </ul>
 *
 * <p>Failures: a call that fails with a transient status ({@code UNAVAILABLE}, {@code TIMED_OUT},
 * {@code RESOURCE_EXHAUSTED}, {@code CANCELLED} by the server) is retried after a jittered
 * exponential backoff, on the stream's next location, resuming after the last batch emitted; the
 * count of attempts starts again once a batch arrives. Any other status (for example {@code
 * NOT_FOUND}, {@code UNAUTHENTICATED}, {@code INVALID_ARGUMENT}, {@code INTERNAL}), a TLS
 * handshake failure, or running out of attempts fails the source at once with a {@link
 * SourceException} naming the stream, the server and the Flight status code.
 *
 * <p>Batches: each emitted {@link io.crest.spi.SourceBatch} owns vectors of its own (the Flight
 * stream's reused root is never handed out), allocated in this source's allocator;
 * dictionary-encoded top-level fields arrive decoded to their value type. Empty batches are not
 * emitted.
 *
 * <p>Resources: the source borrows the parent allocator given to {@link #builder}; on {@link
 * #start} it makes a child allocator named {@code crest-flight-source}; the readers make one
 * {@link FlightClient} per server on first use, and {@link #close} releases them, the allocator
 * last. The source holds nothing before {@link #start}. Secrets (password, token, private key)
 * never appear in logs, messages or {@link #toString}.
 *
 * <p>Thread-safety: the configuration is immutable; {@link #start} and {@link #close} may be
 * called from any thread and are serialised. The reader threads call the {@link SourceContext}
 * concurrently, one thread per stream.
 */
public final class FlightSource implements Source {
  /** A configured discovery. */
  static final class DiscoverySpec {
    final String id;
    final String uri;
    final StreamSpec.Endpoint server;
    final FlightDescriptor descriptor;

    DiscoverySpec(String id, String uri, FlightDescriptor descriptor) {
      this.id = id;
      this.uri = uri;
      this.server = new StreamSpec.Endpoint(StreamSpec.parseLocation(uri), uri);
      this.descriptor = descriptor;
    }
  }

  private final BufferAllocator parentAllocator;
  private final List<StreamSpec> streams;
  private final List<DiscoverySpec> discoveries;
  private final ReadSettings settings;
  private final String name;

  private final FlightReadRun run;
  private final Shard shard;

  private FlightSource(
      BufferAllocator parentAllocator,
      List<StreamSpec> streams,
      List<DiscoverySpec> discoveries,
      ReadSettings settings,
      Shard shard) {
    this.parentAllocator = parentAllocator;
    this.streams = streams;
    this.discoveries = discoveries;
    this.settings = settings;
    List<String> ids = new ArrayList<>();
    for (StreamSpec stream : streams) {
      ids.add(stream.id());
    }
    for (DiscoverySpec discovery : discoveries) {
      ids.add(discovery.id + "/*");
    }
    Collections.sort(ids);
    this.shard = shard;
    this.name = "flight[" + String.join(", ", ids) + (shard == null ? "" : " " + shard) + "]";
    this.run = new FlightReadRun(parentAllocator, streams, discoveries, settings, name, shard);
  }

  /**
   * Starts configuring a source whose buffers are allocated below {@code parentAllocator}. The
   * caller keeps owning the parent allocator and closes it after closing the source.
   */
  public static Builder builder(BufferAllocator parentAllocator) {
    return new Builder(parentAllocator);
  }

  /**
   * Returns {@code flight[<stream ids, sorted>]}, a discovery counting as {@code <id>/*}, for
   * example {@code flight[customers, eu/*, orders]}.
   */
  @Override
  public String name() {
    return name;
  }

  /**
   * Returns {@code configuredId} unsharded, else {@code <configuredId>-shard-<index>-of-<count>}
   * (see {@link Builder#shard}): each shard records its own positions and is fenced on its own.
   */
  @Override
  public String pipelineId(String configuredId) {
    Objects.requireNonNull(configuredId, "configuredId");
    return shard == null ? configuredId : configuredId + shard.idSuffix();
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
  @Override
  public void start(SourceContext context) {
    run.start(context);
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
  @Override
  public void close() {
    run.close();
  }

  /** How often the readers scheduled a reconnect after a transient failure, for tests. */
  int reconnects() {
    return run.reconnects();
  }

  @Override
  public String toString() {
    return name;
  }

  /**
   * Configures a {@link FlightSource}. Each setter checks its arguments at once; {@link #build}
   * checks the whole. Not thread-safe; the built source does not change when the builder is used
   * again. Its {@link #toString} never shows a secret.
   */
  public static final class Builder {
    private static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);

    private final BufferAllocator parentAllocator;
    private final Map<String, StreamSpec> streams = new TreeMap<>();
    private final Map<String, DiscoverySpec> discoveries = new TreeMap<>();
    private Duration pollInterval;
    private Integer maxConcurrentStreams;
    private Shard shard;
    private final ConnectionOptions connection = new ConnectionOptions();

    private Builder(BufferAllocator parentAllocator) {
      this.parentAllocator = Objects.requireNonNull(parentAllocator, "parentAllocator");
    }

    /**
     * Adds the replayed stream that the server at {@code uri} serves for {@code ticket}, the
     * UTF-8 bytes of the ticket text being the Flight ticket. The ticket text is also the stream
     * id, under which the stream's position is recorded.
     *
     * @param uri the server, {@code grpc://host:port}, {@code grpc+tcp://host:port} or {@code
     *     grpc+tls://host:port}
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
      return add(StreamSpec.replay(ticket, uri, ticket.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * Adds the replayed stream that the server at {@code uri} serves for {@code ticket}, with its
     * position recorded under {@code id}. The id must stay the same across restarts for the stream
     * to resume.
     *
     * @param id the stream id, not blank
     * @param uri the server, {@code grpc://host:port}, {@code grpc+tcp://host:port} or {@code
     *     grpc+tls://host:port}
     * @param ticket the Flight ticket; its bytes are copied
     * @throws IllegalArgumentException if {@code id} is blank, {@code uri} is not such a URI, or
     *     {@code ticket} is empty
     * @throws IllegalStateException if a stream with this id was added before
     */
    public Builder stream(String id, String uri, Ticket ticket) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(ticket, "ticket");
      return add(StreamSpec.replay(id, uri, ticket.getBytes()));
    }

    /**
     * Adds an incremental stream: view {@code view} of the server at {@code uri}, read with
     * {@link IncrementalTicket}s that carry the last position, its position recorded under {@code
     * id}. The stream never ends; after a call that brought no rows the source waits for the
     * {@link #pollInterval} before asking again.
     *
     * @throws IllegalArgumentException if {@code id} is blank, {@code uri} is not a supported
     *     URI, or {@code view} is empty or has a line feed
     * @throws IllegalStateException if a stream with this id was added before
     */
    public Builder incremental(String id, String uri, String view) {
      return add(StreamSpec.incremental(id, uri, view));
    }

    /**
     * Adds the streams that the server at {@code uri} lists for {@code descriptor} (a path or a
     * command): when the source starts, it calls {@code GetFlightInfo} and reads every endpoint
     * of the answer, from the endpoint's locations in order (the asked server when it lists
     * none). A stream's id is {@code <id>/<key>}: the key is the view of an incremental ticket,
     * else the ticket text if it is at most 64 printable ASCII characters, else {@code sha256-}
     * and the first 16 hex digits of the ticket's SHA-256; so positions survive restarts as long
     * as the server hands out the same tickets. A server whose tickets change between calls (for
     * example ones embedding a query id) should hand out incremental tickets, whose key is the
     * view.
     *
     * <p>Positions: a listed stream keeps its position in every commit, also after it ended, so
     * a restart resumes it (a replayed stream that ended is asked again and its rows up to the
     * position are dropped; rows appended since are read). A stream of the last commit that the
     * server no longer lists when the source starts cannot be read by this run: the source warns
     * and forgets it ({@link SourceContext#forget}), so ended streams leave the committed state
     * once the server stops listing them. If the server lists such a stream again later, it is
     * read from its start.
     *
     * @param id the discovery's id, the prefix of its streams' ids, not blank, without {@code /}
     * @throws IllegalArgumentException if {@code id} is blank or has a {@code /}, or {@code uri}
     *     is not a supported URI
     * @throws IllegalStateException if a discovery with this id was added before
     */
    public Builder discover(String id, String uri, FlightDescriptor descriptor) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(uri, "uri");
      Objects.requireNonNull(descriptor, "descriptor");
      if (id.isBlank() || id.contains("/")) {
        throw new IllegalArgumentException(
            "Cannot add discovery '" + id + "' at " + uri + ": the id must be non-blank and"
                + " have no '/'");
      }
      DiscoverySpec spec = new DiscoverySpec(id, uri, descriptor);
      DiscoverySpec earlier = discoveries.get(id);
      if (earlier != null) {
        throw new IllegalStateException(
            "Cannot add discovery " + id + " at " + uri + ": discovery id " + id
                + " is already used at " + earlier.uri);
      }
      discoveries.put(id, spec);
      return this;
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
     * Makes this source shard {@code index} of {@code count} instances that read the same
     * discoveries into one table: it reads only the discovered endpoints it owns, a stable,
     * disjoint share chosen by rendezvous hashing of each endpoint's key (its ticket, or an
     * incremental ticket's view), so that every endpoint is read by exactly one shard and adding
     * endpoints or shards moves few. Run one instance per index, each with the same pipeline id
     * and the same count.
     *
     * <p>Pipeline id: the pipeline records this shard's commits under {@code
     * <id>-shard-<index>-of-<count>} ({@link FlightSource#pipelineId}), so each shard has its own positions
     * and its own fence; {@code Pipeline#id()} returns that id and metrics are tagged with it.
     *
     * <p>Changing the count: stop every instance of the old count, then start the new ones.
     * At start each shard reads the last committed state of every pipeline {@code
     * <id>-shard-*} in the table, whatever its count, and resumes each endpoint it owns from the
     * newest position any of them committed, so an endpoint that moved to it continues where
     * its old shard stopped; it forgets the endpoints it no longer owns. Instances of two counts
     * running at once would read the moved endpoints twice: nothing can detect that, so do not.
     * The sink must list other pipelines' states ({@code SinkWriter#committedStates}; the
     * Iceberg sink does); with one that cannot, a moved endpoint is read from its start (a
     * warning says so).
     *
     * @throws IllegalArgumentException if {@code count} is below 1 or {@code index} is not in
     *     {@code [0, count)}
     * @throws IllegalStateException if a shard was set before
     */
    public Builder shard(int index, int count) {
      Shard s = new Shard(index, count);
      if (shard != null) {
        throw new IllegalStateException(
            "Cannot make the source " + s + ": it is already " + shard);
      }
      shard = s;
      return this;
    }

    /**
     * Sets the backoff between reconnect attempts: attempt {@code n} waits a random time between
     * half and all of {@code min(initial * 2^(n-1), max)}, the rule of {@link Backoff}. Defaults to
     * 100 ms up to 30 s.
     *
     * @throws IllegalArgumentException if {@code initial} is not positive or {@code max} is
     *     below {@code initial}
     * @throws IllegalStateException if the backoff was set before
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      connection.reconnectBackoff(initial, max);
      return this;
    }

    /**
     * Sets how many reconnects in a row a stream (or discovery) may try after transient failures
     * before the source fails; 0 turns reconnecting off. The count starts again once a batch
     * arrives. Defaults to 10.
     *
     * @throws IllegalArgumentException if {@code attempts} is negative
     * @throws IllegalStateException if it was set before
     */
    public Builder maxReconnectAttempts(int attempts) {
      connection.maxReconnectAttempts(attempts);
      return this;
    }

    /**
     * Sets how long an incremental stream waits, after a call that brought no rows, before asking
     * for what is new. Defaults to 1 s.
     *
     * @throws IllegalArgumentException if {@code interval} is not positive
     * @throws IllegalStateException if it was set before
     */
    public Builder pollInterval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      checkPositive("poll interval", interval);
      if (pollInterval != null) {
        throw new IllegalStateException(
            "Cannot set poll interval to " + interval + ": already set to " + pollInterval);
      }
      pollInterval = interval;
      return this;
    }

    /**
     * Sets the deadline of every call that should end: {@code GetFlightInfo}, the auth handshake
     * and each incremental {@code DoGet} (a longer one is cut and resumed after its last batch).
     * Replayed streams have no deadline, since a live view may stay open for ever. Defaults to
     * 1 minute.
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive
     * @throws IllegalStateException if it was set before
     */
    public Builder callTimeout(Duration timeout) {
      connection.callTimeout(timeout);
      return this;
    }

    /**
     * Sets how many streams may have a call open at once; the others wait for a turn (a
     * replayed live stream keeps its turn for as long as its call lasts). Defaults to no limit.
     *
     * @throws IllegalArgumentException if {@code streams} is below 1
     * @throws IllegalStateException if it was set before
     */
    public Builder maxConcurrentStreams(int streams) {
      if (streams < 1) {
        throw new IllegalArgumentException(
            "Cannot set max concurrent streams to " + streams + ": it must be at least 1");
      }
      if (maxConcurrentStreams != null) {
        throw new IllegalStateException(
            "Cannot set max concurrent streams to " + streams + ": already set to "
                + maxConcurrentStreams);
      }
      maxConcurrentStreams = streams;
      return this;
    }

    /**
     * Trusts the certificates in the PEM file {@code pemFile} (instead of the JVM's default trust
     * store) for {@code grpc+tls} servers. The file is read now.
     *
     * @throws IllegalArgumentException if the file cannot be read or holds no PEM certificate
     * @throws IllegalStateException if trusted certificates were set before
     */
    public Builder trustedCertificates(Path pemFile) {
      connection.trustedCertificates(pemFile);
      return this;
    }

    /**
     * Presents a client certificate to {@code grpc+tls} servers that require mutual TLS: the PEM
     * certificate chain and its PEM (PKCS#8) private key. Both files are read now; the key is
     * never logged.
     *
     * @throws IllegalArgumentException if a file cannot be read or holds no PEM block of its kind
     * @throws IllegalStateException if a client certificate was set before
     */
    public Builder clientCertificate(Path certificateChainPem, Path privateKeyPem) {
      connection.clientCertificate(certificateChainPem, privateKeyPem);
      return this;
    }

    /**
     * Authenticates to every server with a Flight basic-auth handshake; the bearer token the
     * server answers with is sent on every later call. The password is never logged.
     *
     * @throws IllegalArgumentException if {@code user} is empty or has a {@code :}
     * @throws IllegalStateException if credentials (basic or bearer) were set before
     */
    public Builder basicAuth(String user, String password) {
      connection.basicAuth(user, password);
      return this;
    }

    /**
     * Sends {@code Authorization: Bearer <token>} on every call. The token is never logged.
     *
     * @throws IllegalArgumentException if {@code token} is empty or has white space
     * @throws IllegalStateException if credentials (basic or bearer) were set before
     */
    public Builder bearerToken(String token) {
      connection.bearerToken(token);
      return this;
    }

    private static boolean usesTls(StreamSpec stream) {
      return stream.endpoints().stream().anyMatch(
          e -> LocationSchemes.GRPC_TLS.equals(e.location.getUri().getScheme()));
    }

    static byte[] readPem(Path file, String what, String kind) {
      byte[] bytes;
      try {
        bytes = Files.readAllBytes(file);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "Cannot read " + what + " from " + file + ": " + e, e);
      }
      if (!new String(bytes, StandardCharsets.US_ASCII).contains("-----BEGIN ")
          || !new String(bytes, StandardCharsets.US_ASCII).contains(kind + "-----")) {
        throw new IllegalArgumentException(
            "Cannot read " + what + " from " + file + ": it holds no PEM " + kind + " block");
      }
      return bytes;
    }

    private static void checkPositive(String what, Duration value) {
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(
            "Cannot set " + what + " to " + value + ": it must be positive");
      }
    }

    /**
     * Returns a source reading every stream and discovery added, not started. The caller owns
     * the source and closes it (a pipeline does so for the source it reads).
     *
     * @throws IllegalStateException if no stream or discovery was added, or TLS options are set
     *     but no stream uses {@code grpc+tls} (and there is no discovery, which may find some)
     */
    public FlightSource build() {
      if (streams.isEmpty() && discoveries.isEmpty()) {
        throw new IllegalStateException(
            "Cannot build FlightSource: it has no streams (add one with endpoint(uri, ticket),"
                + " stream(id, uri, ticket), incremental(id, uri, view) or discover(id, uri,"
                + " descriptor))");
      }
      if (connection.tlsOptionsSet() && discoveries.isEmpty()
          && streams.values().stream().noneMatch(FlightSource.Builder::usesTls)) {
        throw new IllegalStateException(
            "Cannot build FlightSource: TLS options (trustedCertificates or clientCertificate) are"
                + " set but no stream uses TLS (use grpc+tls://host:port URIs)");
      }
      if (shard != null && (discoveries.isEmpty() || !streams.isEmpty())) {
        throw new IllegalStateException(
            "Cannot build FlightSource as " + shard + ": sharding splits the endpoints of"
                + " discoveries, and this source has "
                + (discoveries.isEmpty() ? "none" : "fixed streams " + streams.keySet()
                    + " too, which every shard would read (read them in a pipeline of their own)"));
      }
      ReadSettings settings = connection.settings(
          pollInterval != null ? pollInterval : DEFAULT_POLL_INTERVAL,
          maxConcurrentStreams != null ? maxConcurrentStreams : Integer.MAX_VALUE);
      return new FlightSource(
          parentAllocator,
          Collections.unmodifiableList(new ArrayList<>(streams.values())),
          List.copyOf(discoveries.values()),
          settings,
          shard);
    }

    @Override
    public String toString() {
      return "FlightSource.Builder[streams=" + streams.keySet() + ", discoveries="
          + discoveries.keySet() + (shard == null ? "" : ", " + shard) + ", user=" + connection.user()
          + ", bearerToken=" + (connection.hasBearerToken() ? "***" : "none") + "]";
    }
  }
}
