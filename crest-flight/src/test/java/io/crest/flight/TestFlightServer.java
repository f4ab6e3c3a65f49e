package io.crest.flight;

import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightProducer.ServerStreamListener;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.ArrowBuf;
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
 * An in-process Flight server on a loopback port (a free one unless given) that serves {@code
 * DoGet} for tickets registered with {@link #serve}, incremental views registered with {@link
 * #serveIncremental} (the {@link IncrementalTicket} convention), and {@code GetFlightInfo} for
 * descriptors registered with {@link #describe}; anything else is {@code NOT_FOUND}. It counts the
 * calls per ticket or view. TLS and authentication are added through {@link #start(BufferAllocator,
 * Location, Consumer)}.
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

  /** What the server answers to {@code GetFlightInfo} for one descriptor. */
  interface InfoPlan {
    FlightInfo answer(FlightDescriptor descriptor) throws Exception;
  }

  private final BufferAllocator allocator;
  private final FlightServer server;
  private final boolean tls;
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();
  private final Map<String, IncrementalView> views = new ConcurrentHashMap<>();
  private final Map<FlightDescriptor, InfoPlan> infos = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final List<String> tickets = new CopyOnWriteArrayList<>();
  /** DoGet handlers still running: gRPC counts a cancelled call as done before its handler is. */
  private final AtomicInteger handlersRunning = new AtomicInteger();

  private TestFlightServer(
      BufferAllocator allocator, Location location, Consumer<FlightServer.Builder> options)
      throws Exception {
    this.allocator = allocator;
    FlightServer.Builder builder = FlightServer.builder(allocator, location, new Producer());
    options.accept(builder);
    this.server = builder.build();
    this.tls = location.getUri().getScheme().equals("grpc+tls");
    server.start();
  }

  /** Starts a plaintext server whose buffers come from a child of {@code parent}. */
  static TestFlightServer start(BufferAllocator parent) throws Exception {
    return start(parent, Location.forGrpcInsecure("127.0.0.1", 0), builder -> {});
  }

  /**
   * Starts a server at {@code location} (port 0 for a free one), letting {@code options} add TLS
   * or authentication to its builder.
   */
  static TestFlightServer start(
      BufferAllocator parent, Location location, Consumer<FlightServer.Builder> options)
      throws Exception {
    BufferAllocator allocator = parent.newChildAllocator("test-flight-server", 0, Long.MAX_VALUE);
    try {
      return new TestFlightServer(allocator, location, options);
    } catch (Exception e) {
      allocator.close();
      throw e;
    }
  }

  /** Answers {@code GetFlightInfo} for {@code descriptor} with {@code plan}. */
  TestFlightServer describe(FlightDescriptor descriptor, InfoPlan plan) {
    infos.put(descriptor, plan);
    return this;
  }

  /** Serves {@code view} under the incremental ticket convention. */
  TestFlightServer serveIncremental(IncrementalView view) {
    views.put(view.name, view);
    return this;
  }

  /** How many {@code DoGet} calls named {@code ticket} (a plain ticket or a view). */
  int calls(String ticket) {
    AtomicInteger count = calls.get(ticket);
    return count == null ? 0 : count.get();
  }

  /** The text of every ticket the server was asked for, in order. */
  List<String> tickets() {
    return List.copyOf(tickets);
  }

  /** The server's port. */
  int port() {
    return server.getPort();
  }

  /** The server's location. */
  Location location() {
    return tls
        ? Location.forGrpcTls("127.0.0.1", server.getPort())
        : Location.forGrpcInsecure("127.0.0.1", server.getPort());
  }

  /** Serves {@code plan} for the ticket with the UTF-8 bytes of {@code ticket}. */
  TestFlightServer serve(String ticket, Plan plan) {
    plans.put(ticket, plan);
    return this;
  }

  /** The server's address, {@code grpc://127.0.0.1:<port>} ({@code grpc+tls://} with TLS). */
  String uri() {
    return (tls ? "grpc+tls" : "grpc") + "://127.0.0.1:" + server.getPort();
  }

  /**
   * Stops the server, waits until every {@code DoGet} handler returned (a handler whose call the
   * client cancelled may still hold its batch for a moment after gRPC terminated), then closes the
   * server's allocator, which fails if a handler leaked a buffer.
   */
  @Override
  public void close() {
    try {
      server.close();
      await("DoGet handlers of the test server to return")
          .atMost(Duration.ofSeconds(40))
          .pollInterval(Duration.ofMillis(5))
          .until(() -> handlersRunning.get() == 0);
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

  /**
   * Calls {@code first} for the first {@code failing} calls and {@code then} for later ones, so
   * that a test can break the first calls of a stream.
   */
  static Plan firstCalls(int failing, Plan first, Plan then) {
    AtomicInteger count = new AtomicInteger();
    return (allocator, listener) -> {
      if (count.incrementAndGet() <= failing) {
        first.serve(allocator, listener);
      } else {
        then.serve(allocator, listener);
      }
    };
  }

  /**
   * A live view: sends {@code firstBatches} batches of {@code rowsPerBatch} rows, waits until
   * {@code more} opens, sends {@code laterBatches} more, then keeps the call open until the
   * client cancels it (or {@code end} opens, which ends it).
   */
  static Plan live(
      int firstBatches, int laterBatches, int rowsPerBatch, CountDownLatch more,
      CountDownLatch end) {
    return (allocator, listener) -> {
      try (VectorSchemaRoot root = VectorSchemaRoot.create(ROWS_SCHEMA, allocator)) {
        listener.start(root);
        long row = 0;
        for (int b = 0; b < firstBatches; b++, row += rowsPerBatch) {
          fill(root, row, rowsPerBatch);
          listener.putNext();
        }
        while (!listener.isCancelled() && !more.await(10, TimeUnit.MILLISECONDS)) {
          // the view does not grow yet
        }
        for (int b = 0; b < laterBatches && !listener.isCancelled(); b++, row += rowsPerBatch) {
          fill(root, row, rowsPerBatch);
          listener.putNext();
        }
        while (!listener.isCancelled() && !end.await(10, TimeUnit.MILLISECONDS)) {
          // the call stays open, as a live view's does
        }
        if (!listener.isCancelled()) {
          listener.completed();
        }
      }
    };
  }

  /** A batch of {@code rows} rows, without the position an incremental server must send. */
  static Plan untaggedRows(int rows) {
    return (allocator, listener) -> {
      try (VectorSchemaRoot root = VectorSchemaRoot.create(ROWS_SCHEMA, allocator)) {
        listener.start(root);
        fill(root, 0, rows);
        listener.putNext();
        listener.completed();
      }
    };
  }

  /** Fails the call with {@code status} without sending anything. */
  static Plan error(CallStatus status) {
    return (allocator, listener) -> listener.error(status.toRuntimeException());
  }

  /**
   * Records how many calls of the plans wrapped with it run at once, the highest number in {@code
   * peak}.
   */
  static Plan counting(AtomicInteger active, AtomicInteger peak, Plan then) {
    return (allocator, listener) -> {
      peak.accumulateAndGet(active.incrementAndGet(), Math::max);
      try {
        then.serve(allocator, listener);
      } finally {
        active.decrementAndGet();
      }
    };
  }

  /**
   * An append-only view served under the incremental ticket convention: position {@code n} is
   * "after the first n rows", sent as the decimal text of n; the rows are those of {@link
   * #rows}. A call sends what is new in batches of {@code batchRows} rows and ends.
   */
  static final class IncrementalView {
    final String name;
    final int batchRows;
    final AtomicLong size = new AtomicLong();
    final List<String> positionsAsked = new CopyOnWriteArrayList<>();
    volatile CallStatus failAfterFirstBatch;

    IncrementalView(String name, int batchRows) {
      this.name = name;
      this.batchRows = batchRows;
    }

    /** Makes {@code rows} more rows available. */
    IncrementalView grow(long rows) {
      size.addAndGet(rows);
      return this;
    }

    void serve(BufferAllocator allocator, IncrementalTicket ticket, ServerStreamListener listener) {
      String asked = ticket.position().orElse("");
      positionsAsked.add(asked);
      long from;
      try {
        from = asked.isEmpty() ? 0 : Long.parseLong(asked);
      } catch (NumberFormatException e) {
        listener.error(CallStatus.INVALID_ARGUMENT
            .withDescription("bad position " + asked).toRuntimeException());
        return;
      }
      long to = size.get();
      CallStatus failure = failAfterFirstBatch;
      try (VectorSchemaRoot root = VectorSchemaRoot.create(ROWS_SCHEMA, allocator)) {
        listener.start(root);
        boolean first = true;
        for (long start = from; start < to && !listener.isCancelled(); start += batchRows) {
          if (!first && failure != null) {
            failAfterFirstBatch = null;
            listener.error(failure.toRuntimeException());
            return;
          }
          int rows = (int) Math.min(batchRows, to - start);
          fill(root, start, rows);
          byte[] position = Long.toString(start + rows).getBytes(StandardCharsets.UTF_8);
          ArrowBuf metadata = allocator.buffer(position.length);
          metadata.writeBytes(position);
          listener.putNext(metadata);
          first = false;
        }
        listener.completed();
      }
    }
  }

  private static void fill(VectorSchemaRoot root, long firstRow, int rows) {
    root.allocateNew();
    BigIntVector ids = (BigIntVector) root.getVector("id");
    VarCharVector names = (VarCharVector) root.getVector("name");
    for (int r = 0; r < rows; r++) {
      long row = firstRow + r;
      ids.setSafe(r, row);
      names.setSafe(r, ("row-" + row).getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(rows);
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public FlightInfo getFlightInfo(CallContext context, FlightDescriptor descriptor) {
      InfoPlan plan = infos.get(descriptor);
      if (plan == null) {
        throw CallStatus.NOT_FOUND
            .withDescription("Unknown descriptor " + descriptor).toRuntimeException();
      }
      try {
        return plan.answer(descriptor);
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw CallStatus.INTERNAL.withDescription(e.toString()).withCause(e).toRuntimeException();
      }
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      handlersRunning.incrementAndGet();
      try {
        answer(ticket, listener);
      } finally {
        handlersRunning.decrementAndGet();
      }
    }

    private void answer(Ticket ticket, ServerStreamListener listener) {
      String name = new String(ticket.getBytes(), StandardCharsets.UTF_8);
      tickets.add(name);
      Optional<IncrementalTicket> incremental = IncrementalTicket.parse(ticket);
      if (incremental.isPresent()) {
        String viewName = incremental.get().view();
        calls.computeIfAbsent(viewName, k -> new AtomicInteger()).incrementAndGet();
        IncrementalView view = views.get(viewName);
        if (view == null && plans.containsKey(name)) {
          serve(plans.get(name), listener);
          return;
        }
        if (view == null) {
          listener.error(CallStatus.NOT_FOUND
              .withDescription("Unknown view " + viewName).toRuntimeException());
          return;
        }
        view.serve(allocator, incremental.get(), listener);
        return;
      }
      calls.computeIfAbsent(name, k -> new AtomicInteger()).incrementAndGet();
      Plan plan = plans.get(name);
      if (plan == null) {
        listener.error(
            CallStatus.NOT_FOUND.withDescription("Unknown ticket " + name).toRuntimeException());
        return;
      }
      serve(plan, listener);
    }

    private void serve(Plan plan, ServerStreamListener listener) {
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
