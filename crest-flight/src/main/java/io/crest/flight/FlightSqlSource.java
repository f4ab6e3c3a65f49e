package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.Source;
import io.crest.spi.SourceContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.memory.BufferAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link Source} that runs a SQL query on a Flight SQL server (InfluxDB 3, Dremio, Doris,
 * StarRocks, ...) and reads every endpoint of the answer.
 *
 * <pre>{@code
 * FlightSqlSource.builder(allocator, "grpc+tls://db:443")
 *     .query("events", "SELECT * FROM events WHERE ts >= ? ORDER BY ts, id")
 *     .watermark("ts", 0)                      // incremental: the first poll binds 0 to the ?
 *     .watch(Duration.ofSeconds(5))            // poll for ever; without it: one poll, then done
 *     .bearerToken(token)
 *     .build();
 * }</pre>
 *
 * <p>The query's rows are one stream, with the id given to {@link Builder#query}. Each poll
 * executes the query ({@code FlightSqlClient.execute}, or {@code prepare} plus {@code execute}
 * with the watermark bound to the query's one parameter) and reads the endpoints of the returned
 * {@code FlightInfo} one after the other, in the order listed, each from its first location (or
 * from the same server when it lists none); many endpoints are many {@code DoGet} streams read in
 * turn, because the position counts rows in the query's order.
 *
 * <p><b>Snapshot mode</b> (no watermark): the query runs once and the source completes. The
 * position is the number of rows read; a restart runs the query again and drops that many rows
 * first, so the query must return the same rows in the same order every time (an {@code ORDER BY}
 * on a unique key of an append-only table).
 *
 * <p><b>Incremental mode</b> ({@link Builder#watermark}): the query has one parameter, the lower
 * bound of a whole-number watermark column (integer, timestamp or date), and must return the rows
 * with {@code column >= ?} ordered by the column and then by a unique key, for example {@code
 * SELECT * FROM t WHERE ts >= ? ORDER BY ts, id}. The position is {@code <value>/<rows>}: every
 * row below {@code value} and the first {@code rows} rows at {@code value} were read. Each poll
 * binds {@code value} and drops the first {@code rows} rows at it, so a restart or a reconnect in
 * the middle of a run of equal values reads neither less nor more.
 *
 * <p><b>Ties</b>: rows sharing a watermark value may arrive in different polls (two writes with
 * the same timestamp). The source therefore holds back the rows at the newest value a poll has
 * seen and emits them only once a row with a greater value appears; a poll that ends drops the
 * held rows and the next poll reads them again, with whatever rows joined them. This needs only
 * that rows arrive in watermark order (no row below a value that already has a greater value
 * after it), and it means the newest run of rows waits, in the source's memory, until a greater
 * value is written. Without {@link Builder#watch} the read is bounded and its last run is
 * emitted at the end: rows that join that value afterwards are read by a later incremental run
 * only if they sort after the rows already read (a later id), else others at that value may be
 * skipped instead.
 *
 * <p>Failures: transient statuses ({@code UNAVAILABLE}, {@code TIMED_OUT}, ...) retry the poll
 * after a jittered exponential backoff, from the last position emitted; others fail the source
 * with a {@link SourceException} carrying the Flight status code. TLS, mutual TLS and basic or
 * bearer auth work as for {@link FlightSource}.
 *
 * <p>Resources: the source borrows the parent allocator; {@link #start} makes a child named
 * {@code crest-flight-sql-source}, one reader thread {@code crest-flight-sql-<id>} and the Flight
 * clients; {@link #close} stops the reader and releases them, the allocator last. Each emitted
 * batch owns its vectors. Thread-safety: {@link #start} and {@link #close} are serialised.
 */
public final class FlightSqlSource implements Source {
  private static final Logger LOG = LoggerFactory.getLogger(FlightSqlSource.class);

  /** What to query and how. Immutable. */
  static final class QuerySpec {
    final String id;
    final String sql;
    final String column;
    final long initialValue;
    final Duration pollInterval;

    QuerySpec(String id, String sql, String column, long initialValue, Duration pollInterval) {
      this.id = id;
      this.sql = sql;
      this.column = column;
      this.initialValue = initialValue;
      this.pollInterval = pollInterval;
    }
  }

  private final BufferAllocator parentAllocator;
  private final String uri;
  private final StreamSpec.Endpoint server;
  private final QuerySpec spec;
  private final ReadSettings settings;

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean started;
  private boolean closed;
  private BufferAllocator allocator;
  private ClientPool clients;
  private SqlQueryReader reader;

  private FlightSqlSource(BufferAllocator parentAllocator, String uri, QuerySpec spec,
      ReadSettings settings) {
    this.parentAllocator = parentAllocator;
    this.uri = uri;
    this.server = new StreamSpec.Endpoint(StreamSpec.parseLocation(uri), uri);
    this.spec = spec;
    this.settings = settings;
  }

  /**
   * Starts configuring a source querying the Flight SQL server at {@code uri}.
   *
   * @param parentAllocator borrowed: the caller closes it after the source
   * @param uri {@code grpc://host:port}, {@code grpc+tcp://host:port} or {@code
   *     grpc+tls://host:port}
   * @throws IllegalArgumentException if {@code uri} is not such a URI
   */
  public static Builder builder(BufferAllocator parentAllocator, String uri) {
    return new Builder(parentAllocator, uri);
  }

  /** Returns {@code flight-sql[<id>@<uri>]}. */
  @Override
  public String name() {
    return "flight-sql[" + spec.id + "@" + uri + "]";
  }

  /**
   * Starts the reader thread and returns. Failures are reported to {@link SourceContext#fail}.
   *
   * @throws IllegalStateException if the source was started or closed before
   * @throws SourceException if the resume position was not recorded by a query of this mode
   */
  @Override
  public void start(SourceContext context) {
    Objects.requireNonNull(context, "context");
    synchronized (lock) {
      if (started || closed) {
        throw new IllegalStateException("Cannot start source " + name() + ": it is "
            + (closed ? "closed" : "started already") + " (a source starts once; build a new one)");
      }
      started = true;
      allocator = parentAllocator.newChildAllocator("crest-flight-sql-source", 0, Long.MAX_VALUE);
      clients = new ClientPool(allocator, settings.security, settings.callTimeout);
      try {
        reader = new SqlQueryReader(spec, server, clients, settings, allocator, context,
            context.resumePositions().get(spec.id));
      } catch (RuntimeException e) {
        clients.close();
        allocator.close();
        closed = true;
        throw e;
      }
      LOG.info("Source {} starting, resuming at {}", name(),
          context.resumePositions().getOrDefault(spec.id, null));
      reader.start();
    }
  }

  /**
   * Stops the reader, waits for it, then closes the Flight clients and the allocator. Safe to
   * call more than once and before {@link #start}; call it once every emitted batch is closed.
   *
   * @throws IllegalStateException if the allocator still holds memory (a leak)
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      if (reader != null) {
        reader.stop();
        reader.join();
      }
      if (clients != null) {
        clients.close();
      }
      if (allocator != null) {
        allocator.close();
      }
    }
  }

  @Override
  public String toString() {
    return name();
  }

  /**
   * Configures a {@link FlightSqlSource}. Setters check their arguments at once and refuse a
   * second setting; {@link #build} checks the whole. Not thread-safe; {@link #toString} never
   * shows a secret.
   */
  public static final class Builder {
    private final BufferAllocator parentAllocator;
    private final String uri;
    private final ConnectionOptions connection = new ConnectionOptions();
    private String id;
    private String sql;
    private String column;
    private long initialValue;
    private Duration pollInterval;

    private Builder(BufferAllocator parentAllocator, String uri) {
      this.parentAllocator = Objects.requireNonNull(parentAllocator, "parentAllocator");
      this.uri = Objects.requireNonNull(uri, "uri");
      StreamSpec.parseLocation(uri);
    }

    /**
     * Sets the query and the id of its stream, under which its position is recorded (keep it
     * across restarts).
     *
     * @throws IllegalArgumentException if {@code id} or {@code sql} is blank
     * @throws IllegalStateException if a query was set before
     */
    public Builder query(String id, String sql) {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(sql, "sql");
      if (id.isBlank() || sql.isBlank()) {
        throw new IllegalArgumentException(
            "Cannot set query '" + id + "': the id and the SQL must not be blank");
      }
      if (this.sql != null) {
        throw new IllegalStateException(
            "Cannot set query " + id + ": query " + this.id + " is already set");
      }
      this.id = id;
      this.sql = sql;
      return this;
    }

    /**
     * Reads incrementally by the whole-number column {@code column}: the query's one parameter
     * ({@code ?}) is bound to the last watermark read, starting at {@code initialValue}. See the
     * class comment for the query's shape and how ties are handled.
     *
     * @throws IllegalArgumentException if {@code column} is blank
     * @throws IllegalStateException if a watermark was set before
     */
    public Builder watermark(String column, long initialValue) {
      Objects.requireNonNull(column, "column");
      if (column.isBlank()) {
        throw new IllegalArgumentException("Cannot set watermark: the column name is blank");
      }
      if (this.column != null) {
        throw new IllegalStateException(
            "Cannot set watermark " + column + ": already " + this.column);
      }
      this.column = column;
      this.initialValue = initialValue;
      return this;
    }

    /**
     * Polls the query every {@code pollInterval} for ever (until the pipeline stops) instead of
     * running it once. Needs a {@link #watermark}.
     *
     * @throws IllegalArgumentException if {@code pollInterval} is not positive
     * @throws IllegalStateException if watch was set before
     */
    public Builder watch(Duration pollInterval) {
      Objects.requireNonNull(pollInterval, "pollInterval");
      if (pollInterval.isNegative() || pollInterval.isZero()) {
        throw new IllegalArgumentException(
            "Cannot watch with poll interval " + pollInterval + ": it must be positive");
      }
      if (this.pollInterval != null) {
        throw new IllegalStateException(
            "Cannot watch every " + pollInterval + ": already every " + this.pollInterval);
      }
      this.pollInterval = pollInterval;
      return this;
    }

    /** As {@link FlightSource.Builder#reconnectBackoff}; defaults to 100 ms up to 30 s. */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      connection.reconnectBackoff(initial, max);
      return this;
    }

    /** As {@link FlightSource.Builder#maxReconnectAttempts}; defaults to 10. */
    public Builder maxReconnectAttempts(int attempts) {
      connection.maxReconnectAttempts(attempts);
      return this;
    }

    /**
     * Sets the deadline of every call: the prepare, the execute, each endpoint's {@code DoGet}
     * (raise it for large results) and the auth handshake. Defaults to 1 minute.
     *
     * @throws IllegalArgumentException if {@code timeout} is not positive
     * @throws IllegalStateException if it was set before
     */
    public Builder callTimeout(Duration timeout) {
      connection.callTimeout(timeout);
      return this;
    }

    /** As {@link FlightSource.Builder#trustedCertificates}. */
    public Builder trustedCertificates(Path pemFile) {
      connection.trustedCertificates(pemFile);
      return this;
    }

    /** As {@link FlightSource.Builder#clientCertificate}. */
    public Builder clientCertificate(Path certificateChainPem, Path privateKeyPem) {
      connection.clientCertificate(certificateChainPem, privateKeyPem);
      return this;
    }

    /** As {@link FlightSource.Builder#basicAuth}. */
    public Builder basicAuth(String user, String password) {
      connection.basicAuth(user, password);
      return this;
    }

    /** As {@link FlightSource.Builder#bearerToken}. */
    public Builder bearerToken(String token) {
      connection.bearerToken(token);
      return this;
    }

    /**
     * Returns the source, not started; the caller (or the pipeline reading it) closes it.
     *
     * @throws IllegalStateException if no query is set, {@code watch} is set without a
     *     watermark, or TLS options are set for a server that is not {@code grpc+tls}
     */
    public FlightSqlSource build() {
      if (sql == null) {
        throw new IllegalStateException(
            "Cannot build FlightSqlSource for " + uri + ": no query (set one with query(id, sql))");
      }
      if (pollInterval != null && column == null) {
        throw new IllegalStateException("Cannot build FlightSqlSource " + id + ": watch("
            + pollInterval + ") needs a watermark column (set one with watermark(column, start);"
            + " without it every poll would read every row again)");
      }
      if (connection.tlsOptionsSet()
          && !LocationSchemes.GRPC_TLS.equals(StreamSpec.parseLocation(uri).getUri().getScheme())) {
        throw new IllegalStateException("Cannot build FlightSqlSource " + id + ": TLS options"
            + " are set but " + uri + " does not use TLS (use grpc+tls://host:port)");
      }
      return new FlightSqlSource(parentAllocator, uri,
          new QuerySpec(id, sql, column, initialValue, pollInterval),
          connection.settings(pollInterval));
    }

    @Override
    public String toString() {
      return "FlightSqlSource.Builder[" + id + "@" + uri + ", watermark=" + column + ", auth "
          + connection.authDescription() + "]";
    }
  }
}
