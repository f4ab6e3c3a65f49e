package io.crest.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.locks.LockSupport;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A Flight server on loopback for the scale-out and latency harnesses: {@code GetFlightInfo} of
 * any descriptor lists {@code endpoints} endpoints (tickets {@code s000}, {@code s001}, ...), and
 * a {@code DoGet} of each is an endless replayable stream of rows {@code (id long, emit
 * timestamptz, v double)}: {@code id} is the row's offset in the stream, {@code emit} the wall
 * time the batch was sent. Each stream sends at most {@code rowsPerSecond} rows per second (0: as
 * fast as the reader takes them), only while the call is ready (Flight back-pressure), on a thread
 * of its own; it ends when the call is cancelled or the server closes.
 *
 * <p>With {@code recordEmits}, the server keeps, per stream, the {@link System#nanoTime()} at
 * which each batch was sent, by the stream offset after it ({@link #emitNanos}), so a reader that
 * sees a committed position can tell how long ago its rows were sent.
 *
 * <p>Thread-safe. Owns its server threads; borrows the allocator, which must outlive it.
 */
final class EndlessFlightServer implements AutoCloseable {
  static final Schema SCHEMA = new Schema(List.of(
      new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("emit", FieldType.notNullable(new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC")),
          null),
      new Field("v", FieldType.nullable(new ArrowType.FloatingPoint(
          org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)), null)));
  /** Longest a stream waits for its reader before it gives up on the call. */
  private static final long STUCK_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(120);

  private final BufferAllocator allocator;
  private final int endpoints;
  private final int batchRows;
  private final long rowsPerSecond;
  private final boolean recordEmits;
  private final FlightServer server;
  private final List<Thread> senders = new ArrayList<>();
  private final Map<String, ConcurrentSkipListMap<Long, Long>> emits = new ConcurrentHashMap<>();
  private volatile boolean running = true;

  EndlessFlightServer(BufferAllocator allocator, int endpoints, int batchRows, long rowsPerSecond,
      boolean recordEmits) throws IOException {
    this.allocator = allocator;
    this.endpoints = endpoints;
    this.batchRows = batchRows;
    this.rowsPerSecond = rowsPerSecond;
    this.recordEmits = recordEmits;
    this.server = FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0),
        new Producer()).build().start();
  }

  String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** The send times of stream {@code ticket}'s batches by the offset after each; empty if none. */
  ConcurrentSkipListMap<Long, Long> emitNanos(String ticket) {
    return emits.computeIfAbsent(ticket, t -> new ConcurrentSkipListMap<>());
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    List<Thread> threads;
    synchronized (senders) {
      threads = new ArrayList<>(senders);
    }
    for (Thread t : threads) {
      t.join(30_000);
    }
    server.shutdown();
    server.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
    server.close();
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
      List<FlightEndpoint> list = new ArrayList<>();
      for (int i = 0; i < endpoints; i++) {
        list.add(new FlightEndpoint(new Ticket(
            String.format("s%03d", i).getBytes(StandardCharsets.UTF_8))));
      }
      return new FlightInfo(SCHEMA, descriptor, list, -1, -1);
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      String name = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      Object ready = new Object();
      // Registered now: gRPC accepts the handler only during the initial call.
      listener.setOnReadyHandler(() -> {
        synchronized (ready) {
          ready.notifyAll();
        }
      });
      Thread t = new Thread(() -> send(name, listener, ready), "endless-" + name);
      t.setDaemon(true);
      synchronized (senders) {
        senders.add(t);
      }
      t.start();
    }

    private void send(String name, ServerStreamListener listener, Object ready) {
      ConcurrentSkipListMap<Long, Long> log = recordEmits ? emitNanos(name) : null;
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        BigIntVector id = (BigIntVector) root.getVector("id");
        TimeStampMicroTZVector emit = (TimeStampMicroTZVector) root.getVector("emit");
        Float8Vector v = (Float8Vector) root.getVector("v");
        listener.start(root);
        long offset = 0;
        long start = System.nanoTime();
        while (true) {
          if (rowsPerSecond > 0) {
            long due = start + (long) (offset * 1e9 / rowsPerSecond);
            while (running && !listener.isCancelled() && System.nanoTime() < due) {
              LockSupport.parkNanos(Math.min(due - System.nanoTime(), 1_000_000));
            }
          }
          if (!awaitReady(listener, ready)) {
            return;
          }
          id.allocateNew(batchRows);
          emit.allocateNew(batchRows);
          v.allocateNew(batchRows);
          long micros = System.currentTimeMillis() * 1_000;
          for (int i = 0; i < batchRows; i++) {
            id.set(i, offset + i);
            emit.set(i, micros);
            v.set(i, (offset + i) * 0.5);
          }
          root.setRowCount(batchRows);
          offset += batchRows;
          if (log != null) {
            log.put(offset, System.nanoTime());
          }
          listener.putNext();
        }
      } catch (RuntimeException e) {
        if (running && !listener.isCancelled()) {
          System.err.println("[endless " + name + "] failed: " + e);
          listener.error(e);
        }
      }
    }

    /** Waits until the call takes a batch without buffering it; false once it should end. */
    private boolean awaitReady(ServerStreamListener listener, Object ready) {
      long deadline = System.nanoTime() + STUCK_NANOS;
      synchronized (ready) {
        while (running && !listener.isCancelled() && !listener.isReady()) {
          if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("the reader took no batch for 120 s");
          }
          try {
            ready.wait(10); // isCancelled() and the end are polled
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
      }
      if (!running || listener.isCancelled()) {
        if (!listener.isCancelled()) {
          listener.completed();
        }
        return false;
      }
      return true;
    }
  }
}
