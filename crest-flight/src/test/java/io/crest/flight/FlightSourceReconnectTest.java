package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.errors.SourceException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Transient failures reconnect and resume; permanent ones fail fast. Real servers on loopback. */
@Timeout(120)
class FlightSourceReconnectTest extends FlightTestSupport {

  @Test
  void replayedStream_cutWithUnavailable_reconnectsAndEmitsEveryRowOnce() throws Exception {
    TestFlightServer server = server().serve("orders", TestFlightServer.firstCalls(
        1,
        TestFlightServer.rowsThenError(2, 3, CallStatus.UNAVAILABLE.withDescription("restarting")),
        TestFlightServer.rows(4, 3)));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(server.calls("orders")).isEqualTo(2);
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 12));
    assertThat(context.positions("orders")).containsExactly(3L, 6L, 9L, 12L);
  }

  @Test
  void replayedStream_failingMoreThanTheAttempts_failsWithTheStatusAndTheCount()
      throws Exception {
    TestFlightServer server = server().serve("orders",
        TestFlightServer.error(CallStatus.RESOURCE_EXHAUSTED.withDescription("too many readers")));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .reconnectBackoff(FAST, FAST)
        .maxReconnectAttempts(3));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(server.calls("orders")).isEqualTo(4);
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).isEqualTo("Cannot read stream orders from " + server.uri()
              + ": RESOURCE_EXHAUSTED: too many readers (gave up after 3 reconnect attempts)");
          assertThat(e.status()).contains("RESOURCE_EXHAUSTED");
          assertThat(e.stream()).contains("orders");
        });
  }

  @Test
  void replayedStream_reconnectingOff_failsAtTheFirstTransientError() throws Exception {
    TestFlightServer server = server().serve("orders",
        TestFlightServer.error(CallStatus.UNAVAILABLE.withDescription("restarting")));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .maxReconnectAttempts(0));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(server.calls("orders")).isEqualTo(1);
    assertThat(context.failures().get(0)).hasMessage("Cannot read stream orders from "
        + server.uri() + ": UNAVAILABLE: restarting (the server is unreachable or went away;"
        + " retry later; reconnecting is off)");
  }

  @Test
  void replayedStream_permanentStatus_failsWithoutReconnecting() throws Exception {
    TestFlightServer server = server().serve("orders",
        TestFlightServer.error(CallStatus.UNAUTHORIZED.withDescription("no grant on orders")));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(server.calls("orders")).isEqualTo(1);
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).isEqualTo("Cannot read stream orders from " + server.uri()
              + ": UNAUTHORIZED: no grant on orders (the credentials are valid but may not read"
              + " this; check the server's grants)");
          assertThat(e.status()).contains("UNAUTHORIZED");
        });
  }

  @Test
  void serverDownAtStart_andBackOnItsPort_isReadAfterReconnects() throws Exception {
    int port;
    try (TestFlightServer gone = TestFlightServer.start(allocator)) {
      port = gone.port();
    }
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:" + port, "orders")
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(20))
        .maxReconnectAttempts(1000));
    CollectingSourceContext context = CollectingSourceContext.create();
    source.start(context);
    waitAtMost().until(() -> source.reconnects() >= 2);

    TestFlightServer back = register(TestFlightServer.start(
        allocator, Location.forGrpcInsecure("127.0.0.1", port), builder -> {}));
    back.serve("orders", TestFlightServer.rows(2, 2));

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 4));
    assertThat(context.failures()).isEmpty();
  }

  @Test
  void discoveredEndpoint_firstLocationDown_isReadFromTheNextLocation() throws Exception {
    String deadUri;
    try (TestFlightServer gone = TestFlightServer.start(allocator)) {
      deadUri = gone.uri();
    }
    TestFlightServer live = server().serve("orders", TestFlightServer.rows(2, 3));
    Location dead = Location.forGrpcInsecure("127.0.0.1", Integer.parseInt(
        deadUri.substring(deadUri.lastIndexOf(':') + 1)));
    live.describe(FlightDescriptor.path("shop"), descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor,
        List.of(new FlightEndpoint(new Ticket("orders".getBytes()), dead, live.location())),
        -1, -1));
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("shop", live.uri(), FlightDescriptor.path("shop"))
        .reconnectBackoff(FAST, FAST)
        .maxReconnectAttempts(2));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("shop/orders")).isEqualTo(expectedRows(0, 6));
  }

  @Test
  void discovery_slowerThanTheCallTimeout_failsWithTimedOut() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    TestFlightServer server = server();
    resources.push(release::countDown); // lets the stalled handlers end before the server closes
    server.describe(FlightDescriptor.path("shop"), descriptor -> {
      release.await(30, TimeUnit.SECONDS);
      throw CallStatus.NOT_FOUND.toRuntimeException();
    });
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("shop", server.uri(), FlightDescriptor.path("shop"))
        .callTimeout(Duration.ofMillis(200))
        .reconnectBackoff(FAST, FAST)
        .maxReconnectAttempts(1));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith(
              "Cannot discover the streams of path shop from " + server.uri() + ": TIMED_OUT");
          assertThat(e.getMessage()).endsWith("(the server did not answer in time; retry later or"
              + " raise callTimeout; gave up after 1 reconnect attempts)");
          assertThat(e.status()).contains("TIMED_OUT");
          assertThat(e.stream()).isEmpty();
        });
  }
}
