package io.crest.iceberg;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A real Arrow Flight server on loopback serving deterministic "materialized views" for tests.
 * View {@code v} has rows with ids {@code base(v) + i}; its size can grow between pipeline runs.
 * Every value of a row is a function of its id (see {@link #expected}), so a test can check what
 * Iceberg returns without reading our own bookkeeping.
 */
final class ViewServer implements AutoCloseable {
  static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
              new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
              new Field("price", FieldType.nullable(new ArrowType.Decimal(10, 2, 128)), null),
              new Field(
                  "at",
                  FieldType.notNullable(
                      new ArrowType.Timestamp(org.apache.arrow.vector.types.TimeUnit.MICROSECOND, "UTC")),
                  null),
              new Field(
                  "day",
                  FieldType.nullable(new ArrowType.Date(org.apache.arrow.vector.types.DateUnit.DAY)),
                  null),
              new Field(
                  "tags",
                  FieldType.nullable(ArrowType.List.INSTANCE),
                  List.of(new Field("element", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)))));

  private static final long AT_BASE_MICROS = 1_767_225_600_000_000L; // 2026-01-01T00:00:00Z

  // name -> {base, rows, rowsPerSecond (0: all rows at once)}
  private final Map<String, long[]> views = new ConcurrentHashMap<>();
  private final long startNanos = System.nanoTime();
  private final FlightServer server;
  private final BufferAllocator serverAllocator;
  private final int batchRows;
  private volatile boolean killed;

  ViewServer(BufferAllocator allocator, int batchRows) throws IOException {
    this(allocator, batchRows, 0);
  }

  /** A server on {@code port} (0 picks a free one), for tests that restart a server in place. */
  ViewServer(BufferAllocator allocator, int batchRows, int port) throws IOException {
    this.batchRows = batchRows;
    // The server's own allocator: gRPC gives back the buffers of streams cancelled by a client's
    // close a moment after that close, so close() waits for them here, not in the test's leak
    // check.
    this.serverAllocator = allocator.newChildAllocator("view-server", 0, Long.MAX_VALUE);
    this.server =
        FlightServer.builder(serverAllocator, Location.forGrpcInsecure("127.0.0.1", port),
                new Producer(serverAllocator))
            .build()
            .start();
  }

  int port() {
    return server.getPort();
  }

  /** Serves (or grows) view {@code name} with {@code rows} rows whose ids start at {@code base}. */
  ViewServer view(String name, long base, long rows) {
    views.put(name, new long[] {base, rows, 0});
    return this;
  }

  /**
   * Serves view {@code name} that grows at {@code rowsPerSecond} from the server's start up to
   * {@code rows} rows, over a long-lived stream that sends new rows as they appear. Rows that
   * exist already are sent at once, so a reader that restarts catches up quickly.
   */
  ViewServer growingView(String name, long base, long rows, long rowsPerSecond) {
    views.put(name, new long[] {base, rows, rowsPerSecond});
    return this;
  }

  private long available(long[] view) {
    if (view[2] == 0) {
      return view[1];
    }
    long elapsedMicros = (System.nanoTime() - startNanos) / 1_000;
    return Math.min(view[1], elapsedMicros * view[2] / 1_000_000);
  }

  String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** The values Iceberg should return for the row with {@code id}, by column name. */
  static Map<String, Object> expected(long id) {
    Map<String, Object> row = new java.util.HashMap<>();
    row.put("id", id);
    row.put("name", id % 7 == 0 ? null : "name-" + id);
    row.put("price", id % 5 == 0 ? null : BigDecimal.valueOf(id * 37 % 100_000, 2));
    row.put("at", OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC).plusNanos(id * 1_000L));
    row.put("day", id % 3 == 0 ? null : LocalDate.ofEpochDay(20_000 + id % 365));
    row.put("tags", id % 11 == 0 ? null : id % 4 == 0 ? List.of() : List.of("t" + id % 3, "x"));
    return row;
  }

  static void fill(VectorSchemaRoot root, long firstId, int count) {
    root.allocateNew();
    BigIntVector id = (BigIntVector) root.getVector("id");
    VarCharVector name = (VarCharVector) root.getVector("name");
    DecimalVector price = (DecimalVector) root.getVector("price");
    TimeStampMicroTZVector at = (TimeStampMicroTZVector) root.getVector("at");
    DateDayVector day = (DateDayVector) root.getVector("day");
    ListVector tags = (ListVector) root.getVector("tags");
    UnionListWriter tagWriter = tags.getWriter();
    for (int i = 0; i < count; i++) {
      long v = firstId + i;
      Map<String, Object> e = expected(v);
      id.setSafe(i, v);
      if (e.get("name") == null) {
        name.setNull(i);
      } else {
        name.setSafe(i, ((String) e.get("name")).getBytes(StandardCharsets.UTF_8));
      }
      if (e.get("price") == null) {
        price.setNull(i);
      } else {
        price.setSafe(i, (BigDecimal) e.get("price"));
      }
      at.setSafe(i, AT_BASE_MICROS + v);
      if (e.get("day") == null) {
        day.setNull(i);
      } else {
        day.setSafe(i, (int) ((LocalDate) e.get("day")).toEpochDay());
      }
      tagWriter.setPosition(i);
      @SuppressWarnings("unchecked")
      List<String> t = (List<String>) e.get("tags");
      if (t != null) {
        tagWriter.startList();
        for (String s : t) {
          byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
          try (org.apache.arrow.memory.ArrowBuf buf = root.getVector(0).getAllocator().buffer(bytes.length)) {
            buf.setBytes(0, bytes);
            tagWriter.varChar().writeVarChar(0, bytes.length, buf);
          }
        }
        tagWriter.endList();
      }
    }
    tags.setValueCount(count);
    root.setRowCount(count);
  }

  /**
   * Stops the server as a crash would: every open stream fails at once with UNAVAILABLE (a
   * growing view's stream is cut where it is), then the server closes.
   */
  void kill() throws InterruptedException {
    killed = true;
    close();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdown();
    server.awaitTermination(10, TimeUnit.SECONDS);
    server.close();
    drainAndClose(serverAllocator);
  }

  /** Waits (at most 5 s) until gRPC gave back what it held, then closes: a leak still fails. */
  static void drainAndClose(BufferAllocator allocator) throws InterruptedException {
    try {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
          .pollInterval(java.time.Duration.ofMillis(10))
          .until(() -> allocator.getAllocatedMemory() == 0);
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      // a real leak: close() below names it
    }
    allocator.close();
  }

  private final class Producer extends NoOpFlightProducer {
    private final BufferAllocator allocator;

    Producer(BufferAllocator allocator) {
      this.allocator = allocator;
    }

    /** Lists every view served, in name order, one endpoint each (on this server). */
    @Override
    public org.apache.arrow.flight.FlightInfo getFlightInfo(
        CallContext context, org.apache.arrow.flight.FlightDescriptor descriptor) {
      List<org.apache.arrow.flight.FlightEndpoint> endpoints = new java.util.ArrayList<>();
      for (String name : new java.util.TreeSet<>(views.keySet())) {
        endpoints.add(new org.apache.arrow.flight.FlightEndpoint(
            new Ticket(name.getBytes(StandardCharsets.UTF_8))));
      }
      return new org.apache.arrow.flight.FlightInfo(SCHEMA, descriptor, endpoints, -1, -1);
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      String name = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      long[] view = views.get(name);
      if (view == null) {
        listener.error(CallStatus.NOT_FOUND.withDescription("no view " + name).toRuntimeException());
        return;
      }
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        listener.start(root);
        long sent = 0;
        while (sent < view[1]) {
          if (listener.isCancelled()) {
            return;
          }
          if (killed) {
            listener.error(CallStatus.UNAVAILABLE.withDescription("server killed")
                .toRuntimeException());
            return;
          }
          long ready = available(view);
          if (ready == sent) {
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000); // wait for new rows
            continue;
          }
          int n = (int) Math.min(batchRows, ready - sent);
          fill(root, view[0] + sent, n);
          listener.putNext();
          sent += n;
        }
        listener.completed();
      }
    }
  }
}
