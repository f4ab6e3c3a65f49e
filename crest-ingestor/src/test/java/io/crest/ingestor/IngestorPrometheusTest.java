package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.iceberg.IcebergCatalogs;
import io.crest.micrometer.CrestMetrics;
import io.crest.samples.flight.IncrementalOrdersServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code metrics.prometheus}: the ingestor in-process against a live incremental view, scraped
 * over real HTTP on loopback.
 */
@SuppressWarnings("try") // IncrementalOrdersServer.close() may throw InterruptedException
class IngestorPrometheusTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Pattern URL = Pattern.compile("metrics (http://\\S+) \\(Prometheus");
  private static final String TAGS = "{pipeline=\"orders-live\",table=\"shop.live\"}";

  @TempDir Path dir;

  private BufferAllocator allocator;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    await().atMost(WAIT).until(() -> allocator.getAllocatedMemory() == 0);
    allocator.close(); // throws if a test leaked a buffer
  }

  private Ingestor ingestor() {
    return new Ingestor(Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), registry);
  }

  private String out() {
    return out.toString(StandardCharsets.UTF_8);
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  /** One pipeline reading the live view; one commit per 1,000 rows. */
  private Path config(IncrementalOrdersServer server, String prometheus) throws Exception {
    Path config = dir.resolve("live.yaml");
    Files.writeString(config, """
        servers:
          orders: {uri: "%s"}
        flight: {pollInterval: 100ms}
        catalog: {warehouse: warehouse}
        pipelines:
          - id: orders-live
            table: shop.live
            streams: [{server: orders, incremental: orders}]
            batch: {rows: 1000, interval: 1h}
        metrics:
          logEvery: 1h
          prometheus: %s
        """.formatted(server.uri(), prometheus));
    return config;
  }

  private HttpResponse<String> get(URI uri, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void run_servesTheCommittedMetersOverHttp_untilEveryPipelineHasStopped() throws Exception {
    StopSignal stop = new StopSignal();
    try (IncrementalOrdersServer server = new IncrementalOrdersServer(allocator, 0, 100,
        Duration.ofMillis(200))) {
      server.append(1_000);
      Path config = config(server, "{host: 127.0.0.1, port: 0, path: /crest/metrics}");
      Ingestor ingestor = ingestor();
      CompletableFuture<Integer> run = CompletableFuture.supplyAsync(() ->
          ingestor.run(config, stop));

      await().atMost(WAIT).until(() -> URL.matcher(out()).find() || run.isDone());
      Matcher m = URL.matcher(out());
      assertThat(m.find()).as(err()).isTrue();
      URI uri = URI.create(m.group(1));
      assertThat(uri.getHost()).isEqualTo("127.0.0.1");
      assertThat(uri.getPort()).as("the ephemeral port really bound").isPositive();
      assertThat(uri.getPath()).isEqualTo("/crest/metrics");
      await().atMost(WAIT).until(() -> registry.find(CrestMetrics.BATCHES_COMMITTED).counters()
          .stream().mapToDouble(c -> c.count()).sum() >= 1);

      HttpResponse<String> scrape = get(uri);
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.headers().firstValue("Content-Type"))
          .contains("text/plain; version=0.0.4; charset=utf-8");
      long bytes = withTable(table -> Long.parseLong(
          table.currentSnapshot().summary().get("added-files-size")));
      assertThat(scrape.body()).contains(
          "crest_records_written_total" + TAGS + " 1000.0\n",
          "crest_batches_committed_total" + TAGS + " 1.0\n",
          "crest_bytes_written_total" + TAGS + " " + (double) bytes + "\n",
          "crest_records_per_batch_count" + TAGS + " 10\n",
          "crest_commit_duration_seconds_count" + TAGS + " 1\n",
          "crest_source_lag_seconds{pipeline=\"orders-live\",stream=\"orders\","
              + "table=\"shop.live\"} 0.0\n");

      HttpResponse<String> openMetrics = get(uri, "Accept",
          "application/openmetrics-text; version=1.0.0");
      assertThat(openMetrics.statusCode()).isEqualTo(200);
      assertThat(openMetrics.headers().firstValue("Content-Type"))
          .contains("application/openmetrics-text; version=1.0.0; charset=utf-8");
      assertThat(openMetrics.body()).contains("crest_records_written_total" + TAGS + " 1000.0")
          .endsWith("# EOF\n");

      HttpResponse<String> health = get(uri.resolve("/-/healthy"));
      assertThat(health.statusCode()).as("the exporter's health check").isEqualTo(200);
      HttpResponse<String> head = http.send(HttpRequest.newBuilder(uri)
          .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(head.statusCode()).isEqualTo(200);
      assertThat(head.body()).isEmpty();

      stop.request();
      assertThat(run.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as(err())
          .isEqualTo(Ingestor.EXIT_OK);

      assertThatThrownBy(() -> get(uri)).as("the endpoint stops with the ingestor")
          .isInstanceOf(ConnectException.class);
    }

    assertThat(err()).isEmpty();
    assertThat(out()).contains("done  orders-live: STOPPED, 1,000 rows in 1 commits")
        .as("the logging registry publishes too, on close")
        .contains("meter crest.records.written{pipeline=orders-live,table=shop.live}");
    int rows = withTable(table -> IngestorTest.orderIds(table).size());
    assertThat(rows).isEqualTo(1_000);
  }

  @Test
  void checkAndRun_portInUse_reportTheEndpointPath() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        IncrementalOrdersServer server = new IncrementalOrdersServer(allocator, 0, 100,
            Duration.ofMillis(200))) {
      int port = taken.getLocalPort();
      Path config = config(server, "{port: " + port + "}");
      Ingestor ingestor = ingestor();

      assertThat(ingestor.check(config)).isEqualTo(Ingestor.EXIT_UNREACHABLE);
      String problem = "metrics.prometheus: Cannot listen on 127.0.0.1:" + port
          + ": Address already in use (set metrics.prometheus.host to an address of this"
          + " machine, and .port to a free port, or 0 for any)\n";
      assertThat(err()).isEqualTo("Cannot use ingestor config " + config + ": 1 problem\n  "
          + problem);
      assertThat(out()).contains("ok   pipelines[0].streams[0]: incremental view \"orders\"");

      err.reset();
      out.reset();
      assertThat(ingestor.run(config, new StopSignal())).isEqualTo(Ingestor.EXIT_FAILED);
      assertThat(err()).isEqualTo(problem);
      assertThat(out()).as("no pipeline started").doesNotContain("start ");
    }
  }

  @Test
  void check_freePort_saysItCanBeListenedOn() throws Exception {
    try (IncrementalOrdersServer server = new IncrementalOrdersServer(allocator, 0, 100,
        Duration.ofMillis(200))) {
      Path config = config(server, "{host: localhost, port: 0}");

      assertThat(ingestor().check(config)).as(err()).isEqualTo(Ingestor.EXIT_OK);
    }
    assertThat(out()).contains("ok   metrics.prometheus: localhost:0 can be listened on");
  }

  interface TableQuery<T> {
    T apply(Table table) throws Exception;
  }

  private <T> T withTable(TableQuery<T> query) throws Exception {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(dir.resolve("warehouse")));
    try {
      return query.apply(catalog.loadTable(TableIdentifier.of("shop", "live")));
    } finally {
      ((Closeable) catalog).close();
    }
  }
}
