package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Reads from real in-process Flight servers. Every test closes its sources, then its servers,
 * then its root allocator, so a buffer left open anywhere fails the test.
 */
@Timeout(120) // a reader that never stops would otherwise hang the build in close()
class FlightSourceTest {
  private BufferAllocator allocator;
  private final Deque<AutoCloseable> resources = new ArrayDeque<>();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeEverything() throws Exception {
    try {
      while (!resources.isEmpty()) {
        resources.pop().close();
      }
    } finally {
      allocator.close();
    }
  }

  @Test
  void start_singleStream_emitsAllRowsInOrderWithPositions() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(3, 4));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 12));
    assertThat(context.positions("orders")).containsExactly(4L, 8L, 12L);
    assertThat(context.emitted())
        .allSatisfy(batch -> {
          assertThat(batch.thread).isEqualTo("crest-flight-orders");
          assertThat(batch.fields).isEqualTo(TestFlightServer.ROWS_SCHEMA.getFields());
        });
  }

  @Test
  void start_streamsOnTwoServers_areReadConcurrently() throws Exception {
    // Each stream's server waits until all three were requested: read one after another, the
    // first would wait forever.
    CountDownLatch gate = new CountDownLatch(3);
    TestFlightServer first = server()
        .serve("orders", TestFlightServer.afterGate(gate, TestFlightServer.rows(2, 5)))
        .serve("customers", TestFlightServer.afterGate(gate, TestFlightServer.rows(3, 2)));
    TestFlightServer second = server()
        .serve("orders", TestFlightServer.afterGate(gate, TestFlightServer.rows(1, 7)));
    FlightSource source = source(
        FlightSource.builder(allocator)
            .endpoint(first.uri(), "orders")
            .endpoint(first.uri().replace("grpc://", "grpc+tcp://"), "customers")
            .stream("orders-eu", second.uri(), new Ticket(bytes("orders"))));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    // One client per server: the two spellings of the first server share one.
    assertThat(sourceAllocator().getChildAllocators()).hasSize(2);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 10));
    assertThat(context.positions("orders")).containsExactly(5L, 10L);
    assertThat(context.rows("customers")).isEqualTo(expectedRows(0, 6));
    assertThat(context.positions("customers")).containsExactly(2L, 4L, 6L);
    assertThat(context.rows("orders-eu")).isEqualTo(expectedRows(0, 7));
    assertThat(context.positions("orders-eu")).containsExactly(7L);
    assertThat(context.emitted().stream().map(batch -> batch.thread).distinct())
        .containsExactlyInAnyOrder(
            "crest-flight-orders", "crest-flight-customers", "crest-flight-orders-eu");
  }

  @Test
  void start_resumeOffsetMidBatch_emitsExactlyTheRowsAfterIt() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(3, 4));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context =
        CollectingSourceContext.resumingAt(Map.of("orders", SourcePosition.ofOffset(6)));

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("orders")).isEqualTo(expectedRows(6, 12));
    assertThat(context.emitted("orders").stream().map(batch -> batch.rows.size()))
        .containsExactly(2, 4);
    assertThat(context.positions("orders")).containsExactly(8L, 12L);
  }

  @Test
  void start_resumeOffsetAtBatchBoundary_skipsWholeBatches() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(3, 4));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context =
        CollectingSourceContext.resumingAt(Map.of("orders", SourcePosition.ofOffset(8)));

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.rows("orders")).isEqualTo(expectedRows(8, 12));
    assertThat(context.positions("orders")).containsExactly(12L);
  }

  @Test
  void start_resumeOffsetAtEnd_completesWithoutBatches() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(3, 4));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.resumingAt(
        Map.of("orders", SourcePosition.ofOffset(12), "dropped", SourcePosition.ofOffset(3)));

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.emitCalls()).isZero();
  }

  @Test
  void start_resumeOffsetBeyondEnd_failsWithRowCounts() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(3, 4));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context =
        CollectingSourceContext.resumingAt(Map.of("orders", SourcePosition.ofOffset(20)));

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith(
              "Cannot resume stream orders at row 20: the server sent only 12 rows (the view was"
                  + " reset or is not append-only");
          assertThat(e.stream()).contains("orders");
          assertThat(e.status()).isEmpty();
        });
    assertThat(context.emitCalls()).isZero();
    assertThat(context.completions()).isZero();
  }

  @Test
  void start_resumePositionNotAnOffset_isRejected() {
    FlightSource source = source(
        FlightSource.builder(allocator).endpoint("grpc://127.0.0.1:1", "orders"));
    CollectingSourceContext context =
        CollectingSourceContext.resumingAt(Map.of("orders", SourcePosition.of("lsn-17")));

    assertThatThrownBy(() -> source.start(context))
        .isInstanceOf(SourceException.class)
        .hasMessageStartingWith("Cannot resume stream orders at position 'lsn-17': it is not a row"
            + " offset");
  }

  @Test
  void start_unknownTicket_failsWithNotFound() throws Exception {
    TestFlightServer server = server();
    FlightSource source = source(
        FlightSource.builder(allocator).endpoint(server.uri(), "missing_mv"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).isEqualTo(
              "Cannot read stream missing_mv from " + server.uri()
                  + ": NOT_FOUND: Unknown ticket missing_mv"
                  + " (the server does not know the ticket; check the view name)");
          assertThat(e.stream()).contains("missing_mv");
          assertThat(e.status()).contains("NOT_FOUND");
          assertThat(e.getCause()).isInstanceOf(FlightRuntimeException.class);
        });
    assertThat(context.completions()).isZero();
  }

  @Test
  void start_serverFailsMidStream_emitsEarlierBatchesThenFails() throws Exception {
    TestFlightServer server = server().serve(
        "orders",
        TestFlightServer.rowsThenError(2, 3, CallStatus.INTERNAL.withDescription("disk full")));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage())
              .isEqualTo("Cannot read stream orders from " + server.uri() + ": INTERNAL: disk full");
          assertThat(e.status()).contains("INTERNAL");
        });
    assertThat(context.completions()).isZero();
  }

  @Test
  void start_unreachableServer_failsWithUnavailable() throws Exception {
    String uri;
    try (TestFlightServer gone = TestFlightServer.start(allocator)) {
      uri = gone.uri();
    }
    FlightSource source = source(
        FlightSource.builder(allocator)
            .endpoint(uri, "orders")
            .reconnectBackoff(Duration.ofMillis(1), Duration.ofMillis(4))
            .maxReconnectAttempts(2));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith("Cannot read stream orders from " + uri
              + ": UNAVAILABLE");
          assertThat(e.getMessage()).endsWith("(the server is unreachable or went away; retry"
              + " later; gave up after 2 reconnect attempts)");
          assertThat(e.status()).contains(FlightStatusCode.UNAVAILABLE.name());
          assertThat(e.stream()).contains("orders");
        });
  }

  @Test
  void start_oneStreamFails_doesNotComplete() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(2, 2));
    FlightSource source = source(
        FlightSource.builder(allocator)
            .endpoint(server.uri(), "orders")
            .endpoint(server.uri(), "missing"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty() && context.emitted().size() == 2);
    source.close();
    assertThat(context.completions()).isZero();
    assertThat(context.failures()).hasSize(1);
  }

  @Test
  void emit_returningFalse_stopsTheReader() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(50, 10));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.acceptingAtMost(2);

    source.start(context);

    waitAtMost().until(() -> !readerAlive("orders") && context.emitCalls() > 0);
    assertThat(context.emitCalls()).isEqualTo(3);
    assertThat(context.positions("orders")).containsExactly(10L, 20L);
    assertThat(context.failures()).isEmpty();
    assertThat(context.completions()).isZero();
  }

  @Test
  void start_dictionaryEncodedColumn_emitsDecodedValues() throws Exception {
    TestFlightServer server = server().serve("colors", TestFlightServer.dictionaryRows(3, 5));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "colors"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("colors")).isEqualTo(expectedColorRows(0, 15));
    assertThat(context.emitted()).allSatisfy(batch -> {
      Field color = batch.fields.get(1);
      assertThat(color.getName()).isEqualTo("color");
      assertThat(color.getType()).isEqualTo(ArrowType.Utf8.INSTANCE);
      assertThat(color.getDictionary()).isNull();
      assertThat(color.isNullable()).isTrue();
    });
  }

  @Test
  void start_dictionaryEncodedColumnResumedMidBatch_emitsDecodedRowsAfterOffset()
      throws Exception {
    TestFlightServer server = server().serve("colors", TestFlightServer.dictionaryRows(3, 5));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "colors"));
    CollectingSourceContext context =
        CollectingSourceContext.resumingAt(Map.of("colors", SourcePosition.ofOffset(7)));

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.rows("colors")).isEqualTo(expectedColorRows(7, 15));
    assertThat(context.positions("colors")).containsExactly(10L, 15L);
  }

  @Test
  void close_beforeStartAndTwice_isSafe() {
    FlightSource source =
        FlightSource.builder(allocator).endpoint("grpc://127.0.0.1:1", "orders").build();

    source.close();
    source.close();

    assertThat(allocator.getChildAllocators()).isEmpty();
    assertThatThrownBy(() -> source.start(CollectingSourceContext.create()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot start source flight[orders]: it is closed (a source starts once;"
            + " build a new one)");
  }

  @Test
  void close_afterStartTwice_isSafe() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(1, 1));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();
    source.start(context);
    waitAtMost().until(() -> context.completions() == 1);

    source.close();
    source.close();

    assertThat(allocator.getChildAllocators()).extracting(BufferAllocator::getName)
        .containsExactly("test-flight-server");
  }

  @Test
  void close_whileReaderBlocksInEmit_stopsItQuietly() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(5, 3));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.blockingAfter(1);
    source.start(context);
    waitAtMost().until(() -> context.blockedEmits() == 1);

    source.close();

    assertThat(readerAlive("orders")).isFalse();
    assertThat(context.positions("orders")).containsExactly(3L);
    assertThat(context.failures()).isEmpty();
    assertThat(context.completions()).isZero();
  }

  @Test
  void close_whileServerStalls_cancelsTheCall() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    TestFlightServer server =
        server().serve("orders", TestFlightServer.rowsThenStall(1, 3, release));
    resources.push(release::countDown); // lets the server's handler end before the server closes
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();
    source.start(context);
    waitAtMost().until(() -> context.emitted().size() == 1);

    source.close();

    assertThat(readerAlive("orders")).isFalse();
    assertThat(context.failures()).isEmpty();
    assertThat(context.completions()).isZero();
  }

  @Test
  void start_twice_isRejected() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(1, 1));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();
    source.start(context);

    assertThatThrownBy(() -> source.start(context))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot start source flight[orders]: it is started already (a source starts"
            + " once; build a new one)");
    waitAtMost().until(() -> context.completions() == 1);
  }

  @Test
  void start_makesANamedChildOfTheParentAllocator() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.rows(1, 1));
    FlightSource source = source(FlightSource.builder(allocator).endpoint(server.uri(), "orders"));

    source.start(CollectingSourceContext.create());

    assertThat(sourceAllocator().getName()).isEqualTo("crest-flight-source");
  }

  @Test
  void name_listsStreamIdsSorted() {
    FlightSource source = FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:1", "orders_mv")
        .endpoint("grpc://127.0.0.1:2", "customers_mv")
        .stream("b-stream", "grpc://127.0.0.1:1", new Ticket(bytes("x")))
        .build();

    assertThat(source.name()).isEqualTo("flight[b-stream, customers_mv, orders_mv]");
    assertThat(source).hasToString("flight[b-stream, customers_mv, orders_mv]");
    source.close();
  }

  private TestFlightServer server() throws Exception {
    TestFlightServer server = TestFlightServer.start(allocator);
    resources.push(server);
    return server;
  }

  /** Builds the source and registers it to be closed before the servers and the allocator. */
  private FlightSource source(FlightSource.Builder builder) {
    FlightSource source = builder.build();
    resources.push(source);
    return source;
  }

  private BufferAllocator sourceAllocator() {
    return allocator.getChildAllocators().stream()
        .filter(child -> child.getName().equals("crest-flight-source"))
        .findFirst()
        .orElseThrow();
  }

  private static ConditionFactory waitAtMost() {
    return await().atMost(Duration.ofSeconds(30));
  }

  private static boolean readerAlive(String stream) {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(thread -> thread.getName().equals("crest-flight-" + stream) && thread.isAlive());
  }

  private static List<List<Object>> expectedRows(long from, long to) {
    return LongStream.range(from, to)
        .mapToObj(i -> List.<Object>of(i, "row-" + i))
        .collect(Collectors.toList());
  }

  private static List<List<Object>> expectedColorRows(long from, long to) {
    List<List<Object>> rows = new ArrayList<>();
    for (long i = from; i < to; i++) {
      rows.add(Arrays.asList(i, TestFlightServer.colorOf(i)));
    }
    return rows;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
