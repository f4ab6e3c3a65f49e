package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.iceberg.IcebergCatalogs;
import io.crest.micrometer.CrestMetrics;
import io.crest.samples.OrdersServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ingestor in-process, against the demo's Flight server and a local warehouse. */
@SuppressWarnings("try") // OrdersServer.close() may throw InterruptedException
class IngestorTest {
  static final Path SAMPLE = Path.of("src/main/config/orders.yaml");
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  private BufferAllocator allocator;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    // OrdersServer's call thread releases its buffers when the cancelled call ends, or, when it
    // was waiting for the client to read, once its 30 s back-pressure wait gives up.
    await().atMost(Duration.ofSeconds(60)).until(() -> allocator.getAllocatedMemory() == 0);
    allocator.close(); // throws if a test leaked a buffer
  }

  private Ingestor ingestor(Map<String, String> env) {
    return new Ingestor(env, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), registry);
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  static String port(OrdersServer server) {
    return Integer.toString(URI.create(server.uri()).getPort());
  }

  @Test
  void checkAndRun_sampleConfig_ingestTheWholeViewAndReadBack() throws Exception {
    Path warehouse = dir.resolve("warehouse");
    try (OrdersServer server = new OrdersServer(allocator, 0, 50_000, 1_000_000, 5_000)) {
      Ingestor ingestor = ingestor(Map.of("ORDERS_PORT", port(server),
          "CREST_WAREHOUSE", warehouse.toString(), "BATCH_INTERVAL", "1s",
          "METRICS_EVERY", "1h", "METRICS_PORT", "0"));

      assertThat(ingestor.check(SAMPLE)).as(err()).isEqualTo(Ingestor.EXIT_OK);
      assertThat(out()).contains(
          "ok   pipelines[0].streams[0]: ticket \"orders_mv\" on grpc://127.0.0.1:" + port(server),
          "ok   pipelines[0].table: shop.orders does not exist yet",
          "ok   metrics.prometheus: 127.0.0.1:0 can be listened on",
          "ok   everything answers");

      assertThat(ingestor.run(SAMPLE, new StopSignal())).as(err()).isEqualTo(Ingestor.EXIT_OK);
    }

    assertThat(out()).contains("metrics http://127.0.0.1:",
        "start orders-ingest: flight[orders_mv] -> shop.orders",
        "commit orders-ingest: snapshot ", "every source is complete and committed",
        "done  orders-ingest: STOPPED, 50,000 rows");
    assertThat(err()).isEmpty();
    assertThat(registry.isClosed()).as("the caller's registry stays open").isFalse();
    assertThat(registry.get(CrestMetrics.RECORDS_WRITTEN)
        .tags("pipeline", "orders-ingest", "table", "shop.orders").counter().count())
        .isEqualTo(50_000.0);
    withTable(warehouse, table -> {
      assertThat(orderIds(table)).hasSize(50_000).contains(1L, 50_000L);
      assertThat(table.properties()).containsEntry("write.parquet.compression-codec", "zstd");
      assertThat(table.spec().fields()).extracting(f -> f.transform().toString())
          .containsExactly("day");
      assertThat(table.currentSnapshot().summary())
          .containsEntry("crest.positions", "{\"orders_mv\":\"50000\"}")
          .containsEntry("crest.pipeline-id", "orders-ingest");
    });
  }

  @Test
  void run_stopRequested_drainsFlushesAndCommitsEverythingReceived() throws Exception {
    Path warehouse = dir.resolve("warehouse");
    Path config = dir.resolve("slow.yaml");
    // No commit before the stop: the interval is an hour, the row limit out of reach.
    Files.writeString(config, """
        servers:
          orders: {uri: "grpc://127.0.0.1:${ORDERS_PORT}"}
        catalog: {warehouse: warehouse}
        pipelines:
          - id: orders-slow
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: 1000000000, interval: 1h}
        """);
    StopSignal stop = new StopSignal();
    try (OrdersServer server = new OrdersServer(allocator, 0, 100_000_000L, 100_000, 1_000)) {
      Ingestor ingestor = ingestor(Map.of("ORDERS_PORT", port(server)));
      CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() ->
          ingestor.run(config, stop));

      await().atMost(WAIT).until(() -> registry.find(CrestMetrics.RECORDS_PER_BATCH)
          .summaries().stream().mapToLong(s -> s.count()).sum() >= 5);
      assertThat(registry.get(CrestMetrics.BATCHES_COMMITTED).counter().count()).isZero();

      stop.request(); // what the shutdown hook does on SIGTERM
      assertThat(run.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(err())
          .isEqualTo(Ingestor.EXIT_OK);
    }

    double received = registry.get(CrestMetrics.RECORDS_PER_BATCH).summary().totalAmount();
    assertThat(received).isGreaterThanOrEqualTo(5_000);
    assertThat(registry.get(CrestMetrics.RECORDS_WRITTEN).counter().count()).isEqualTo(received);
    assertThat(out()).contains("stop requested: draining, flushing and committing",
        "commit orders-slow: snapshot ", "done  orders-slow: STOPPED");
    withTable(warehouse, table -> {
      List<Snapshot> snapshots = snapshots(table);
      assertThat(snapshots).as("the one commit made while stopping").hasSize(1);
      assertThat(orderIds(table)).hasSize((int) received);
      assertThat(table.currentSnapshot().summary())
          .containsEntry("crest.positions", "{\"orders_mv\":\"" + (long) received + "\"}");
    });
  }

  @Test
  void check_serverDown_reportsTheServerPathAndExits4() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort(); // nothing listens there once it is closed
    }
    Ingestor ingestor = ingestor(Map.of("ORDERS_PORT", Integer.toString(port),
        "CREST_WAREHOUSE", dir.resolve("warehouse").toString(), "METRICS_PORT", "0"));

    assertThat(ingestor.check(SAMPLE)).isEqualTo(Ingestor.EXIT_UNREACHABLE);

    assertThat(err()).startsWith("Cannot use ingestor config " + SAMPLE + ": 1 problem\n"
        + "  servers.orders.uri: Cannot reach Flight server grpc://127.0.0.1:" + port
        + ": UNAVAILABLE");
    assertThat(err()).contains("(is it running, and is the address right?)");
    assertThat(out()).contains("ok   catalog: ");
  }

  @Test
  void check_unknownTicket_reportsTheStreamPathAndExits4() throws Exception {
    Path config = dir.resolve("wrong.yaml");
    Files.writeString(config, Files.readString(SAMPLE).replace("ticket: orders_mv",
        "ticket: returns_mv"));
    try (OrdersServer server = new OrdersServer(allocator, 0, 1_000, 1_000_000, 1_000)) {
      Ingestor ingestor = ingestor(Map.of("ORDERS_PORT", port(server),
          "CREST_WAREHOUSE", dir.resolve("warehouse").toString(), "METRICS_PORT", "0"));

      assertThat(ingestor.check(config)).isEqualTo(Ingestor.EXIT_UNREACHABLE);
    }

    assertThat(err()).isEqualTo("Cannot use ingestor config " + config + ": 1 problem\n"
        + "  pipelines[0].streams[0].ticket: Cannot read ticket \"returns_mv\" from server"
        + " orders: NOT_FOUND: No view returns_mv (check the name on the server)\n");
  }

  @Test
  void check_catalogDown_reportsTheCatalogPathAndExits4() throws Exception {
    int port;
    try (ServerSocket socket = new ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Path config = dir.resolve("rest.yaml");
    Files.writeString(config, Files.readString(SAMPLE).replace(
        "warehouse: ${CREST_WAREHOUSE:-warehouse}",
        "properties: {type: rest, uri: \"http://127.0.0.1:" + port + "\"}"));
    try (OrdersServer server = new OrdersServer(allocator, 0, 1_000, 1_000_000, 1_000)) {
      Ingestor ingestor = ingestor(Map.of("ORDERS_PORT", port(server),
          "CREST_WAREHOUSE", dir.resolve("warehouse").toString(), "METRICS_PORT", "0"));

      assertThat(ingestor.check(config)).isEqualTo(Ingestor.EXIT_UNREACHABLE);
    }

    assertThat(err()).startsWith("Cannot use ingestor config " + config + ": 1 problem\n"
        + "  catalog: Cannot open catalog crest: ");
    assertThat(err()).endsWith(" (check catalog.properties)\n");
    assertThat(out()).contains("ok   pipelines[0].streams[0]: ticket \"orders_mv\"");
  }

  @Test
  void checkAndRun_invalidConfig_printEveryProblemAndExit3() throws Exception {
    Path config = dir.resolve("bad.yaml");
    Files.writeString(config, Files.readString(SAMPLE).replace("rows: 200000", "rowz: 200000"));
    Ingestor ingestor = ingestor(Map.of());

    assertThat(ingestor.check(config)).isEqualTo(Ingestor.EXIT_INVALID_CONFIG);
    assertThat(ingestor.run(config, new StopSignal())).isEqualTo(Ingestor.EXIT_INVALID_CONFIG);

    String problem = "Cannot use ingestor config " + config + ": 1 problem\n"
        + "  " + config + ":36:7: pipelines[0].batch.rowz: unknown key (allowed: rows, bytes,"
        + " interval)\n";
    assertThat(err()).isEqualTo(problem + problem);
  }

  @Test
  void execute_badCommandLine_printsTheProblemAndUsageAndExits2() {
    Ingestor ingestor = ingestor(Map.of());

    assertThat(ingestor.execute(List.of("start", "orders.yaml"), new StopSignal()))
        .isEqualTo(Ingestor.EXIT_USAGE);
    assertThat(err()).startsWith("Cannot run crest-ingestor start orders.yaml: Unmatched"
        + " arguments from index 0: 'start', 'orders.yaml'\nUsage: crest-ingestor");
    assertThat(out()).isEmpty();

    err.reset();
    assertThat(ingestor.execute(List.of("check"), new StopSignal())).isEqualTo(Ingestor.EXIT_USAGE);
    assertThat(err()).startsWith("Cannot run crest-ingestor check: Missing required option:"
        + " '--config=<file.yaml>'\nUsage: crest-ingestor check");

    err.reset();
    assertThat(ingestor.execute(List.of(), new StopSignal())).isEqualTo(Ingestor.EXIT_USAGE);
    assertThat(err()).startsWith("Cannot run crest-ingestor: missing command (check, run or replay)\n"
        + "Usage: crest-ingestor");
  }

  @Test
  void help_listsTheCommandsAndExitCodes_andVersionNamesTheBuild() {
    Ingestor ingestor = ingestor(Map.of());

    assertThat(ingestor.execute(List.of("--help"), new StopSignal())).isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).startsWith("Usage: crest-ingestor [-hV] (check | run | replay)")
        .contains("  check   Validates the file", "  run     Runs the pipelines",
            "  replay  Replays the dead-letter directory", "Exit codes:",
            "  0   check found nothing wrong", "  2   bad command line",
            "  3   the file cannot be read or is invalid", "  4   check: a Flight server");
    out.reset();
    assertThat(ingestor.execute(List.of("run", "--help"), new StopSignal()))
        .isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).startsWith("Usage: crest-ingestor run [-hV] -config=<file.yaml>");
    out.reset();
    assertThat(ingestor.execute(List.of("--version"), new StopSignal()))
        .isEqualTo(Ingestor.EXIT_OK);
    assertThat(out()).matches("(?s)crest-ingestor \\d+\\.\\d+\\.\\d+\\S*\nJava .*");
    assertThat(err()).isEmpty();
  }

  // ------------------------------------------------------------------------------- helpers

  interface TableCheck {
    void accept(Table table) throws Exception;
  }

  static void withTable(Path warehouse, TableCheck check) throws Exception {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    try {
      check.accept(catalog.loadTable(TableIdentifier.of("shop", "orders")));
    } finally {
      ((Closeable) catalog).close();
    }
  }

  static Set<Long> orderIds(Table table) throws IOException {
    Set<Long> ids = new HashSet<>();
    long rows = 0;
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      for (Record r : records) {
        ids.add((Long) r.getField("order_id"));
        rows++;
      }
    }
    assertThat(rows).as("every order once").isEqualTo(ids.size());
    return ids;
  }

  static List<Snapshot> snapshots(Table table) {
    List<Snapshot> all = new java.util.ArrayList<>();
    table.snapshots().forEach(all::add);
    return all;
  }
}
