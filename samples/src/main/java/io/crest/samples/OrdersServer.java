package io.crest.samples;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.arrow.flight.BackpressureStrategy;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An in-process Arrow Flight server standing in for a streaming database: it serves one growing
 * materialized view, {@code orders_mv}, over a long-lived {@code DoGet} that sends the rows that
 * exist and then keeps the stream open, sending new orders as they appear, until the view has
 * {@code totalRows} rows.
 *
 * <p>The view is deterministic (row {@code i} is always the same order), so a reader that
 * reconnects and skips the rows it already has sees exactly the rows it missed. Close the server to
 * stop it; it does not own the allocator.
 */
public final class OrdersServer implements AutoCloseable {
  /** The ticket of the view. */
  public static final String VIEW = "orders_mv";

  /** The view's schema: what a streaming database would expose for an orders view. */
  public static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("order_id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
              new Field("customer", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
              new Field("amount", FieldType.notNullable(new ArrowType.Decimal(12, 2, 128)), null),
              new Field("status", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
              new Field(
                  "event_time",
                  FieldType.notNullable(
                      new ArrowType.Timestamp(org.apache.arrow.vector.types.TimeUnit.MICROSECOND, "UTC")),
                  null)));

  private static final String[] STATUSES = {"NEW", "PAID", "SHIPPED", "DELIVERED", null};
  private static final long EPOCH_MICROS =
      ChronoUnit.MICROS.between(Instant.EPOCH, Instant.parse("2026-11-01T00:00:00Z"));

  private final FlightServer server;

  /**
   * Starts serving on {@code 127.0.0.1:port} (0 picks a free port).
   *
   * @param totalRows how many orders the view will have when it stops growing
   * @param rowsPerSecond how fast orders appear
   * @param batchRows rows per Arrow batch sent
   */
  public OrdersServer(
      BufferAllocator allocator, int port, long totalRows, long rowsPerSecond, int batchRows)
      throws java.io.IOException {
    Producer producer = new Producer(allocator, totalRows, rowsPerSecond, batchRows);
    this.server =
        FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port), producer)
            .build()
            .start();
  }

  /** The {@code grpc://host:port} URI clients connect to. */
  public String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** Stops the server: Flight's close waits briefly for calls to end, then cancels them. */
  @Override
  public void close() throws InterruptedException {
    server.close();
  }

  /** Fills {@code root} with rows {@code [first, first+count)} of the view. */
  static void fill(VectorSchemaRoot root, long first, int count) {
    BigIntVector id = (BigIntVector) root.getVector("order_id");
    VarCharVector customer = (VarCharVector) root.getVector("customer");
    DecimalVector amount = (DecimalVector) root.getVector("amount");
    VarCharVector status = (VarCharVector) root.getVector("status");
    TimeStampMicroTZVector time = (TimeStampMicroTZVector) root.getVector("event_time");
    root.allocateNew();
    for (int i = 0; i < count; i++) {
      long row = first + i;
      long mix = row * 0x9E3779B97F4A7C15L;
      id.setSafe(i, row + 1);
      customer.setSafe(i, String.format("customer-%05d", Math.floorMod(mix >>> 17, 20_000))
          .getBytes(StandardCharsets.UTF_8));
      amount.setSafe(i, Math.floorMod(mix >>> 7, 100_000_00L) + 99); // cents, up to 100,000.98
      String s = STATUSES[(int) Math.floorMod(mix >>> 40, STATUSES.length)];
      if (s == null) {
        status.setNull(i);
      } else {
        status.setSafe(i, s.getBytes(StandardCharsets.UTF_8));
      }
      time.setSafe(i, EPOCH_MICROS + row * 1_000L + Math.floorMod(mix >>> 30, 1_000L));
    }
    root.setRowCount(count);
  }

  private static final class Producer extends NoOpFlightProducer {
    private final BufferAllocator allocator;
    private final long totalRows;
    private final long rowsPerSecond;
    private final int batchRows;
    private final long startNanos = System.nanoTime();

    Producer(BufferAllocator allocator, long totalRows, long rowsPerSecond, int batchRows) {
      this.allocator = allocator;
      this.totalRows = totalRows;
      this.rowsPerSecond = rowsPerSecond;
      this.batchRows = batchRows;
    }

    /** How many orders exist now. */
    private long available() {
      long elapsed = System.nanoTime() - startNanos;
      return Math.min(totalRows, elapsed / 1_000 * rowsPerSecond / 1_000_000);
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      String view = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      if (!VIEW.equals(view)) {
        listener.error(CallStatus.NOT_FOUND.withDescription("No view " + view).toRuntimeException());
        return;
      }
      BackpressureStrategy backpressure = new BackpressureStrategy.CallbackBackpressureStrategy();
      backpressure.register(listener);
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        listener.start(root);
        long sent = 0;
        while (sent < totalRows) {
          if (listener.isCancelled()) {
            return;
          }
          long ready = available();
          if (ready - sent < batchRows && ready < totalRows) {
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5)); // wait for new orders
            continue;
          }
          int n = (int) Math.min(batchRows, ready - sent);
          // Short waits, so a client that went away is noticed at once and its call ends.
          BackpressureStrategy.WaitResult wait = backpressure.waitForListener(100);
          while (wait == BackpressureStrategy.WaitResult.TIMEOUT && !listener.isCancelled()) {
            wait = backpressure.waitForListener(100);
          }
          if (wait != BackpressureStrategy.WaitResult.READY) {
            return; // the client went away
          }
          fill(root, sent, n);
          listener.putNext();
          sent += n;
        }
        listener.completed();
      }
    }
  }
}
