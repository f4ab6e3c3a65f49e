package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.samples.OrdersServer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ingestor check} with a planted password and bearer token, given through the environment
 * as the docs advise: what it prints on both streams, for servers that answer and servers that
 * are down, and the meters it registers, never show them.
 */
@SuppressWarnings("try") // OrdersServer.close() may throw InterruptedException
class IngestorSecretsTest {
  private static final String PASSWORD = "s3cret-PASSWORD-planted-4711";
  private static final String TOKEN = "s3cret-TOKEN-planted-0815";

  @TempDir Path dir;

  @Test
  void check_withCredentials_printsNoSecret() throws Exception {
    int down;
    try (ServerSocket socket = new ServerSocket(0)) {
      down = socket.getLocalPort(); // nothing listens there once it is closed
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (BufferAllocator allocator = new RootAllocator();
        OrdersServer server = new OrdersServer(allocator, 0, 100, 1_000_000, 5_000)) {
      Path config = dir.resolve("secrets.yaml");
      Files.writeString(config, String.join("\n",
          "servers:",
          "  up:",
          "    uri: " + server.uri(),
          "    bearerToken: ${FLIGHT_TOKEN}",
          "  down-basic:",
          "    uri: grpc://127.0.0.1:" + down,
          "    basicAuth:",
          "      user: producer",
          "      password: ${FLIGHT_PASSWORD}",
          "  down-token:",
          "    uri: grpc://127.0.0.1:" + down,
          "    bearerToken: ${FLIGHT_TOKEN}",
          "catalog:",
          "  warehouse: " + dir.resolve("warehouse"),
          "pipelines:",
          "  - id: up",
          "    table: shop.up",
          "    streams: [{server: up, ticket: orders_mv}]",
          "  - id: basic",
          "    table: shop.basic",
          "    streams: [{server: down-basic, ticket: orders_mv}]",
          "  - id: token",
          "    table: shop.token",
          "    streams: [{server: down-token, ticket: orders_mv}]",
          ""));
      Ingestor ingestor = new Ingestor(Map.of("FLIGHT_PASSWORD", PASSWORD, "FLIGHT_TOKEN", TOKEN),
          new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8), registry);

      assertThat(ingestor.check(config)).isEqualTo(Ingestor.EXIT_UNREACHABLE);
    }

    String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("ok   pipelines[0].streams[0]: ticket \"orders_mv\"",
        "servers.down-basic.uri: Cannot reach Flight server",
        "servers.down-token.uri: Cannot reach Flight server");
    StringBuilder tags = new StringBuilder();
    for (Meter meter : registry.getMeters()) {
      tags.append(meter.getId()).append('\n');
    }
    for (String secret : List.of(PASSWORD, TOKEN)) {
      assertThat(printed).doesNotContain(secret);
      assertThat(tags.toString()).doesNotContain(secret);
    }
  }

  @Test
  void check_withIngestUsersAndTokens_printsNoSecret_listeningOrNot() throws Exception {
    Path config = dir.resolve("ingest.yaml");
    String yaml = String.join("\n",
        "ingest:",
        "  uri: grpc://0.0.0.0:${INGEST_PORT}",
        "  users: [{user: loader, password: \"${INGEST_PASSWORD}\", tables: [shop.orders]}]",
        "  bearerTokens: [{token: \"${INGEST_TOKEN}\"}]",
        "catalog:",
        "  warehouse: " + dir.resolve("warehouse"),
        "pipelines:",
        "  - id: push",
        "    table: shop.orders",
        "    ingest: {table: shop.orders}",
        "");
    Files.writeString(config, yaml);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Ingestor ingestor = new Ingestor(
        Map.of("INGEST_PASSWORD", PASSWORD, "INGEST_TOKEN", TOKEN, "INGEST_PORT", "0"),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), new SimpleMeterRegistry());

    assertThat(ingestor.check(config)).as(err.toString(StandardCharsets.UTF_8))
        .isEqualTo(Ingestor.EXIT_OK);
    int busy;
    try (ServerSocket socket = new ServerSocket(0)) {
      busy = socket.getLocalPort();
      Ingestor blocked = new Ingestor(
          Map.of("INGEST_PASSWORD", PASSWORD, "INGEST_TOKEN", TOKEN, "INGEST_PORT",
              Integer.toString(busy)),
          new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8), new SimpleMeterRegistry());
      assertThat(blocked.check(config)).isEqualTo(Ingestor.EXIT_UNREACHABLE);
    }

    String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("ok   ingest: grpc+tcp://0.0.0.0:",
        "ingest.uri: Cannot start Flight ingest server at grpc://0.0.0.0:" + busy);
    assertThat(printed).doesNotContain(PASSWORD).doesNotContain(TOKEN);
  }

  @Test
  void check_ofAFileWhoseSyntaxErrorIsOnAPasswordLine_printsNoSecret() throws Exception {
    Path config = dir.resolve("broken.yaml");
    Files.writeString(config, String.join("\n",
        "servers:",
        "  s:",
        "    uri: grpc://127.0.0.1:1",
        "    basicAuth:",
        "      user: producer",
        "      password: \"" + PASSWORD + "\" tail: [",
        ""));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Ingestor ingestor = new Ingestor(Map.of(),
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8), new SimpleMeterRegistry());

    assertThat(ingestor.check(config)).isNotZero();

    String printed = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("broken.yaml:6:", "not valid YAML", "expected <block end>");
    assertThat(printed).doesNotContain(PASSWORD);
  }
}
