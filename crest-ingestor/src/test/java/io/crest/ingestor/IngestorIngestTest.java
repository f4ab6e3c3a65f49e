package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.SyncPutListener;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ingestor's {@code ingest} section end to end: the ingestor runs from a YAML file, a real
 * Flight client puts batches (DoPut) to the server it starts, and the rows are read back from the
 * Iceberg table.
 */
class IngestorIngestTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String ORDERS_TOKEN = "orders-token-planted-1234";
  private static final String RETURNS_TOKEN = "returns-token-planted-5678";
  private static final Schema SCHEMA = new Schema(List.of(
      Field.notNullable("order_id", new ArrowType.Int(64, true)),
      Field.nullable("note", ArrowType.Utf8.INSTANCE)));
  private static final Pattern LISTENING = Pattern.compile("ingest grpc\\+tcp://[^:]+:(\\d+)");

  @TempDir Path dir;

  private BufferAllocator allocator;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if the client side leaked a buffer
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  private Ingestor ingestor(Map<String, String> env) {
    return new Ingestor(env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), new SimpleMeterRegistry());
  }

  @Test
  void run_withIngestSection_putsWithAGrantedTokenAreCommitted_otherTablesUnauthorized()
      throws Exception {
    Path config = dir.resolve("ingest.yaml");
    Files.writeString(config, """
        ingest:
          uri: grpc://127.0.0.1:0
          bearerTokens:
            - {token: "${ORDERS_TOKEN}", tables: [shop.orders]}
            - {token: "${RETURNS_TOKEN}", tables: [shop.returns]}
          maxConcurrentPuts: 8
          maxBufferedBytesPerProducer: 16MiB
          maxMessageSize: 8MiB
          idleTimeout: 30s
        catalog: {warehouse: warehouse}
        pipelines:
          - id: orders-push
            table: shop.orders
            ingest: {table: shop.orders}
            batch: {rows: 1}
          - id: returns-push
            table: shop.returns
            ingest: {table: shop.returns}
        """);
    Ingestor ingestor = ingestor(Map.of("ORDERS_TOKEN", ORDERS_TOKEN,
        "RETURNS_TOKEN", RETURNS_TOKEN));
    assertThat(ingestor.check(config)).as(err()).isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).contains("ok   ingest: grpc+tcp://127.0.0.1:",
        "can be listened on, for tables [shop.orders, shop.returns]");
    StopSignal stop = new StopSignal();
    CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() ->
        ingestor.run(config, stop));
    try {
      try (FlightClient client = client(run)) {
        put(client, "shop.orders", "producer-1", bearer(ORDERS_TOKEN), 1, 3, 10);

        assertThatThrownBy(() ->
            put(client, "shop.orders", "producer-2", bearer(RETURNS_TOKEN), 100, 100, 10))
            .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
              assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAUTHORIZED);
              assertThat(e.status().description()).contains("shop.orders")
                  .doesNotContain(RETURNS_TOKEN);
            });
      }
    } finally {
      stop.request();
    }
    assertThat(run.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(err()).isEqualTo(Ingestor.EXIT_OK);

    assertThat(out()).contains("start orders-push: ", "commit orders-push: snapshot ",
        "done  orders-push: STOPPED, 30 rows");
    assertThat(out() + err()).doesNotContain(ORDERS_TOKEN).doesNotContain(RETURNS_TOKEN);
    List<Long> expected = new ArrayList<>();
    for (long id = 10; id < 40; id++) {
      expected.add(id);
    }
    IngestorTest.withTable(dir.resolve("warehouse"), table ->
        assertThat(IngestorTest.orderIds(table)).as("every row once, none of the refused put")
            .containsExactlyInAnyOrderElementsOf(expected));
  }

  @Test
  void run_allowUnauthenticatedBeyondLoopback_warnsAndAcceptsPutsWithoutCredentials()
      throws Exception {
    Path config = dir.resolve("open.yaml");
    Files.writeString(config, """
        ingest:
          uri: grpc://0.0.0.0:0
          allowUnauthenticated: true
        catalog: {warehouse: warehouse}
        pipelines:
          - id: orders-push
            table: shop.orders
            ingest: {table: shop.orders}
            batch: {rows: 1}
        """);
    StopSignal stop = new StopSignal();
    Ingestor ingestor = ingestor(Map.of());
    CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() ->
        ingestor.run(config, stop));
    try {
      try (FlightClient client = client(run)) {
        put(client, "shop.orders", "producer-1", null, 1, 2, 5);
      }
    } finally {
      stop.request();
    }
    assertThat(run.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(err()).isEqualTo(Ingestor.EXIT_OK);

    assertThat(err()).contains("warn ingest.allowUnauthenticated: the ingest server at"
        + " grpc+tcp://0.0.0.0:", "accepts puts from anyone who can reach it");
    IngestorTest.withTable(dir.resolve("warehouse"), table ->
        assertThat(IngestorTest.orderIds(table)).hasSize(10));
  }

  // ------------------------------------------------------------------------------- helpers

  /** A client of the ingest server that {@code run} starts, once its pipelines run. */
  private FlightClient client(CompletableFuture<Integer> run) {
    await().atMost(WAIT).until(() -> out().contains("running ") || run.isDone());
    Matcher m = LISTENING.matcher(out());
    assertThat(m.find()).as(err()).isTrue();
    return FlightClient.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", Integer.parseInt(m.group(1)))).build();
  }

  private static CredentialCallOption bearer(String token) {
    return new CredentialCallOption(new BearerCredentialWriter(token));
  }

  /**
   * Puts batches {@code from..to} (sequence numbers) of {@code rows} rows each to {@code table} as
   * {@code producer} and waits until every batch is acknowledged (committed). Batch {@code k}
   * holds order ids {@code k * rows ..}.
   *
   * @throws FlightRuntimeException if the put fails
   */
  private void put(FlightClient client, String table, String producer,
      CredentialCallOption credentials, long from, long to, int rows) throws Exception {
    List<CallOption> options = new ArrayList<>();
    options.add(CallOptions.timeout(WAIT.toSeconds(), TimeUnit.SECONDS));
    if (credentials != null) {
      options.add(credentials);
    }
    try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        SyncPutListener listener = new SyncPutListener()) {
      FlightClient.ClientStreamListener stream = client.startPut(
          FlightDescriptor.path(table, producer), root, listener,
          options.toArray(new CallOption[0]));
      for (long sequence = from; sequence <= to; sequence++) {
        root.allocateNew();
        BigIntVector ids = (BigIntVector) root.getVector("order_id");
        VarCharVector notes = (VarCharVector) root.getVector("note");
        for (int r = 0; r < rows; r++) {
          ids.setSafe(r, sequence * rows + r);
          notes.setSafe(r, ("note-" + sequence).getBytes(StandardCharsets.UTF_8));
        }
        root.setRowCount(rows);
        byte[] text = Long.toString(sequence).getBytes(StandardCharsets.UTF_8);
        ArrowBuf metadata = allocator.buffer(text.length);
        metadata.writeBytes(text);
        stream.putNext(metadata);
      }
      stream.completed();
      stream.getResult();
    }
  }
}
