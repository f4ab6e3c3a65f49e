package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class FlightSourceBuilderTest {
  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close();
  }

  @Test
  void builder_nullAllocator_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("parentAllocator");
  }

  @Test
  void endpoint_nullArguments_areRejected() {
    FlightSource.Builder builder = FlightSource.builder(allocator);

    assertThatThrownBy(() -> builder.endpoint(null, "orders"))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("uri");
    assertThatThrownBy(() -> builder.endpoint("grpc://127.0.0.1:1", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("ticket");
  }

  @Test
  void stream_nullArguments_areRejected() {
    FlightSource.Builder builder = FlightSource.builder(allocator);
    Ticket ticket = new Ticket(bytes("orders"));

    assertThatThrownBy(() -> builder.stream(null, "grpc://127.0.0.1:1", ticket))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("id");
    assertThatThrownBy(() -> builder.stream("orders", null, ticket))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("uri");
    assertThatThrownBy(() -> builder.stream("orders", "grpc://127.0.0.1:1", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessage("ticket");
  }

  @Test
  void endpoint_unparseableUri_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("grpc://bad host:1", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot use Flight server URI 'grpc://bad host:1': ")
        .hasMessageEndingWith("(expected grpc://host:port)");
  }

  @Test
  void endpoint_unsupportedScheme_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("http://127.0.0.1:1", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use Flight server URI 'http://127.0.0.1:1': scheme http is not"
            + " supported (use grpc://host:port, grpc+tcp://host:port or grpc+tls://host:port)");
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("grpc+unix://h:1", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot use Flight server URI 'grpc+unix://h:1': scheme grpc+unix");
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("localhost:47470", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot use Flight server URI 'localhost:47470': scheme localhost");
  }

  @Test
  void endpoint_uriWithoutPort_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("grpc://127.0.0.1", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use Flight server URI 'grpc://127.0.0.1': it has no host and port"
            + " (expected grpc://host:port)");
  }

  @Test
  void endpoint_uriWithPath_isRejected() {
    assertThatThrownBy(
            () -> FlightSource.builder(allocator).endpoint("grpc://127.0.0.1:1/orders", "o"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use Flight server URI 'grpc://127.0.0.1:1/orders': it has parts other"
            + " than host and port (expected grpc://host:port; the view goes in the ticket)");
  }

  @Test
  void endpoint_grpcAndGrpcTcpSchemes_areAccepted() {
    FlightSource source = FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:47470", "orders")
        .endpoint("grpc+tcp://localhost:47471", "customers")
        .build();

    assertThat(source.name()).isEqualTo("flight[customers, orders]");
    source.close();
  }

  @Test
  void endpoint_emptyTicket_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).endpoint("grpc://127.0.0.1:1", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot add endpoint grpc://127.0.0.1:1: the ticket is empty (pass the name of"
            + " the stream the server serves)");
  }

  @Test
  void stream_emptyTicket_isRejected() {
    Ticket empty = new Ticket(new byte[0]);

    assertThatThrownBy(
            () -> FlightSource.builder(allocator).stream("orders", "grpc://127.0.0.1:1", empty))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot add stream 'orders' at grpc://127.0.0.1:1: the ticket is empty");
  }

  @Test
  void stream_blankId_isRejected() {
    Ticket ticket = new Ticket(bytes("orders"));

    assertThatThrownBy(
            () -> FlightSource.builder(allocator).stream(" ", "grpc://127.0.0.1:1", ticket))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot add stream ' ' at grpc://127.0.0.1:1: the stream id is blank");
  }

  @Test
  void endpoint_duplicateStreamId_isRejected() {
    FlightSource.Builder builder =
        FlightSource.builder(allocator).endpoint("grpc://10.0.0.1:47470", "orders_mv");

    assertThatThrownBy(() -> builder.endpoint("grpc://10.0.0.2:47470", "orders_mv"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot add stream orders_mv at grpc://10.0.0.2:47470: stream id orders_mv is"
            + " already used by the stream at grpc://10.0.0.1:47470 (give each stream its own id"
            + " with stream(id, uri, ticket))");
  }

  @Test
  void stream_duplicateOfEndpointId_isRejected() {
    FlightSource.Builder builder =
        FlightSource.builder(allocator).endpoint("grpc://10.0.0.1:47470", "orders_mv");

    assertThatThrownBy(
            () -> builder.stream("orders_mv", "grpc://10.0.0.1:47471", new Ticket(bytes("x"))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot add stream orders_mv at grpc://10.0.0.1:47471: stream id"
            + " orders_mv is already used by the stream at grpc://10.0.0.1:47470");
  }

  @Test
  void stream_explicitId_allowsOneTicketOnTwoServers() {
    FlightSource source = FlightSource.builder(allocator)
        .endpoint("grpc://10.0.0.1:47470", "orders_mv")
        .stream("orders_mv-eu", "grpc://10.0.0.2:47470", new Ticket(bytes("orders_mv")))
        .build();

    assertThat(source.name()).isEqualTo("flight[orders_mv, orders_mv-eu]");
    source.close();
  }

  @Test
  void build_withoutStreams_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightSource: it has no streams (add one with endpoint(uri,"
            + " ticket), stream(id, uri, ticket), incremental(id, uri, view) or discover(id, uri,"
            + " descriptor))");
  }

  @Test
  void build_laterBuilderChanges_doNotAffectTheSource() {
    FlightSource.Builder builder =
        FlightSource.builder(allocator).endpoint("grpc://127.0.0.1:1", "orders");
    FlightSource source = builder.build();

    builder.endpoint("grpc://127.0.0.1:1", "customers");

    assertThat(source.name()).isEqualTo("flight[orders]");
    source.close();
  }

  @Test
  void reconnectBackoff_maxBelowInitial_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator)
            .reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set reconnect backoff PT2S .. PT1S: the initial delay must be positive"
            + " and the maximum at least the initial delay");
    assertThatThrownBy(() -> FlightSource.builder(allocator)
            .reconnectBackoff(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void reconnectBackoff_setTwice_isRejectedNamingTheFirst() {
    FlightSource.Builder builder = FlightSource.builder(allocator)
        .reconnectBackoff(Duration.ofMillis(100), Duration.ofSeconds(30));

    assertThatThrownBy(() -> builder.reconnectBackoff(Duration.ofSeconds(1), Duration.ofMinutes(1)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set reconnect backoff to PT1S .. PT1M: already set to PT0.1S .. PT30S");
  }

  @Test
  void maxReconnectAttempts_negativeOrTwice_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).maxReconnectAttempts(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set max reconnect attempts to -1: it must be 0 or more");
    FlightSource.Builder builder = FlightSource.builder(allocator).maxReconnectAttempts(3);
    assertThatThrownBy(() -> builder.maxReconnectAttempts(5))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set max reconnect attempts to 5: already set to 3");
  }

  @Test
  void pollIntervalAndCallTimeout_zeroOrTwice_areRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).pollInterval(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set poll interval to PT0S: it must be positive");
    assertThatThrownBy(() -> FlightSource.builder(allocator).callTimeout(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set call timeout to PT-1S: it must be positive");
    FlightSource.Builder builder =
        FlightSource.builder(allocator).callTimeout(Duration.ofSeconds(5));
    assertThatThrownBy(() -> builder.callTimeout(Duration.ofSeconds(9)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set call timeout to PT9S: already set to PT5S");
  }

  @Test
  void maxConcurrentStreams_zero_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).maxConcurrentStreams(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set max concurrent streams to 0: it must be at least 1");
  }

  @Test
  void discover_idWithSlashOrTwice_isRejected() {
    FlightDescriptor shop = FlightDescriptor.path("shop");
    assertThatThrownBy(() -> FlightSource.builder(allocator).discover("a/b", "grpc://h:1", shop))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot add discovery 'a/b' at grpc://h:1: the id must be non-blank and have"
            + " no '/'");
    FlightSource.Builder builder =
        FlightSource.builder(allocator).discover("eu", "grpc://h:1", shop);
    assertThatThrownBy(() -> builder.discover("eu", "grpc://h:2", shop))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot add discovery eu at grpc://h:2: discovery id eu is already used at"
            + " grpc://h:1");
  }

  @Test
  void incremental_viewWithLineFeed_isRejected() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).incremental("o", "grpc://h:1", "a\nb"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot make an incremental ticket for view 'a\nb'");
  }

  @Test
  void name_countsDiscoveriesAsPrefixes() {
    FlightSource source = FlightSource.builder(allocator)
        .incremental("orders", "grpc://h:1", "orders")
        .discover("eu", "grpc://h:2", FlightDescriptor.path("sales"))
        .build();

    assertThat(source.name()).isEqualTo("flight[eu/*, orders]");
    source.close();
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
