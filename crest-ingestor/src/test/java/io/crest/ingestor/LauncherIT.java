package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.crest.samples.OrdersServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The distribution as an operator gets it: {@code crest-ingestor-<version>.tar.gz} unpacked with
 * {@code tar}, {@code bin/crest-ingestor} run as a process with no Maven classpath. Runs in the
 * {@code integration-test} phase (after {@code package} built the archive), see the pom.
 */
@SuppressWarnings("try") // OrdersServer.close() may throw InterruptedException
class LauncherIT {
  private static final Duration WAIT = Duration.ofSeconds(120);

  @TempDir Path dir;

  private Path home;
  private BufferAllocator allocator;

  @BeforeEach
  void unpack() throws Exception {
    String archive = System.getProperty("crest.ingestor.archive", "");
    assumeThat(archive).as("run by the pom's integration-test phase").isNotEmpty();
    assertThat(Path.of(archive)).exists();
    Result tar = exec(List.of("tar", "-xzf", archive, "-C", dir.toString()), Map.of(), dir);
    assertThat(tar.code()).as(tar.output()).isZero();
    home = dir.resolve("crest-ingestor-" + System.getProperty("crest.ingestor.version"));
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    if (allocator != null) {
      await().atMost(Duration.ofSeconds(60)).until(() -> allocator.getAllocatedMemory() == 0);
      allocator.close();
    }
  }

  @Test
  void archive_holdsTheLauncherEveryRuntimeJarAndTheSampleConfig() {
    assertThat(home.resolve("bin/crest-ingestor")).isExecutable();
    assertThat(home.resolve("orders.yaml")).isRegularFile();
    assertThat(home.resolve("ingest.yaml")).isRegularFile();
    assertThat(home.resolve("lib").toFile().list()).contains(
        "crest-ingestor-" + System.getProperty("crest.ingestor.version") + ".jar",
        "picocli-4.7.7.jar", "prometheus-metrics-exporter-httpserver-1.10.0.jar",
        "jackson-dataformat-yaml-2.22.2.jar", "slf4j-simple-2.0.17.jar");
  }

  @Test
  void launcher_versionHelpAndBadCommandLine_keepTheExitCodes() throws Exception {
    Result version = launch(List.of("--version"), Map.of());
    assertThat(version.code()).as(version.output()).isZero();
    assertThat(version.output())
        .startsWith("crest-ingestor " + System.getProperty("crest.ingestor.version") + "\n");

    Result help = launch(List.of("--help"), Map.of());
    assertThat(help.code()).isZero();
    assertThat(help.output()).contains("Usage: crest-ingestor", "Exit codes:");

    Result bad = launch(List.of("start"), Map.of());
    assertThat(bad.code()).as(bad.output()).isEqualTo(Ingestor.EXIT_USAGE);

    Result invalid = launch(List.of("check", "-config", "missing.yaml"), Map.of());
    assertThat(invalid.code()).as(invalid.output()).isEqualTo(Ingestor.EXIT_INVALID_CONFIG);
    assertThat(invalid.output()).contains("missing.yaml: no such file");

    Result replay = launch(List.of("replay", "-config", "missing.yaml"), Map.of());
    assertThat(replay.code()).as(replay.output()).isEqualTo(Ingestor.EXIT_INVALID_CONFIG);
    assertThat(replay.output()).contains("missing.yaml: no such file");
  }

  @Test
  void launcher_checkAndRun_ingestTheDemoView() throws Exception {
    try (OrdersServer server = new OrdersServer(allocator, 0, 20_000, 1_000_000, 5_000)) {
      Map<String, String> env = Map.of("ORDERS_PORT", IngestorTest.port(server),
          "BATCH_INTERVAL", "1s", "METRICS_PORT", "0", "METRICS_EVERY", "1h");

      Result check = launch(List.of("check", "-config", "orders.yaml"), env);
      assertThat(check.code()).as(check.output()).isZero();
      assertThat(check.output()).contains("ok   everything answers");

      Result run = launch(List.of("run", "-config", "orders.yaml"), env);
      assertThat(run.code()).as(run.output()).isZero();
      assertThat(run.output()).contains("every source is complete and committed",
          "done  orders-ingest: STOPPED, 20,000 rows");
    }
    IngestorTest.withTable(home.resolve("warehouse"),
        table -> assertThat(IngestorTest.orderIds(table)).hasSize(20_000));
  }

  @Test
  void launcher_checkOfTheIngestExample_bindsTheIngestServer() throws Exception {
    Result check = launch(List.of("check", "-config", "ingest.yaml"),
        Map.of("INGEST_TOKEN", "launcher-token-4711", "INGEST_PORT", "0"));

    assertThat(check.code()).as(check.output()).isZero();
    assertThat(check.output()).contains("ok   ingest: grpc+tcp://127.0.0.1:",
        "can be listened on, for tables [shop.orders]", "ok   everything answers");
    assertThat(check.output()).doesNotContain("launcher-token-4711");
  }

  private Result launch(List<String> args, Map<String, String> env) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(home.resolve("bin/crest-ingestor").toString());
    command.addAll(args);
    return exec(command, env, home);
  }

  record Result(int code, String output) {}

  private Result exec(List<String> command, Map<String, String> env, Path workDir)
      throws IOException, InterruptedException {
    Path log = Files.createTempFile(dir, "out", ".log");
    ProcessBuilder pb = new ProcessBuilder(command).directory(workDir.toFile())
        .redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    pb.environment().putAll(env);
    Process p = pb.start();
    if (!p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not end: " + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }
}
