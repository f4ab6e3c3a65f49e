package io.crest.samples.flight;

import io.crest.flight.IncrementalTicket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A reference server for Crest's incremental ticket convention ({@code docs/flight-tickets.md}):
 * it serves one append-only view, {@code orders}, whose position is its row count written as a
 * decimal number.
 *
 * <ul>
 *   <li>{@code GetFlightInfo(path "orders")} answers one endpoint whose ticket is {@code
 *       IncrementalTicket.fromStart("orders")}, so {@code FlightSource.builder(a).discover("shop",
 *       uri, FlightDescriptor.path("orders"))} reads it incrementally.
 *   <li>{@code DoGet(crest:v1 / orders / <position>)} sends the rows after the position in batches,
 *       each with the position after it as application metadata, then waits up to {@code
 *       holdOpen} for more rows (a long poll), sending them as they are appended, and ends the
 *       call. The reader asks again with the last position it got.
 *   <li>Errors: an unknown view is {@code NOT_FOUND}; a ticket that does not follow the convention,
 *       a position that is not a number, or one beyond the view's end is {@code INVALID_ARGUMENT}
 *       (permanent: the reader stops instead of reading the wrong rows).
 * </ul>
 *
 * <p>Run it alone with {@code java -cp ... io.crest.samples.flight.IncrementalOrdersServer [port]}
 * and append rows with {@link #append}. Thread-safe. Close it to stop it; it does not own the
 * allocator.
 */
public final class IncrementalOrdersServer implements AutoCloseable {
  /** The name of the view. */
  public static final String VIEW = "orders";

  /** The view's schema. */
  public static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("order_id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
              new Field("customer", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
              new Field("amount_cents", FieldType.notNullable(new ArrowType.Int(64, true)), null)));

  private final BufferAllocator allocator;
  private final int batchRows;
  private final Duration holdOpen;
  private final FlightServer server;

  private final Object lock = new Object();
  // Guarded by lock.
  private long rows;
  private boolean closed;

  /**
   * Starts serving on {@code 127.0.0.1:port} (0 picks a free port) an empty view.
   *
   * @param batchRows the most rows per batch sent
   * @param holdOpen how long a call waits for new rows before it ends
   */
  public IncrementalOrdersServer(
      BufferAllocator allocator, int port, int batchRows, Duration holdOpen)
      throws java.io.IOException {
    this.allocator = allocator;
    this.batchRows = batchRows;
    this.holdOpen = holdOpen;
    this.server =
        FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port), new Producer())
            .build()
            .start();
  }

  /** The {@code grpc://host:port} URI clients connect to. */
  public String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** Appends {@code count} orders to the view and wakes the calls waiting for them. */
  public void append(long count) {
    synchronized (lock) {
      rows += count;
      lock.notifyAll();
    }
  }

  /** The number of orders in the view. */
  public long size() {
    synchronized (lock) {
      return rows;
    }
  }

  /** Order {@code i} of the view; the same on every call, as a view's rows are. */
  static void fill(VectorSchemaRoot root, long first, int count) {
    root.allocateNew();
    BigIntVector ids = (BigIntVector) root.getVector("order_id");
    VarCharVector customers = (VarCharVector) root.getVector("customer");
    BigIntVector amounts = (BigIntVector) root.getVector("amount_cents");
    for (int r = 0; r < count; r++) {
      long id = first + r;
      ids.setSafe(r, id);
      customers.setSafe(r, ("customer-" + (id % 97)).getBytes(StandardCharsets.UTF_8));
      amounts.setSafe(r, 100 + (id * 7919) % 100_000);
    }
    root.setRowCount(count);
  }

  @Override
  public void close() throws InterruptedException {
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
    }
    server.close();
  }

  /** Serves until interrupted, appending 100 orders a second. */
  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 47471;
    try (BufferAllocator allocator = new RootAllocator();
        IncrementalOrdersServer server =
            new IncrementalOrdersServer(allocator, port, 1000, Duration.ofSeconds(10))) {
      System.out.println("Serving view " + VIEW + " at " + server.uri());
      while (!Thread.currentThread().isInterrupted()) {
        server.append(100);
        synchronized (server.lock) {
          server.lock.wait(1000);
        }
      }
    }
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
      if (descriptor.isCommand() || !descriptor.getPath().equals(List.of(VIEW))) {
        throw CallStatus.NOT_FOUND
            .withDescription("Unknown descriptor " + descriptor + " (this server has path "
                + VIEW + ")")
            .toRuntimeException();
      }
      FlightEndpoint endpoint = new FlightEndpoint(IncrementalTicket.fromStart(VIEW).toTicket());
      return new FlightInfo(SCHEMA, descriptor, List.of(endpoint), -1, size());
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      Optional<IncrementalTicket> parsed = IncrementalTicket.parse(ticket);
      if (parsed.isEmpty()) {
        listener.error(CallStatus.INVALID_ARGUMENT
            .withDescription("The ticket does not follow the crest:v1 convention")
            .toRuntimeException());
        return;
      }
      if (!parsed.get().view().equals(VIEW)) {
        listener.error(CallStatus.NOT_FOUND
            .withDescription("Unknown view " + parsed.get().view()).toRuntimeException());
        return;
      }
      long from;
      try {
        from = Long.parseLong(parsed.get().position().orElse("0"));
      } catch (NumberFormatException e) {
        listener.error(CallStatus.INVALID_ARGUMENT
            .withDescription("Position '" + parsed.get().position().get()
                + "' is not a row count of view " + VIEW)
            .toRuntimeException());
        return;
      }
      if (from < 0 || from > size()) {
        listener.error(CallStatus.INVALID_ARGUMENT
            .withDescription("Position " + from + " is beyond the end of view " + VIEW + " ("
                + size() + " rows)")
            .toRuntimeException());
        return;
      }
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        listener.start(root);
        long deadline = System.nanoTime() + holdOpen.toNanos();
        long next = from;
        while (!listener.isCancelled()) {
          long end = awaitRowsAfter(next, deadline);
          if (end <= next) {
            break; // nothing new before the deadline: end the call, the reader asks again
          }
          while (next < end && !listener.isCancelled()) {
            int count = (int) Math.min(batchRows, end - next);
            fill(root, next, count);
            next += count;
            byte[] position = Long.toString(next).getBytes(StandardCharsets.UTF_8);
            ArrowBuf metadata = allocator.buffer(position.length);
            metadata.writeBytes(position);
            listener.putNext(metadata); // takes ownership of the metadata buffer
          }
        }
        if (!listener.isCancelled()) {
          listener.completed();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        listener.error(CallStatus.UNAVAILABLE.withDescription("server stopping")
            .toRuntimeException());
      }
    }

    /** Waits for rows after {@code next} until the deadline; returns the view's size. */
    private long awaitRowsAfter(long next, long deadline) throws InterruptedException {
      synchronized (lock) {
        while (rows <= next && !closed) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          java.util.concurrent.TimeUnit.NANOSECONDS.timedWait(lock, left);
        }
        return rows;
      }
    }
  }
}
