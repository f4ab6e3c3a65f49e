package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.samples.OrdersServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code Ingestor run} in a child JVM, stopped by a real SIGTERM ({@link Process#destroy}). */
@SuppressWarnings("try") // OrdersServer.close() may throw InterruptedException
class IngestorSigtermTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir Path dir;

  private BufferAllocator allocator;
  private Process child;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void cleanUp() {
    if (child != null && child.isAlive()) {
      child.destroyForcibly();
    }
    // OrdersServer's call thread notices a client process that went away only when its 30 s
    // back-pressure wait ends; then it releases its buffers.
    await().atMost(Duration.ofSeconds(60)).until(() -> allocator.getAllocatedMemory() == 0);
    allocator.close(); // throws if a test leaked a buffer
  }

  @Test
  void sigterm_drainsCommitsEverythingReadAndExits0() throws Exception {
    Path warehouse = dir.resolve("warehouse");
    Path log = dir.resolve("child.log");
    try (OrdersServer server = new OrdersServer(allocator, 0, 100_000_000L, 200_000, 1_000)) {
      String classpath = System.getProperty("surefire.test.class.path",
          System.getProperty("java.class.path"));
      ProcessBuilder pb = new ProcessBuilder(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
          "-cp", classpath,
          Ingestor.class.getName(), "run", "-config", IngestorTest.SAMPLE.toString());
      pb.environment().putAll(Map.of("ORDERS_PORT", IngestorTest.port(server),
          "CREST_WAREHOUSE", warehouse.toString(), "BATCH_INTERVAL", "1s",
          "METRICS_EVERY", "1h", "METRICS_PORT", "0"));
      // A file, not a pipe: Process.destroy() closes the pipes, and the child's last lines matter.
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      child = pb.start();

      await().atMost(WAIT).until(() -> output(log).contains("commit orders-ingest: "));
      Matcher url = Pattern.compile("metrics (http://\\S+) ").matcher(output(log));
      assertThat(url.find()).as(() -> output(log)).isTrue();
      HttpResponse<String> scrape = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create(url.group(1))).timeout(WAIT).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(scrape.statusCode()).isEqualTo(200);
      assertThat(scrape.body()).containsPattern("\ncrest_batches_committed_total\\{pipeline="
          + "\"orders-ingest\",table=\"shop.orders\"} [1-9]");
      child.destroy(); // SIGTERM

      assertThat(child.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as(() -> output(log))
          .isTrue();
      assertThat(child.exitValue()).as(() -> output(log)).isEqualTo(Ingestor.EXIT_OK);
    }

    String output = output(log);
    assertThat(output).contains("running 1 pipeline(s)", "SIGTERM received",
        "stop requested: draining, flushing and committing", "done  orders-ingest: STOPPED");
    IngestorTest.withTable(warehouse, table -> {
      List<Snapshot> snapshots = IngestorTest.snapshots(table);
      assertThat(snapshots).isNotEmpty();
      int rows = IngestorTest.orderIds(table).size();
      assertThat(rows).isPositive();
      // Everything the pipeline read is in the table: the last commit's position is the count.
      assertThat(table.currentSnapshot().summary())
          .containsEntry("crest.positions", "{\"orders_mv\":\"" + rows + "\"}");
      assertThat(output).contains("done  orders-ingest: STOPPED, "
          + String.format(java.util.Locale.ROOT, "%,d", rows) + " rows");
    });
  }

  private static String output(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(cannot read the child's output: " + e + ")";
    }
  }
}
