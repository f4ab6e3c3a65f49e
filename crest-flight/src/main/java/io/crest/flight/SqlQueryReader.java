package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.sql.FlightSqlClient;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the query of a {@link FlightSqlSource} on its own thread: executes it (or its prepared
 * statement with the watermark bound), reads every endpoint of the answer in order, and emits the
 * rows under one stream id. After a transient failure it reconnects with backoff and queries again
 * from the last position it emitted.
 *
 * <p>Watermark mode: rows run in watermark order; the run of rows sharing the newest value seen is
 * held back (in memory, owned by this reader) until a row with a greater value shows the run is
 * complete, then emitted with positions {@code <value>/<rows at value>}. A poll ends by dropping
 * the held run, which the next poll reads again; a bounded read (no watch) emits it instead.
 *
 * <p>Lifecycle: {@link #start} once, {@link #stop} then {@link #join} from the source's control
 * thread. The reader closes what it holds on its own thread; {@link #stop} only cancels the
 * current call, wakes a wait and interrupts a wait in {@link SourceContext#emit}.
 */
final class SqlQueryReader implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(SqlQueryReader.class);
  private static final String REUSE_SCHEME = "arrow-flight-reuse-connection";

  private final FlightSqlSource.QuerySpec spec;
  private final StreamSpec.Endpoint server;
  private final ClientPool clients;
  private final ReadSettings settings;
  private final BufferAllocator allocator;
  private final SourceContext context;
  private final Thread thread;

  // Reader thread only.
  /** Watermark mode: what was emitted (or committed before the start). */
  private SqlWatermark.Mark emitted;
  /** Snapshot mode: rows emitted (or committed before the start). */
  private long offset;
  private boolean progressed;
  private final List<VectorSchemaRoot> held = new ArrayList<>();
  private long heldValue;
  private long heldBase;
  /** Watermark mode: rows at the emitted value this poll still has to skip. */
  private long skipAtEmitted;

  private final Object lock = new Object();
  // Guarded by lock.
  private boolean stopping;
  private boolean emitting;
  private FlightStream current;

  SqlQueryReader(FlightSqlSource.QuerySpec spec, StreamSpec.Endpoint server, ClientPool clients,
      ReadSettings settings, BufferAllocator allocator, SourceContext context,
      SourcePosition resume) {
    this.spec = spec;
    this.server = server;
    this.clients = clients;
    this.settings = settings;
    this.allocator = allocator;
    this.context = context;
    if (spec.column != null) {
      emitted = resume == null ? new SqlWatermark.Mark(spec.initialValue, 0)
          : SqlWatermark.parse(spec.id, resume);
    } else if (resume != null) {
      try {
        offset = resume.asOffset();
      } catch (IllegalArgumentException e) {
        throw new SourceException("Cannot resume Flight SQL query " + spec.id + " at position '"
            + resume + "': it is not a row offset (was it recorded with a watermark? read it"
            + " under a new pipeline id)", spec.id, null, e);
      }
    }
    this.thread = new Thread(this, "crest-flight-sql-" + spec.id);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  @Override
  public void run() {
    int failures = 0;
    try {
      while (!stopRequested()) {
        progressed = false;
        try {
          poll();
        } catch (Throwable e) {
          closeHeld();
          if (stopRequested()) {
            LOG.debug("Flight SQL query {} stopped while reading", spec.id, e);
            return;
          }
          if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          failures = progressed ? 1 : failures + 1;
          if (!FlightErrors.isTransient(e) || failures > settings.maxReconnectAttempts) {
            String gaveUp = !FlightErrors.isTransient(e) ? ""
                : settings.maxReconnectAttempts == 0 ? "reconnecting is off"
                : "gave up after " + settings.maxReconnectAttempts + " reconnect attempts";
            context.fail(FlightErrors.toSourceException(
                "run Flight SQL query " + spec.id, server.display, spec.id, e, gaveUp));
            return;
          }
          Duration delay = settings.backoff.delay(failures);
          LOG.warn("Flight SQL query {} at {} failed ({}); querying again in {} ms (attempt {} of"
                  + " {}), resuming after {}", spec.id, server.display, e.getMessage(),
              delay.toMillis(), failures, settings.maxReconnectAttempts, resumeDescription());
          if (!pause(delay)) {
            return;
          }
          continue;
        }
        failures = 0;
        if (spec.pollInterval == null) {
          if (!stopRequested()) {
            LOG.info("Flight SQL query {} read to its end at {}", spec.id, resumeDescription());
            context.complete();
          }
          return;
        }
        if (!pause(spec.pollInterval)) {
          return;
        }
      }
    } finally {
      closeHeld();
    }
  }

  private String resumeDescription() {
    return emitted != null ? emitted.toString() : "row " + offset;
  }

  /** Runs the query once and reads every endpoint of its answer. */
  private void poll() throws Exception {
    try (ClientPool.Lease lease = clients.acquire(server.location)) {
      try {
        FlightSqlClient sql = new FlightSqlClient(lease.client());
        // The FlightSqlClient is only a view of the pooled client: never closed here.
        if (spec.column == null) {
          readAll(lease, sql.execute(spec.sql, lease.options(clients.timeout())));
          return;
        }
        FlightSqlClient.PreparedStatement statement =
            sql.prepare(spec.sql, lease.options(clients.timeout()));
        try {
          // The statement owns the parameter root from here and closes it.
          statement.setParameters(SqlWatermark.parameters(spec.id,
              statement.getParameterSchema(), statement.getResultSetSchema(), spec.column,
              emitted.value, allocator));
          SqlWatermark.Mark from = emitted;
          readAll(lease, statement.execute(lease.options(clients.timeout())));
          LOG.debug("Flight SQL query {} polled from {} to {}", spec.id, from, emitted);
        } finally {
          closeStatement(statement, lease);
        }
      } catch (RuntimeException e) {
        if (FlightErrors.isTransient(e)) {
          lease.invalidate();
        }
        throw e;
      }
    }
  }

  /**
   * Closes a prepared statement on the server with the lease's credentials (its {@code close()}
   * without options would send none), and its parameters here even if that call fails.
   */
  private void closeStatement(FlightSqlClient.PreparedStatement statement,
      ClientPool.Lease lease) {
    try {
      statement.close(lease.options(clients.timeout()));
    } catch (RuntimeException e) {
      LOG.warn("Could not close the prepared statement of Flight SQL query {} at {}: {}",
          spec.id, server.display, e.getMessage());
    } finally {
      statement.clearParameters();
    }
  }

  private void readAll(ClientPool.Lease lease, FlightInfo info) throws Exception {
    long skip = spec.column == null ? offset : 0;
    if (spec.column != null) {
      skipAtEmitted = emitted.rowsAtValue;
    }
    long rowsRead = 0;
    for (FlightEndpoint endpoint : info.getEndpoints()) {
      if (stopRequested()) {
        return;
      }
      Location location = endpoint.getLocations().isEmpty() ? null
          : endpoint.getLocations().get(0);
      if (location == null || REUSE_SCHEME.equals(location.getUri().getScheme())) {
        rowsRead = readEndpoint(lease.client(), lease, endpoint, skip, rowsRead);
      } else {
        try (ClientPool.Lease other = clients.acquire(location)) {
          try {
            rowsRead = readEndpoint(other.client(), other, endpoint, skip, rowsRead);
          } catch (RuntimeException e) {
            if (FlightErrors.isTransient(e)) {
              other.invalidate();
            }
            throw e;
          }
        }
      }
      if (rowsRead < 0) {
        return; // stopped
      }
    }
    if (spec.column == null) {
      if (rowsRead < skip) {
        throw new SourceException("Cannot resume Flight SQL query " + spec.id + " at row " + skip
            + ": it returned only " + rowsRead + " rows (the query must return the same rows in"
            + " the same order on every run; read it again under a new pipeline id)",
            spec.id, null, null);
      }
    } else if (spec.pollInterval == null) {
      emitHeld(); // a bounded read: the last run is complete by definition
    } else {
      closeHeld(); // may still grow: read again by the next poll
    }
  }

  /**
   * Reads one endpoint to its end.
   *
   * @return the rows read so far in this poll (snapshot mode), or -1 if stopped
   */
  private long readEndpoint(FlightClient client, ClientPool.Lease lease, FlightEndpoint endpoint,
      long skip, long rowsRead) throws Exception {
    FlightStream stream = client.getStream(endpoint.getTicket(), lease.options(clients.timeout()));
    try {
      synchronized (lock) {
        current = stream;
        if (stopping) {
          return -1;
        }
      }
      BatchConverter converter = null;
      while (stream.next()) {
        if (stopRequested()) {
          return -1;
        }
        if (!stream.hasRoot() || stream.getRoot().getRowCount() == 0) {
          continue;
        }
        VectorSchemaRoot root = stream.getRoot(); // reused by the stream for every batch
        if (converter == null) {
          converter = new BatchConverter(allocator, stream.getDictionaryProvider());
        }
        if (spec.column == null) {
          int rows = root.getRowCount();
          long start = rowsRead;
          rowsRead += rows;
          if (rowsRead <= skip) {
            continue;
          }
          int first = (int) Math.max(0, skip - start);
          if (!emit(converter.take(root, first), SourcePosition.ofOffset(rowsRead))) {
            return -1;
          }
          offset = rowsRead;
        } else if (!onWatermarkBatch(converter.take(root, 0))) {
          return -1;
        }
      }
      return rowsRead;
    } finally {
      synchronized (lock) {
        current = null;
      }
      boolean interrupted = Thread.interrupted(); // close drains the call; no interrupt there
      try {
        stream.close();
      } catch (Exception e) {
        LOG.debug("Could not close a stream of Flight SQL query {}", spec.id, e);
      } finally {
        if (interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /**
   * Splits an owned batch into runs of equal watermark, drops rows already emitted, and holds or
   * emits the rest. Consumes {@code batch}.
   *
   * @return {@code false} if the pipeline is stopping
   */
  private boolean onWatermarkBatch(VectorSchemaRoot batch) throws InterruptedException {
    try (batch) {
      FieldVector column = SqlWatermark.column(spec.id, batch, spec.column);
      int rows = batch.getRowCount();
      int start = 0;
      while (start < rows) {
        long value = SqlWatermark.value(spec.id, column, start);
        int end = start + 1;
        while (end < rows && SqlWatermark.value(spec.id, column, end) == value) {
          end++;
        }
        long newest = held.isEmpty() ? emitted.value : heldValue;
        if (value < newest) {
          throw new SourceException("Cannot read Flight SQL query " + spec.id + ": watermark "
              + spec.column + " went back from " + newest + " to " + value + " (the query must"
              + " select rows with " + spec.column + " >= ? and ORDER BY " + spec.column
              + " and then a unique key)", spec.id, null, null);
        }
        int from = start;
        if (value == emitted.value && skipAtEmitted > 0) {
          // Rows at the emitted value come first: skip the ones emitted before.
          int drop = (int) Math.min(end - from, skipAtEmitted);
          from += drop;
          skipAtEmitted -= drop;
        }
        if (from < end) {
          if (!held.isEmpty() && value > heldValue && !emitHeld()) {
            return false;
          }
          if (held.isEmpty()) {
            heldValue = value;
            heldBase = value == emitted.value ? emitted.rowsAtValue : 0;
          }
          held.add(batch.slice(from, end - from));
        }
        start = end;
      }
      return true;
    }
  }

  /** Emits the held run (it is complete), advancing the emitted mark batch by batch. */
  private boolean emitHeld() throws InterruptedException {
    long count = heldBase;
    while (!held.isEmpty()) {
      VectorSchemaRoot slice = held.remove(0);
      count += slice.getRowCount();
      SqlWatermark.Mark after = new SqlWatermark.Mark(heldValue, count);
      if (!emit(slice, after.position())) {
        return false;
      }
      emitted = after;
    }
    return true;
  }

  private void closeHeld() {
    try {
      AutoCloseables.close(held);
    } catch (Exception e) {
      LOG.debug("Could not release held rows of Flight SQL query {}", spec.id, e);
    }
    held.clear();
  }

  /** Emits an owned root; the batch belongs to the context from here, whatever happens. */
  private boolean emit(VectorSchemaRoot owned, SourcePosition after) throws InterruptedException {
    SourceBatch batch = SourceBatch.of(spec.id, owned, after);
    synchronized (lock) {
      if (stopping) {
        batch.close();
        return false;
      }
      emitting = true;
    }
    try {
      boolean accepted = context.emit(batch);
      progressed |= accepted;
      return accepted;
    } finally {
      synchronized (lock) {
        emitting = false;
        if (stopping) {
          Thread.interrupted(); // a stop() interrupt meant for emit must not reach Flight code
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

  /** Cancels the current call, wakes a wait and interrupts a wait to emit. Idempotent. */
  void stop() {
    FlightStream stream;
    synchronized (lock) {
      stopping = true;
      stream = current;
      if (emitting) {
        thread.interrupt();
      }
      lock.notifyAll();
    }
    if (stream != null) {
      try {
        stream.cancel("Crest source is closing", null);
      } catch (RuntimeException e) {
        LOG.debug("Could not cancel Flight SQL query {}", spec.id, e);
      }
    }
  }

  void join() {
    StreamReader.joinThread(thread, "the reader of Flight SQL query " + spec.id);
  }
}
