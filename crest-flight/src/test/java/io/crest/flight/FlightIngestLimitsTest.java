package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.testing.MemorySink;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ingest server's defences: the secure default for addresses beyond loopback, per-table
 * grants, and the per-producer limits (concurrent puts, uncommitted bytes, message size, idle
 * time), each failing only the put at fault with a status naming the limit, and releasing what it
 * held (the allocator closed after each test fails on a leak).
 */
@Timeout(120)
class FlightIngestLimitsTest extends FlightTestSupport {
  private static final String TABLE = "shop.orders";
  private static final String OTHER = "shop.refunds";

  @Test
  void build_anyAddressWithoutCredentials_isRefusedNamingBothWaysOut() {
    FlightIngestServer.Builder builder =
        FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0").table(TABLE);

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightIngestServer at grpc://0.0.0.0:0: it listens beyond"
            + " loopback but requires no credentials, so anyone on the network could write to its"
            + " tables (add credentials with user(name, password), bearerToken(token) or"
            + " requireClientCertificates(ca), or call allowUnauthenticated() to accept that"
            + " risk)");
  }

  @Test
  void build_anyAddressWithAllowUnauthenticated_listens() {
    // Binds every interface; the test sends nothing to it.
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).allowUnauthenticated().build());

    assertThat(server.port()).isPositive();
  }

  @Test
  void build_allowUnauthenticatedWithCredentials_isRefused() {
    FlightIngestServer.Builder builder = FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).bearerToken("t0ken-value").allowUnauthenticated();

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("allowUnauthenticated() was called but users, bearer tokens or"
            + " client certificates are required too (choose one)");
  }

  @Test
  void build_grantOfUnknownTable_isRefused() {
    FlightIngestServer.Builder builder = FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).bearerToken("t0ken-value", Set.of("shop.unknown"));

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightIngestServer at grpc://0.0.0.0:0: bearer token #1 is"
            + " granted table shop.unknown, which the server does not ingest (add it with"
            + " table(name))");
  }

  @Test
  void limits_invalidOrRepeated_areRejected() {
    FlightIngestServer.Builder builder = FlightIngestServer.builder(allocator, "grpc://h:1");
    assertThatThrownBy(() -> builder.maxConcurrentPuts(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set maxConcurrentPuts to 0: it must be at least 1");
    assertThatThrownBy(() -> builder.maxMessageSize(DataSize.bytes(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxMessageSize");
    assertThatThrownBy(() -> builder.idleTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set idleTimeout to PT0S: it must be positive");
    builder.maxBufferedBytesPerProducer(DataSize.mib(1));
    assertThatThrownBy(() -> builder.maxBufferedBytesPerProducer(DataSize.mib(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set maxBufferedBytesPerProducer: already set to 1 MiB");
  }

  @Test
  void put_tokenLimitedToAnotherTable_isUnauthorizedAndNothingIsBuffered() throws Exception {
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).table(OTHER)
        .bearerToken("refunds-only-t0ken", Set.of(OTHER))
        .build());
    MemorySink sink = new MemorySink();
    Pipeline pipeline = pipeline(server, sink, BatchPolicy.rows(1));
    CallOption token = new CredentialCallOption(new BearerCredentialWriter("refunds-only-t0ken"));

    TestProducer.Put put =
        TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1, 3, 10, token);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAUTHORIZED);
          assertThat(e.status().description()).isEqualTo("Cannot ingest into table shop.orders:"
              + " bearer token #1 may put only to tables [shop.refunds] (grant it the table on"
              + " the server)");
        });
    assertThat(pipeline.stats().rowsIn()).isZero();
    assertThat(sink.committedIds()).isEmpty();
    waitAtMost().until(() -> server.runningPuts() == 0);
  }

  @Test
  void put_userLimitedToTable_reachesIt() throws Exception {
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://0.0.0.0:0")
        .table(TABLE).table(OTHER)
        .user("orders-writer", "orders-Pa55", Set.of(TABLE))
        .build());
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(1));
    FlightClient client = client(server);
    CallOption token = client.authenticateBasicToken("orders-writer", "orders-Pa55").orElseThrow();

    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 2, 5, token);

    put.done.get(30, TimeUnit.SECONDS);
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 2, 5));
  }

  @Test
  void put_beyondMaxConcurrentPuts_isRefusedNamingTheLimit() throws Exception {
    FlightIngestServer server = server(b -> b.maxConcurrentPuts(2));
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(1));
    FlightClient client = client(server);
    TestProducer.startStayingOpen(client, allocator, TABLE, "a", 0, 1, 1, 1);
    TestProducer.startStayingOpen(client, allocator, TABLE, "b", 100, 1, 1, 1);
    waitAtMost().until(() -> sink.committedIds().size() == 2);

    TestProducer.Put third = TestProducer.start(client, allocator, TABLE, "c", 200, 1, 1, 1);

    assertThatThrownBy(() -> third.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.RESOURCE_EXHAUSTED);
          assertThat(e.status().description()).isEqualTo("Cannot accept the put: 2 puts are"
              + " running, the server's maxConcurrentPuts (retry later, or raise"
              + " maxConcurrentPuts)");
        });
    assertThat(sink.committedIds()).hasSize(2);
  }

  @Test
  void put_idleLongerThanIdleTimeout_failsAndIsReleased() throws Exception {
    FlightIngestServer server = server(b -> b.idleTimeout(Duration.ofMillis(300)));
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(1));

    TestProducer.Put put =
        TestProducer.startStayingOpen(client(server), allocator, TABLE, "idle", 0, 1, 2, 3);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.TIMED_OUT);
          assertThat(e.status().description())
              .startsWith("Cannot finish the put of producer idle to table shop.orders: it sent"
                  + " nothing for ")
              .contains("longer than the server's idleTimeout PT0.3S");
        });
    assertThat(put.acks).containsExactly("1", "2");
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 2, 3));
    waitAtMost().until(() -> server.runningPuts() == 0);
  }

  @Test
  void put_batchLargerThanMaxBufferedBytes_failsAndNothingIsCommitted() throws Exception {
    FlightIngestServer server = server(b -> b.maxBufferedBytesPerProducer(DataSize.kib(3)));
    MemorySink sink = new MemorySink();
    Pipeline pipeline = pipeline(server, sink, BatchPolicy.rows(1));

    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "big", 0, 1, 1,
        1_000);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.RESOURCE_EXHAUSTED);
          assertThat(e.status().description())
              .startsWith("Cannot ingest batch 1 of the put of producer big to table"
                  + " shop.orders: it holds ")
              .contains("more than the server's maxBufferedBytesPerProducer 3 KiB");
        });
    assertThat(pipeline.stats().rowsIn()).isZero();
    assertThat(sink.committedIds()).isEmpty();
  }

  @Test
  void put_uncommittedBytesOverLimit_waitsThenFailsNamingTheLimit() throws Exception {
    FlightIngestServer server = server(b -> b.maxBufferedBytesPerProducer(DataSize.kib(3))
        .idleTimeout(Duration.ofMillis(500)));
    MemorySink sink = new MemorySink();
    Semaphore commits = new Semaphore(0);
    sink.gateCommits(commits);
    pipeline(server, sink, BatchPolicy.rows(1));
    resources.push(() -> commits.release(1_000)); // before the pipeline stops, if an assert fails

    // Each batch of 100 rows holds about 1.9 KiB: the second cannot fit while the first waits.
    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "slow", 0, 1, 2,
        100);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.RESOURCE_EXHAUSTED);
          assertThat(e.status().description()).startsWith("Cannot ingest batch 2 of the put of"
                  + " producer slow to table shop.orders: its ")
              .contains("over the server's maxBufferedBytesPerProducer 3 KiB, and no commit made"
                  + " room within idleTimeout PT0.5S");
        });
    commits.release(100);
    waitAtMost().until(() -> sink.committedIds().size() == 100);
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 1, 100));
  }

  @Test
  void put_messageLargerThanMaxMessageSize_isCutByGrpcAndReleased() throws Exception {
    FlightIngestServer server = server(b -> b.maxMessageSize(DataSize.kib(2)));
    MemorySink sink = new MemorySink();
    Pipeline pipeline = pipeline(server, sink, BatchPolicy.rows(1));

    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "huge", 0, 1, 1,
        1_000);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS)).cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          // gRPC either resets the stream on an oversized message or first sends its status.
          assertThat(e.status().code())
              .isIn(FlightStatusCode.CANCELLED, FlightStatusCode.RESOURCE_EXHAUSTED);
        });
    assertThat(pipeline.stats().rowsIn()).isZero();
    waitAtMost().until(() -> server.runningPuts() == 0);
  }

  private FlightIngestServer server(Consumer<FlightIngestServer.Builder> settings) {
    FlightIngestServer.Builder builder =
        FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0").table(TABLE);
    settings.accept(builder);
    return register(builder.build());
  }

  private Pipeline pipeline(FlightIngestServer server, MemorySink sink, BatchPolicy policy) {
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(policy).to(sink);
    register(pipeline::stop);
    pipeline.start();
    return pipeline;
  }

  private FlightClient client(FlightIngestServer server) {
    return register(FlightClient.builder(
        allocator, Location.forGrpcInsecure("127.0.0.1", server.port())).build());
  }
}
