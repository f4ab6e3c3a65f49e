package io.crest.flight;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * An in-process Flight server on a free loopback port that serves {@code DoGet} for tickets
 * registered with {@link #serve}, and answers {@code NOT_FOUND} for any other ticket.
 *
 * <p>Rows are generated: row {@code i} of a stream (counted from the stream start) has {@code id
 * = i} and {@code name = "row-" + i}; dictionary streams have {@code color = COLORS[i % 3]}, null
 * every fifth row.
 */
final class TestFlightServer implements AutoCloseable {
  static final List<String> COLORS = List.of("red", "green", "blue");

  static final Schema ROWS_SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("id", new ArrowType.Int(64, true)),
              Field.nullable("name", ArrowType.Utf8.INSTANCE)));

  private static final DictionaryEncoding COLOR_ENCODING =
      new DictionaryEncoding(7L, false, new ArrowType.Int(32, true));

  /** What the server sends for one ticket. */
  interface Plan {
    void serve(BufferAllocator allocator, ServerStreamListener listener) throws Exception;
  }

  private final BufferAllocator allocator;
  private final FlightServer server;
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();

  private TestFlightServer(BufferAllocator allocator) throws Exception {
    this.allocator = allocator;
    this.server =
        FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0), new Producer())
            .build();
    server.start();
  }

  /** Starts a server whose buffers come from a child of {@code parent}. */
  static TestFlightServer start(BufferAllocator parent) throws Exception {
    BufferAllocator allocator = parent.newChildAllocator("test-flight-server", 0, Long.MAX_VALUE);
    try {
      return new TestFlightServer(allocator);
    } catch (Exception e) {
      allocator.close();
      throw e;
    }
  }

  /** Serves {@code plan} for the ticket with the UTF-8 bytes of {@code ticket}. */
  TestFlightServer serve(String ticket, Plan plan) {
    plans.put(ticket, plan);
    return this;
  }

  /** The server's address, {@code grpc://127.0.0.1:<port>}. */
  String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while closing the test server", e);
    } finally {
      allocator.close();
    }
  }

  /** {@code batches} batches of {@code rowsPerBatch} rows of {@link #ROWS_SCHEMA}, then the end. */
  static Plan rows(int batches, int rowsPerBatch) {
    return (allocator, listener) -> {
      sendRows(allocator, listener, batches, rowsPerBatch);
      listener.completed();
    };
  }

  /** Like {@link #rows}, then fails the call with {@code status} instead of ending it. */
  static Plan rowsThenError(int batches, int rowsPerBatch, CallStatus status) {
    return (allocator, listener) -> {
      sendRows(allocator, listener, batches, rowsPerBatch);
      listener.error(status.toRuntimeException());
    };
  }

  /**
   * Sends {@code firstBatches} batches of {@code rowsPerBatch} rows, then waits until {@code
   * release} opens before ending the call (or until the client cancelled it).
   */
  static Plan rowsThenStall(int firstBatches, int rowsPerBatch, CountDownLatch release) {
    return (allocator, listener) -> {
      sendRows(allocator, listener, firstBatches, rowsPerBatch);
      release.await(30, TimeUnit.SECONDS);
      if (!listener.isCancelled()) {
        listener.completed();
      }
    };
  }

  /**
   * Counts {@code gate} down and waits until every other stream sharing the gate did the same
   * before running {@code then}: a source that read its streams one after another would never
   * open the gate.
   */
  static Plan afterGate(CountDownLatch gate, Plan then) {
    return (allocator, listener) -> {
      gate.countDown();
      if (!gate.await(30, TimeUnit.SECONDS)) {
        listener.error(
            CallStatus.TIMED_OUT
                .withDescription("the other streams were never requested")
                .toRuntimeException());
        return;
      }
      then.serve(allocator, listener);
    };
  }

  /**
   * {@code batches} batches of {@code rowsPerBatch} rows of {@code id BIGINT, color VARCHAR},
   * the color being dictionary-encoded with 32-bit indices.
   */
  static Plan dictionaryRows(int batches, int rowsPerBatch) {
    return (allocator, listener) -> {
      Field color =
          new Field(
              "color",
              new FieldType(true, new ArrowType.Int(32, true), COLOR_ENCODING),
              null);
      Schema schema =
          new Schema(List.of(Field.notNullable("id", new ArrowType.Int(64, true)), color));
      try (VarCharVector values = new VarCharVector("color-values", allocator);
          VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
        values.allocateNew();
        for (int i = 0; i < COLORS.size(); i++) {
          values.setSafe(i, COLORS.get(i).getBytes(StandardCharsets.UTF_8));
        }
        values.setValueCount(COLORS.size());
        DictionaryProvider dictionaries =
            new DictionaryProvider.MapDictionaryProvider(new Dictionary(values, COLOR_ENCODING));
        listener.start(root, dictionaries);
        long row = 0;
        for (int b = 0; b < batches && !listener.isCancelled(); b++) {
          root.allocateNew();
          BigIntVector ids = (BigIntVector) root.getVector("id");
          IntVector colors = (IntVector) root.getVector("color");
          for (int r = 0; r < rowsPerBatch; r++, row++) {
            ids.setSafe(r, row);
            if (row % 5 == 4) {
              colors.setNull(r);
            } else {
              colors.setSafe(r, (int) (row % COLORS.size()));
            }
          }
          root.setRowCount(rowsPerBatch);
          listener.putNext();
        }
        listener.completed();
      }
    };
  }

  /** The color that {@link #dictionaryRows} sends for row {@code row}, null every fifth row. */
  static String colorOf(long row) {
    return row % 5 == 4 ? null : COLORS.get((int) (row % COLORS.size()));
  }

  private static void sendRows(
      BufferAllocator allocator, ServerStreamListener listener, int batches, int rowsPerBatch) {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(ROWS_SCHEMA, allocator)) {
      listener.start(root);
      long row = 0;
      for (int b = 0; b < batches && !listener.isCancelled(); b++) {
        root.allocateNew();
        BigIntVector ids = (BigIntVector) root.getVector("id");
        VarCharVector names = (VarCharVector) root.getVector("name");
        for (int r = 0; r < rowsPerBatch; r++, row++) {
          ids.setSafe(r, row);
          names.setSafe(r, ("row-" + row).getBytes(StandardCharsets.UTF_8));
        }
        root.setRowCount(rowsPerBatch);
        listener.putNext();
      }
    }
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      String name = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      Plan plan = plans.get(name);
      if (plan == null) {
        listener.error(
            CallStatus.NOT_FOUND.withDescription("Unknown ticket " + name).toRuntimeException());
        return;
      }
      try {
        plan.serve(allocator, listener);
      } catch (Exception e) {
        if (!listener.isCancelled()) {
          listener.error(
              CallStatus.INTERNAL.withDescription(e.toString()).withCause(e).toRuntimeException());
        }
      }
    }
  }
}
