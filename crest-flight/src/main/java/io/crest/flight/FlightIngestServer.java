package io.crest.flight;

import io.crest.DataSize;
import io.crest.errors.SourceException;
import io.crest.spi.Source;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Flight server embedded in the application that producers push Arrow batches to ({@code
 * DoPut}); each table it serves is the {@link Source} of a pipeline, and a batch is acknowledged
 * to its producer only once a commit made it durable.
 *
 * <pre>{@code
 * try (FlightIngestServer server =
 *         FlightIngestServer.builder(allocator, "grpc+tls://0.0.0.0:47480")
 *         .table("shop.orders")
 *         .certificate(Path.of("server.pem"), Path.of("server-key.pem"))
 *         .user("producer", password)
 *         .build();
 *     Pipeline pipeline = Pipeline.from(server.source("shop.orders")).id("ingest-orders").to(sink)) {
 *   pipeline.start();
 *   ...
 * }
 * }</pre>
 *
 * <p>The protocol (see {@code docs/flight-tickets.md}):
 *
 * <ul>
 *   <li>The put's descriptor is the path {@code [<table>]} or {@code [<table>, <producer id>]}. A
 *       table the server was not built with is {@code NOT_FOUND}; a known table whose pipeline is
 *       not running (not started yet, restarting, stopped) is {@code UNAVAILABLE}: retry.
 *   <li>With a producer id, every batch carries as application metadata its sequence number, the
 *       UTF-8 decimal text of a number from 1, increasing across the producer's puts and
 *       restarts (gaps allowed). The producer id is the stream id and the sequence the stream's
 *       position, so they are committed with the rows; a batch whose sequence is at or below what
 *       the table already has is not written again, only acknowledged. Exactly once.
 *   <li>Without a producer id, batches are delivered at least once: a put that fails after a
 *       commit but before its acknowledgement, re-sent, is written twice.
 *   <li>Every batch is acknowledged by one {@link PutResult}, in batch order, whose metadata is
 *       the batch's own (its sequence number), sent when a commit covers the batch. A batch the
 *       sink rejects and the pipeline writes to its dead-letter directory instead ({@code
 *       Pipeline.Builder#deadLetter}) is acknowledged once that file is on disk, with the
 *       metadata {@code dead-letter <file name> } followed by the batch's own; without a
 *       dead-letter directory such a batch fails the pipeline. An empty batch is acknowledged at
 *       once. The call completes after the producer ended it and every batch was acknowledged. If
 *       the pipeline fails first, the call fails with {@code UNAVAILABLE} as soon as the failure
 *       is known (not only when the pipeline is closed); if it stops or the server closes first,
 *       likewise: re-send every batch that has no acknowledgement.
 *   <li>Back-pressure: when the pipeline's buffer is full the put waits before reading more, and
 *       Flight's flow control makes the producer's {@code putNext} wait.
 *   <li>Schema: before any row of a put is accepted, its schema is checked against the table by
 *       the sink under the table's evolution policy ({@code SourceContext.checkSchema}), and a
 *       table added with {@link Builder#table(String, Schema)} also requires exactly that schema;
 *       a put that fails either check ends with {@code INVALID_ARGUMENT} naming the difference,
 *       while other producers go on.
 * </ul>
 *
 * <p>Defences (see {@code docs/flight-tickets.md}, Security and Limits): a server listening beyond
 * loopback must require credentials (users, bearer tokens or client certificates) unless {@link
 * Builder#allowUnauthenticated} is called; users and tokens may be limited to some tables
 * ({@code UNAUTHORIZED} otherwise); {@link Builder#maxConcurrentPuts}, {@link
 * Builder#maxBufferedBytesPerProducer}, {@link Builder#maxMessageSize} and {@link
 * Builder#idleTimeout} bound what one producer can hold; and every batch is validated before it
 * reaches the pipeline, so a corrupt one fails its own put with {@code INVALID_ARGUMENT}.
 *
 * <p>Resources: the server borrows the parent allocator, makes a child named {@code
 * crest-flight-ingest-server} (with a child {@code crest-flight-ingest-server-transport} for Flight's
 * own buffers, and one per running table source), and listens from
 * {@link Builder#build} until {@link #close}. Close the pipelines reading its tables first, then
 * the server. Thread-safe.
 */
public final class FlightIngestServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FlightIngestServer.class);
  private static final String ALLOCATOR_NAME = "crest-flight-ingest-server";

  private final BufferAllocator allocator;
  private final BufferAllocator transport;
  private final FlightServer server;
  private final String scheme;
  private final String host;
  private final List<String> tables;
  private final PutHandler puts;
  private final PutLimits limits;

  private final Object lock = new Object();
  // Guarded by lock.
  private final Map<String, IngestSource> current = new TreeMap<>();
  private boolean closed;
  private boolean allocatorClosed;

  private FlightIngestServer(Builder builder) {
    this.tables = List.copyOf(builder.tables);
    this.scheme = builder.location.getUri().getScheme();
    this.host = builder.location.getUri().getHost();
    this.limits = new PutLimits(builder.maxConcurrentPuts, builder.maxBufferedBytes,
        builder.maxMessageSize, builder.idleTimeout, scheme + "://" + host);
    this.puts = new PutHandler(this, tables, builder.schemas, builder.security.grants(), limits);
    this.allocator = builder.parentAllocator.newChildAllocator(ALLOCATOR_NAME, 0, Long.MAX_VALUE);
    // Flight's own buffers (messages as they arrive, each put's reused root) apart from Crest's.
    this.transport = allocator.newChildAllocator(ALLOCATOR_NAME + "-transport", 0, Long.MAX_VALUE);
    try {
      FlightServer.Builder server =
          FlightServer.builder(transport, builder.location, new Producer());
      // Deliberate: Flight's default is unlimited, which lets one message take any memory.
      server.maxInboundMessageSize((int) builder.maxMessageSize.toBytes());
      builder.security.configure(server);
      this.server = server.build().start();
    } catch (IOException | RuntimeException e) {
      limits.close();
      transport.close();
      allocator.close();
      throw new SourceException("Cannot start Flight ingest server at " + builder.uri + ": "
          + e.getMessage() + " (is the port in use, or are the certificate and key valid PEM?)",
          null, null, e);
    }
    LOG.info("Flight ingest server listening at {} for tables {} (maxConcurrentPuts {},"
        + " maxBufferedBytesPerProducer {}, maxMessageSize {}, idleTimeout {})", uri(), tables,
        builder.maxConcurrentPuts, builder.maxBufferedBytes, builder.maxMessageSize,
        builder.idleTimeout);
    if (builder.security.unauthenticatedAllowed()) {
      LOG.warn("Flight ingest server at {} accepts puts from anyone who can reach it:"
          + " allowUnauthenticated() was set and no user, bearer token or client certificate is"
          + " required", uri());
    }
  }

  /**
   * Starts configuring a server listening at {@code uri} ({@code grpc://host:port} or {@code
   * grpc+tls://host:port}; port 0 picks a free one) whose buffers come from a child of {@code
   * parentAllocator}. The caller keeps owning the parent and closes it after the server.
   *
   * @throws IllegalArgumentException if {@code uri} is not such a URI
   */
  public static Builder builder(BufferAllocator parentAllocator, String uri) {
    return new Builder(parentAllocator, uri);
  }

  /** The address producers connect to, with the actual port. */
  public String uri() {
    return scheme + "://" + host + ":" + server.getPort();
  }

  /** The port the server listens on. */
  public int port() {
    return server.getPort();
  }

  /** The number of puts running now (for tests and monitoring). */
  int runningPuts() {
    return limits.running();
  }

  /** The tables this server accepts puts for, in the order they were added. */
  public List<String> tables() {
    return tables;
  }

  /**
   * Returns a new, unstarted source of the puts for {@code table}, for one pipeline run. Puts for
   * the table are accepted while the source is started, and refused with {@code UNAVAILABLE}
   * before and after. A restarted pipeline asks for a new source.
   *
   * @throws IllegalArgumentException if the server was not built with {@code table}
   * @throws IllegalStateException if the table already has a source that is not closed, or the
   *     server is closed
   */
  public Source source(String table) {
    Objects.requireNonNull(table, "table");
    if (!tables.contains(table)) {
      throw new IllegalArgumentException("Cannot make a source for table " + table + ": the"
          + " server was built for tables " + tables + " (add it with table(name))");
    }
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(
            "Cannot make a source for table " + table + ": the server is closed");
      }
      IngestSource existing = current.get(table);
      if (existing != null) {
        throw new IllegalStateException("Cannot make a source for table " + table + ": "
            + existing + " is still open (close the pipeline that reads it first)");
      }
      IngestSource source = new IngestSource(this, table);
      current.put(table, source);
      return source;
    }
  }

  BufferAllocator allocator() {
    return allocator;
  }

  /** The allocator Flight's transport uses (a child of {@link #allocator}). */
  BufferAllocator transportAllocator() {
    return transport;
  }

  /** The running source of {@code table}, or null. */
  IngestSource current(String table) {
    synchronized (lock) {
      return current.get(table);
    }
  }

  /** Forgets {@code source} as its table's source; called when it closes. */
  void detach(IngestSource source) {
    synchronized (lock) {
      current.remove(source.table(), source);
    }
  }

  /**
   * Stops listening, failing the puts still waiting for an acknowledgement, and releases the
   * server's allocator. Close the pipelines reading this server's tables first. Safe to call
   * twice.
   *
   * @throws IllegalStateException if a pipeline still reads one of the tables; the server then
   *     stops listening but keeps its allocator open, since the pipeline's batches live in it;
   *     close it again once the pipeline stopped
   */
  @Override
  public void close() {
    List<IngestSource> open;
    boolean first;
    synchronized (lock) {
      if (allocatorClosed) {
        return;
      }
      first = !closed;
      closed = true;
      open = new ArrayList<>(current.values());
    }
    List<String> running = new ArrayList<>();
    for (IngestSource source : open) {
      if (source.isStarted()) {
        running.add(source.table());
        source.failPuts("Cannot finish the put: the ingest server is closing (re-send every"
            + " batch without an acknowledgement)");
      } else {
        source.close(); // never started: holds nothing
      }
    }
    if (first) {
      ClientPool.closeUninterruptibly(server::close);
      limits.close();
    }
    if (!running.isEmpty()) {
      throw new IllegalStateException("Cannot close FlightIngestServer at " + scheme + "://"
          + host + " completely: tables " + running + " are still read by pipelines (stop"
          + " those pipelines, then close the server again to release its allocator)");
    }
    synchronized (lock) {
      allocatorClosed = true;
    }
    long held = transport.getAllocatedMemory();
    if (held > 0) {
      // arrow-java's ArrowMessage parser keeps the buffers of some malformed messages it rejects.
      LOG.warn("Flight ingest server at {}: Flight's transport still holds {} bytes after every"
          + " put ended (buffers of malformed messages that arrow-java did not release)",
          scheme + "://" + host, held);
    }
    try {
      transport.close();
    } finally {
      allocator.close();
    }
    LOG.info("Flight ingest server at {} closed", scheme + "://" + host);
  }


  @Override
  public String toString() {
    return "FlightIngestServer[" + uri() + ", tables=" + tables + "]";
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public Runnable acceptPut(
        CallContext context, FlightStream flightStream, StreamListener<PutResult> ackStream) {
      return () -> puts.put(context, flightStream, ackStream);
    }
  }

  /**
   * Configures a {@link FlightIngestServer}. Setters check their arguments at once; {@link
   * #build} checks the whole and starts the server. Not thread-safe. Its {@link #toString} never
   * shows a secret.
   */
  public static final class Builder {
    private final BufferAllocator parentAllocator;
    private final String uri;
    private final Location location;
    private final List<String> tables = new ArrayList<>();
    private final Map<String, Schema> schemas = new LinkedHashMap<>();
    private final IngestSecurity security = new IngestSecurity();
    private int maxConcurrentPuts = PutLimits.DEFAULT_MAX_CONCURRENT_PUTS;
    private DataSize maxBufferedBytes = PutLimits.DEFAULT_MAX_BUFFERED_BYTES;
    private DataSize maxMessageSize = PutLimits.DEFAULT_MAX_MESSAGE_SIZE;
    private Duration idleTimeout = PutLimits.DEFAULT_IDLE_TIMEOUT;
    private final Set<String> limitsSet = new java.util.HashSet<>();

    private Builder(BufferAllocator parentAllocator, String uri) {
      this.parentAllocator = Objects.requireNonNull(parentAllocator, "parentAllocator");
      this.uri = Objects.requireNonNull(uri, "uri");
      this.location = StreamSpec.parseLocation(uri);
    }

    /**
     * Accepts puts for {@code table}, the name producers put in their descriptors and the
     * server's {@link #source} is asked for. Batches of any schema are passed on; the sink checks
     * them, and one it rejects fails the pipeline (see {@link #table(String, Schema)}).
     *
     * @throws IllegalArgumentException if {@code table} is blank
     * @throws IllegalStateException if the table was added before
     */
    public Builder table(String table) {
      Objects.requireNonNull(table, "table");
      if (table.isBlank()) {
        throw new IllegalArgumentException("Cannot add table '" + table + "': the name is blank");
      }
      if (tables.contains(table)) {
        throw new IllegalStateException("Cannot add table " + table + ": it was added before");
      }
      tables.add(table);
      return this;
    }

    /**
     * Accepts puts for {@code table} whose batches have exactly {@code schema}'s fields (names,
     * types, nullability, children; dictionary-encoded fields compared by their value type). A
     * put with another schema fails with {@code INVALID_ARGUMENT} naming the first difference,
     * before any of its rows reach the pipeline, so one producer's bad batch cannot stop the
     * table for every producer.
     *
     * @throws IllegalArgumentException if {@code table} is blank or {@code schema} has no field
     * @throws IllegalStateException if the table was added before
     */
    public Builder table(String table, Schema schema) {
      Objects.requireNonNull(schema, "schema");
      if (schema.getFields().isEmpty()) {
        throw new IllegalArgumentException(
            "Cannot add table " + table + ": the schema has no fields");
      }
      table(table);
      schemas.put(table, schema);
      return this;
    }

    /**
     * Serves TLS with the PEM certificate chain and PEM (PKCS#8) private key; required for a
     * {@code grpc+tls} URI. Both files are read now; the key is never logged.
     *
     * @throws IllegalArgumentException if a file cannot be read or holds no PEM block of its kind
     * @throws IllegalStateException if a certificate was set before
     */
    public Builder certificate(Path certificateChainPem, Path privateKeyPem) {
      security.certificate(certificateChainPem, privateKeyPem);
      return this;
    }

    /**
     * Requires mutual TLS: a producer must present a certificate signed by one of the PEM
     * certificates in {@code trustedCaPem}. The file is read now.
     *
     * @throws IllegalArgumentException if the file cannot be read or holds no PEM certificate
     * @throws IllegalStateException if it was set before
     */
    public Builder requireClientCertificates(Path trustedCaPem) {
      security.requireClientCertificates(trustedCaPem);
      return this;
    }

    /**
     * Accepts the basic-auth credentials of {@code user} (a Flight handshake answered with a
     * bearer token for later calls). Once a user or token is added, every call must
     * authenticate. The password is never logged.
     *
     * @throws IllegalArgumentException if {@code user} is empty or has a {@code :}, or {@code
     *     password} is empty
     * @throws IllegalStateException if the user was added before
     */
    public Builder user(String user, String password) {
      security.user(user, password, null);
      return this;
    }

    /**
     * Accepts calls that send {@code Authorization: Bearer <token>}. Once a user or token is
     * added, every call must authenticate. The token is never logged.
     *
     * @throws IllegalArgumentException if {@code token} is empty or has white space
     * @throws IllegalStateException if the same token was added before
     */
    public Builder bearerToken(String token) {
      security.bearerToken(token, null);
      return this;
    }

    /**
     * Like {@link #user(String, String)}, but the user may put only to {@code tables}; a put to
     * another table fails with {@code UNAUTHORIZED} before any of its batches is read.
     *
     * @throws IllegalArgumentException as {@link #user(String, String)}, or if {@code tables} is
     *     empty
     * @throws IllegalStateException if the user was added before
     */
    public Builder user(String user, String password, Set<String> tables) {
      security.user(user, password, Objects.requireNonNull(tables, "tables"));
      return this;
    }

    /**
     * Like {@link #bearerToken(String)}, but calls with this token may put only to {@code
     * tables}; a put to another table fails with {@code UNAUTHORIZED} before any of its batches
     * is read. Messages name the token as {@code bearer token #n} (the n-th token added), never
     * by its value.
     *
     * @throws IllegalArgumentException as {@link #bearerToken(String)}, or if {@code tables} is
     *     empty
     * @throws IllegalStateException if the same token was added before
     */
    public Builder bearerToken(String token, Set<String> tables) {
      security.bearerToken(token, Objects.requireNonNull(tables, "tables"));
      return this;
    }

    /**
     * Accepts puts from anyone who can reach the server, although it listens on an address other
     * than loopback and requires no user, bearer token or client certificate. Without this call
     * such a server refuses to build; with it, the server logs a warning when it starts. Use it
     * only on a network that authenticates for you.
     *
     * @throws IllegalStateException if it was called before
     */
    public Builder allowUnauthenticated() {
      security.allowUnauthenticated();
      return this;
    }

    /**
     * The most puts that may run at once, over all producers and tables (default {@value
     * PutLimits#DEFAULT_MAX_CONCURRENT_PUTS}). One more fails at once with {@code
     * RESOURCE_EXHAUSTED} naming {@code maxConcurrentPuts}; retry later. Each running put holds a
     * thread and up to a few messages.
     *
     * @throws IllegalArgumentException if {@code puts} is below 1
     * @throws IllegalStateException if it was set before
     */
    public Builder maxConcurrentPuts(int puts) {
      if (puts < 1) {
        throw new IllegalArgumentException(
            "Cannot set maxConcurrentPuts to " + puts + ": it must be at least 1");
      }
      once("maxConcurrentPuts", maxConcurrentPuts);
      maxConcurrentPuts = puts;
      return this;
    }

    /**
     * The most bytes of one put's batches that may wait in the pipeline for a commit (default
     * 128 MiB). A batch larger than this by itself fails its put with {@code RESOURCE_EXHAUSTED}
     * naming {@code maxBufferedBytesPerProducer}; a batch that does not fit beside the put's
     * uncommitted ones waits for commits to make room, up to the {@link #idleTimeout}, then fails
     * the same way. Either way the put's batch is released and its producer re-sends what has no
     * acknowledgement.
     *
     * @throws IllegalArgumentException if {@code bytes} is zero
     * @throws IllegalStateException if it was set before
     */
    public Builder maxBufferedBytesPerProducer(DataSize bytes) {
      Objects.requireNonNull(bytes, "bytes");
      if (bytes.toBytes() < 1) {
        throw new IllegalArgumentException(
            "Cannot set maxBufferedBytesPerProducer to " + bytes + ": it must be positive");
      }
      once("maxBufferedBytesPerProducer", maxBufferedBytes);
      maxBufferedBytes = bytes;
      return this;
    }

    /**
     * The largest gRPC message the server accepts, which bounds one Arrow batch as sent (default
     * 64 MiB; gRPC's own default is 4 MiB and Flight's is unlimited). This is gRPC's maximum
     * inbound message size: gRPC resets a put that sends a larger message before buffering it
     * whole, and the server releases what the put held. The producer sees gRPC's {@code
     * RESOURCE_EXHAUSTED} ("gRPC message exceeds maximum size N") or, when gRPC resets the stream
     * first, {@code CANCELLED}; re-sending the same message fails the same way.
     *
     * @throws IllegalArgumentException if {@code size} is below 1 KiB or 2 GiB or more
     * @throws IllegalStateException if it was set before
     */
    public Builder maxMessageSize(DataSize size) {
      Objects.requireNonNull(size, "size");
      if (size.toBytes() < 1024 || size.toBytes() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("Cannot set maxMessageSize to " + size
            + ": it must be from 1 KiB to below 2 GiB (gRPC's limit)");
      }
      once("maxMessageSize", maxMessageSize);
      maxMessageSize = size;
      return this;
    }

    /**
     * How long a put may send nothing while the server waits for its next message (default 5
     * minutes). A put idle for longer fails with {@code TIMED_OUT} naming {@code idleTimeout}, and
     * its thread and buffers are released. A put waiting for the acknowledgements of batches it
     * sent is not idle.
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive
     * @throws IllegalStateException if it was set before
     */
    public Builder idleTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException(
            "Cannot set idleTimeout to " + timeout + ": it must be positive");
      }
      once("idleTimeout", idleTimeout);
      idleTimeout = timeout;
      return this;
    }

    private void once(String setting, Object current) {
      if (!limitsSet.add(setting)) {
        throw new IllegalStateException(
            "Cannot set " + setting + ": already set to " + current);
      }
    }

    /**
     * Starts the server and returns it listening. The caller owns it and closes it.
     *
     * @throws IllegalStateException if no table was added, a {@code grpc+tls} URI has no
     *     certificate, a plaintext URI has one, or client certificates are required without TLS
     * @throws SourceException if the server cannot listen (for example the port is in use)
     */
    public FlightIngestServer build() {
      if (tables.isEmpty()) {
        throw new IllegalStateException(
            "Cannot build FlightIngestServer at " + uri + ": it has no tables (add table(name))");
      }
      security.check(uri, location, tables);
      return new FlightIngestServer(this);
    }

    @Override
    public String toString() {
      return "FlightIngestServer.Builder[" + uri + ", tables=" + tables + ", " + security + "]";
    }
  }
}
