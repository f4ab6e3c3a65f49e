package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.Ticket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** GetFlightInfo, then every endpoint of the answer, on real servers. */
@Timeout(120)
class FlightSourceDiscoveryTest extends FlightTestSupport {

  @Test
  void discover_pathDescriptor_readsEveryEndpointOnEveryServerInParallel() throws Exception {
    // Each stream's server waits until all three were requested: read one after another, the
    // first would wait forever.
    CountDownLatch gate = new CountDownLatch(3);
    TestFlightServer first = server()
        .serve("orders-1", TestFlightServer.afterGate(gate, TestFlightServer.rows(2, 5)))
        .serve("orders-2", TestFlightServer.afterGate(gate, TestFlightServer.rows(1, 3)));
    TestFlightServer second = server()
        .serve("orders-3", TestFlightServer.afterGate(gate, TestFlightServer.rows(3, 1)));
    first.describe(FlightDescriptor.path("shop", "orders"), descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor,
        List.of(
            new FlightEndpoint(ticket("orders-1")),
            new FlightEndpoint(ticket("orders-2"), first.location()),
            new FlightEndpoint(ticket("orders-3"), second.location())),
        -1, -1));
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("shop", first.uri(), FlightDescriptor.path("shop", "orders")));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("shop/orders-1")).isEqualTo(expectedRows(0, 10));
    assertThat(context.rows("shop/orders-2")).isEqualTo(expectedRows(0, 3));
    assertThat(context.rows("shop/orders-3")).isEqualTo(expectedRows(0, 3));
    assertThat(context.positions("shop/orders-3")).containsExactly(1L, 2L, 3L);
    assertThat(source.name()).isEqualTo("flight[shop/*]");
  }

  @Test
  void discover_commandDescriptor_resumesEachStreamAtItsOwnPosition() throws Exception {
    byte[] binaryTicket = {0, 1, 2, (byte) 0xff};
    TestFlightServer server = server()
        .serve("orders", TestFlightServer.rows(3, 2))
        .serve(new String(binaryTicket, StandardCharsets.UTF_8), TestFlightServer.rows(2, 2));
    FlightDescriptor command = FlightDescriptor.command("SELECT * FROM sales".getBytes());
    server.describe(command, descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor,
        List.of(new FlightEndpoint(ticket("orders")),
            new FlightEndpoint(new Ticket(binaryTicket))),
        -1, -1));
    String binaryId = "sales/" + Discovery.key(binaryTicket);
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("sales", server.uri(), command));
    CollectingSourceContext context = CollectingSourceContext.resumingAt(Map.of(
        "sales/orders", SourcePosition.ofOffset(4), binaryId, SourcePosition.ofOffset(1)));

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(binaryId).matches("sales/sha256-[0-9a-f]{16}");
    assertThat(context.rows("sales/orders")).isEqualTo(expectedRows(4, 6));
    assertThat(context.rows(binaryId)).isEqualTo(expectedRows(1, 4).subList(0, 3));
  }

  @Test
  void discover_incrementalTickets_areReadIncrementally() throws Exception {
    TestFlightServer server = server()
        .serveIncremental(new TestFlightServer.IncrementalView("orders", 2).grow(5));
    server.describe(FlightDescriptor.path("live"), descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor,
        List.of(new FlightEndpoint(IncrementalTicket.fromStart("orders").toTicket())), -1, -1));
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("live", server.uri(), FlightDescriptor.path("live"))
        .pollInterval(FAST));
    CollectingSourceContext context = CollectingSourceContext.resumingAt(
        Map.of("live/orders", SourcePosition.of("1")));

    source.start(context);

    waitAtMost().until(() -> context.rows("live/orders").size() == 4);
    assertThat(context.rows("live/orders")).isEqualTo(expectedRows(1, 5));
    assertThat(context.positions("live/orders")).containsExactly(3L, 5L);
    assertThat(context.completions()).isZero();
  }

  @Test
  void discover_unknownDescriptor_failsWithNotFound() throws Exception {
    TestFlightServer server = server();
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("shop", server.uri(), FlightDescriptor.path("nope")));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith("Cannot discover the streams of path nope from "
              + server.uri() + ": NOT_FOUND: Unknown descriptor");
          assertThat(e.status()).contains("NOT_FOUND");
        });
    assertThat(context.completions()).isZero();
  }

  @Test
  void discover_noEndpoints_completes() throws Exception {
    TestFlightServer server = server();
    server.describe(FlightDescriptor.path("empty"), descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor, List.of(), -1, -1));
    FlightSource source = source(FlightSource.builder(allocator)
        .discover("empty", server.uri(), FlightDescriptor.path("empty")));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.emitCalls()).isZero();
  }

  @Test
  void maxConcurrentStreams_limitsTheCallsOpenAtOnce() throws Exception {
    AtomicInteger active = new AtomicInteger();
    AtomicInteger peak = new AtomicInteger();
    TestFlightServer server = server();
    for (String name : List.of("a", "b", "c", "d")) {
      server.serve(name, TestFlightServer.counting(active, peak, TestFlightServer.rows(3, 2)));
    }
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "a").endpoint(server.uri(), "b")
        .endpoint(server.uri(), "c").endpoint(server.uri(), "d")
        .maxConcurrentStreams(2));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(peak.get()).isBetween(1, 2);
    for (String name : List.of("a", "b", "c", "d")) {
      assertThat(context.rows(name)).isEqualTo(expectedRows(0, 6));
    }
  }

  private static Ticket ticket(String text) {
    return new Ticket(text.getBytes(StandardCharsets.UTF_8));
  }
}
