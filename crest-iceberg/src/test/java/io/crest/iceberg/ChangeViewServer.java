package io.crest.iceberg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A real Arrow Flight server on loopback serving deterministic change-data-capture streams for
 * tests: rows {@code {id, name, op}} where {@code id} is a key drawn from a small key space (so
 * keys change many times), {@code op} is an insert, an update or a delete (spelled {@code delete},
 * {@code D} or {@code -d}), and every {@code poisonEvery}-th batch is poisoned with a null in the
 * non-nullable {@code id} column, which a sink must reject whole.
 *
 * <p>Row {@code seq} of a stream is a pure function of the seed, the stream's key base and {@code
 * seq} ({@link #change}); batches always hold exactly {@code batchRows} rows, so batch {@code b}
 * covers rows {@code [b * batchRows, (b + 1) * batchRows)} whenever and however often it is read,
 * and a test can replay the stream into a model ({@link #model}) without reading Crest's
 * bookkeeping. A stream grows at a given rate over a long-lived call, a whole batch at a time;
 * rows that exist already are sent at once, so a reader that restarts catches up quickly.
 */
final class ChangeViewServer implements AutoCloseable {
  static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
              new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
              new Field("op", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  /** One change row: {@code id} is null in the poisoned row of a poisoned batch. */
  record Change(Long id, String name, String op) {
    boolean isDelete() {
      return !op.equals("insert") && !op.equals("update");
    }
  }

  /** A stream: keys {@code keyBase .. keyBase + keys - 1}, {@code rows} rows in all. */
  private record View(long keyBase, long rows, long rowsPerSecond) {}

  private final Map<String, View> views = new ConcurrentHashMap<>();
  private final long startNanos = System.nanoTime();
  private final BufferAllocator serverAllocator;
  private final FlightServer server;
  private final int batchRows;
  private final int keys;
  private final int poisonEvery;
  private final long seed;

  /**
   * Starts a server on a free port.
   *
   * @param batchRows rows of every batch
   * @param keys the size of each stream's key space
   * @param poisonEvery every this many batches one is poisoned (batches {@code poisonEvery - 1},
   *     {@code 2 * poisonEvery - 1}, ...)
   * @param seed what the rows are derived from, with their sequence number
   */
  ChangeViewServer(BufferAllocator allocator, int batchRows, int keys, int poisonEvery, long seed)
      throws IOException {
    this.batchRows = batchRows;
    this.keys = keys;
    this.poisonEvery = poisonEvery;
    this.seed = seed;
    this.serverAllocator = allocator.newChildAllocator("change-view-server", 0, Long.MAX_VALUE);
    this.server =
        FlightServer.builder(serverAllocator, Location.forGrpcInsecure("127.0.0.1", 0),
                new Producer(serverAllocator))
            .build()
            .start();
  }

  String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /**
   * Serves stream {@code name} with keys from {@code keyBase}, growing at {@code rowsPerSecond}
   * (whole batches) from the server's start up to {@code rows} rows, a multiple of the batch size.
   */
  ChangeViewServer growingView(String name, long keyBase, long rows, long rowsPerSecond) {
    if (rows % batchRows != 0) {
      throw new IllegalArgumentException(
          "Cannot serve view " + name + ": " + rows + " rows is not a multiple of the batch size "
              + batchRows);
    }
    views.put(name, new View(keyBase, rows, rowsPerSecond));
    return this;
  }

  int batchRows() {
    return batchRows;
  }

  /** Whether batch {@code batch} (0-based) of every stream is poisoned. */
  boolean poisoned(long batch) {
    return batch % poisonEvery == poisonEvery - 1;
  }

  /** The row of a poisoned batch whose id is null. */
  private int poisonedRow(long batch) {
    return (int) Math.floorMod(batch * 7919, (long) batchRows);
  }

  /** Row {@code seq} of the stream whose keys start at {@code keyBase}. */
  Change change(long keyBase, long seq) {
    long batch = seq / batchRows;
    long h = mix(seed ^ mix(keyBase + 0x632BE59BD9B4E019L) ^ seq * 0x9E3779B97F4A7C15L);
    int kind = (int) Math.floorMod(h >>> 40, 100L);
    String op;
    if (kind < 25) {
      op = List.of("delete", "D", "-d").get((int) Math.floorMod(h >>> 20, 3L));
    } else if (kind < 60) {
      op = "update";
    } else {
      op = "insert";
    }
    Long id = poisoned(batch) && seq % batchRows == poisonedRow(batch)
        ? null : keyBase + Math.floorMod(h, (long) keys);
    String name = Math.floorMod(h >>> 32, 17L) == 0 ? null : "v" + seq;
    return new Change(id, name, op);
  }

  /**
   * What a table upserted from the first {@code rows} rows of the stream must hold, key to name,
   * if every poisoned batch is rejected whole: the changes replayed in order, an insert or update
   * setting its key's name (null included), a delete removing its key.
   */
  Map<Long, String> model(long keyBase, long rows) {
    Map<Long, String> table = new java.util.HashMap<>();
    for (long seq = 0; seq < rows; seq++) {
      if (poisoned(seq / batchRows)) {
        continue;
      }
      Change c = change(keyBase, seq);
      if (c.isDelete()) {
        table.remove(c.id());
      } else {
        table.put(c.id(), c.name());
      }
    }
    return table;
  }

  private static long mix(long z) { // SplitMix64's finalizer
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private long available(View view) {
    long elapsedMicros = (System.nanoTime() - startNanos) / 1_000;
    long rows = Math.min(view.rows(), elapsedMicros * view.rowsPerSecond() / 1_000_000);
    return rows - rows % batchRows; // whole batches only: batch boundaries never move
  }

  private void fill(VectorSchemaRoot root, View view, long firstSeq) {
    root.allocateNew();
    BigIntVector id = (BigIntVector) root.getVector("id");
    VarCharVector name = (VarCharVector) root.getVector("name");
    VarCharVector op = (VarCharVector) root.getVector("op");
    for (int i = 0; i < batchRows; i++) {
      Change c = change(view.keyBase(), firstSeq + i);
      if (c.id() == null) {
        id.setNull(i);
      } else {
        id.setSafe(i, c.id());
      }
      if (c.name() == null) {
        name.setNull(i);
      } else {
        name.setSafe(i, c.name().getBytes(StandardCharsets.UTF_8));
      }
      op.setSafe(i, c.op().getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(batchRows);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    server.awaitTermination(10, TimeUnit.SECONDS);
    server.close();
    ViewServer.drainAndClose(serverAllocator);
  }

  private final class Producer extends NoOpFlightProducer {
    private final BufferAllocator allocator;

    Producer(BufferAllocator allocator) {
      this.allocator = allocator;
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      String name = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      View view = views.get(name);
      if (view == null) {
        listener.error(CallStatus.NOT_FOUND.withDescription("no view " + name).toRuntimeException());
        return;
      }
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        listener.start(root);
        long sent = 0;
        while (sent < view.rows()) {
          if (listener.isCancelled()) {
            return;
          }
          if (available(view) == sent) {
            LockSupport.parkNanos(2_000_000); // wait for the next batch
            continue;
          }
          fill(root, view, sent);
          listener.putNext();
          sent += batchRows;
        }
        listener.completed();
      }
    }
  }
}
