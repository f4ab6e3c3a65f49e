package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The incremental ticket convention against a real server that implements it. */
@Timeout(120)
class FlightSourceIncrementalTest extends FlightTestSupport {

  @Test
  void incremental_viewGrowsBetweenPolls_emitsOnlyTheNewRows() throws Exception {
    TestFlightServer.IncrementalView view = new TestFlightServer.IncrementalView("orders", 2);
    TestFlightServer server = server().serveIncremental(view.grow(5));
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("orders", server.uri(), "orders")
        .pollInterval(FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);
    waitAtMost().until(() -> context.rows("orders").size() == 5);
    view.grow(3);
    waitAtMost().until(() -> context.rows("orders").size() == 8);
    // Several empty polls in between: none of them sends a row again.
    waitAtMost().until(() -> view.positionsAsked.size() >= 5);

    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 8));
    assertThat(context.positions("orders")).containsExactly(2L, 4L, 5L, 7L, 8L);
    assertThat(view.positionsAsked).startsWith("", "5").contains("8");
    assertThat(view.positionsAsked.subList(view.positionsAsked.indexOf("8"),
        view.positionsAsked.size())).containsOnly("8");
    assertThat(context.failures()).isEmpty();
    assertThat(context.completions()).isZero();
  }

  @Test
  void incremental_resumed_asksForWhatFollowsTheResumePosition() throws Exception {
    TestFlightServer.IncrementalView view = new TestFlightServer.IncrementalView("orders", 4);
    TestFlightServer server = server().serveIncremental(view.grow(6));
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("orders-stream", server.uri(), "orders")
        .pollInterval(FAST));
    CollectingSourceContext context = CollectingSourceContext.resumingAt(
        Map.of("orders-stream", SourcePosition.of("3")));

    source.start(context);

    waitAtMost().until(() -> context.rows("orders-stream").size() == 3);
    assertThat(view.positionsAsked.get(0)).isEqualTo("3");
    assertThat(context.rows("orders-stream")).isEqualTo(expectedRows(3, 6));
  }

  @Test
  void incremental_callCutAfterABatch_resumesAfterTheLastEmittedBatch() throws Exception {
    TestFlightServer.IncrementalView view = new TestFlightServer.IncrementalView("orders", 2);
    view.failAfterFirstBatch = CallStatus.UNAVAILABLE.withDescription("node restarting");
    TestFlightServer server = server().serveIncremental(view.grow(6));
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("orders", server.uri(), "orders")
        .pollInterval(FAST)
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.rows("orders").size() == 6);
    assertThat(view.positionsAsked).startsWith("", "2");
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
    assertThat(context.failures()).isEmpty();
    assertThat(source.reconnects()).isEqualTo(1);
  }

  @Test
  void incremental_batchWithoutPosition_failsNamingTheConvention() throws Exception {
    TestFlightServer server = server().serve(
        new String(IncrementalTicket.fromStart("orders").toTicket().getBytes()),
        TestFlightServer.untaggedRows(3));
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("orders", server.uri(), "orders"));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> assertThat(e).hasMessage(
            "Cannot read stream orders from " + server.uri() + ": the server sent a batch of 3"
                + " rows without its position in the application metadata (an incremental"
                + " server must tag every batch; see docs/flight-tickets.md)"));
    assertThat(context.emitCalls()).isZero();
  }

  @Test
  void incremental_quietLongPollsBeyondTheCallTimeout_areNotFailures() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    TestFlightServer server = server();
    resources.push(release::countDown);
    // The server holds every call open without sending anything until the client gives up.
    server.serve(new String(IncrementalTicket.fromStart("quiet").toTicket().getBytes()),
        (allocator, listener) -> {
          while (!listener.isCancelled() && !release.await(5, TimeUnit.MILLISECONDS)) {
            // nothing new in the view
          }
        });
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("quiet", server.uri(), "quiet")
        .callTimeout(Duration.ofMillis(50))
        .pollInterval(FAST)
        .reconnectBackoff(FAST, FAST)
        .maxReconnectAttempts(1));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> server.calls("quiet") >= 4);
    assertThat(context.failures()).isEmpty();
    assertThat(source.reconnects()).isZero();
  }

  @Test
  void incremental_unknownView_failsWithNotFound() throws Exception {
    TestFlightServer server = server();
    FlightSource source = source(FlightSource.builder(allocator)
        .incremental("orders", server.uri(), "orders_v2")
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(server.calls("orders_v2")).isEqualTo(1);
    assertThat(context.failures().get(0)).hasMessage("Cannot read stream orders from "
        + server.uri() + ": NOT_FOUND: Unknown view orders_v2 (the server does not know the"
        + " ticket; check the view name)");
  }
}
