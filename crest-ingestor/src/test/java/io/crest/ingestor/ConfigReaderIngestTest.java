package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.crest.DataSize;
import io.crest.ingestor.IngestorConfig.Ingest;
import io.crest.ingestor.IngestorConfig.IngestToken;
import io.crest.ingestor.IngestorConfig.IngestUser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code ingest} section and {@code pipelines[i].ingest}: the server's secure default as a
 * config problem, per-table grants, secrets only from the environment, and the limits. Nothing
 * here listens or connects.
 */
class ConfigReaderIngestTest {
  private static final String SECRET = "planted-secret-9021";
  private static final String PIPELINES = """
      catalog: {warehouse: wh}
      pipelines:
        - id: orders-push
          table: shop.orders
          ingest: {table: shop.orders}
        - id: returns-push
          table: shop.returns
          ingest: {table: shop.returns}
      """;

  @TempDir Path dir;

  private IngestorConfig read(String yaml, Map<String, String> env) throws IOException {
    Path file = dir.resolve("ingestor.yaml");
    Files.writeString(file, yaml);
    return new ConfigReader(env).read(file);
  }

  private List<String> problems(String yaml, Map<String, String> env) throws IOException {
    Path file = dir.resolve("ingestor.yaml");
    Files.writeString(file, yaml);
    ConfigException e = assertThrows(ConfigException.class,
        () -> new ConfigReader(env).read(file));
    assertThat(e.getMessage()).doesNotContain(SECRET);
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  void nonLoopbackBind_withoutCredentials_isRefusedNamingBothWaysOut() throws IOException {
    assertThat(problems("""
        ingest:
          uri: grpc://0.0.0.0:47480
        """ + PIPELINES, Map.of())).containsExactly("2:3: ingest.uri: grpc://0.0.0.0:47480"
        + " listens beyond loopback but no credentials are required, so anyone on the network"
        + " could write to its tables (add ingest.users, ingest.bearerTokens or"
        + " ingest.clientCertificates, or set ingest.allowUnauthenticated: true to accept that"
        + " risk)");
    assertThat(problems("""
        ingest:
          uri: grpc://0.0.0.0:47480
          allowUnauthenticated: false
        """ + PIPELINES, Map.of())).hasSize(1).first().asString()
        .startsWith("2:3: ingest.uri: grpc://0.0.0.0:47480 listens beyond loopback");
  }

  @Test
  void nonLoopbackBind_withATokenOrAllowUnauthenticated_andLoopbackWithout_areAccepted()
      throws IOException {
    Ingest token = read("""
        ingest:
          uri: grpc://0.0.0.0:47480
          bearerTokens: [{token: "${INGEST_TOKEN}"}]
        """ + PIPELINES, Map.of("INGEST_TOKEN", SECRET)).ingest().orElseThrow();
    assertThat(token.tokens()).containsExactly(new IngestToken(SECRET, Set.of()));
    assertThat(token.allowUnauthenticated()).isFalse();
    assertThat(token.toString()).doesNotContain(SECRET);

    Ingest open = read("""
        ingest:
          uri: grpc://0.0.0.0:47480
          allowUnauthenticated: true
        """ + PIPELINES, Map.of()).ingest().orElseThrow();
    assertThat(open.allowUnauthenticated()).isTrue();
    assertThat(open.tables()).containsExactly("shop.orders", "shop.returns");

    Ingest loopback = read("""
        ingest: {uri: "grpc://127.0.0.1:0"}
        """ + PIPELINES, Map.of()).ingest().orElseThrow();
    assertThat(loopback.users()).isEmpty();
    assertThat(loopback.tokens()).isEmpty();
  }

  @Test
  void everySetting_isRead_withGrantsAndLimits() throws IOException {
    IngestorConfig c = read("""
        ingest:
          uri: grpc://0.0.0.0:47480
          users:
            - {user: loader, password: "${LOADER_PASSWORD}", tables: [shop.orders]}
          bearerTokens:
            - {token: "${RETURNS_TOKEN}", tables: [shop.returns]}
            - {token: "${ADMIN_TOKEN}"}
          maxConcurrentPuts: 16
          maxBufferedBytesPerProducer: 32MiB
          maxMessageSize: 8MiB
          idleTimeout: 2m
        """ + PIPELINES, Map.of("LOADER_PASSWORD", SECRET, "RETURNS_TOKEN", "t1",
        "ADMIN_TOKEN", "t2"));

    Ingest ingest = c.ingest().orElseThrow();
    assertThat(ingest.users()).containsExactly(
        new IngestUser("loader", SECRET, Set.of("shop.orders")));
    assertThat(ingest.tokens()).containsExactly(new IngestToken("t1", Set.of("shop.returns")),
        new IngestToken("t2", Set.of()));
    assertThat(ingest.maxConcurrentPuts()).contains(16);
    assertThat(ingest.maxBufferedBytesPerProducer()).contains(DataSize.mib(32));
    assertThat(ingest.maxMessageSize()).contains(DataSize.mib(8));
    assertThat(ingest.idleTimeout()).contains(Duration.ofMinutes(2));
    assertThat(c.pipelines()).extracting(p -> p.ingestTable())
        .containsExactly(Optional.of("shop.orders"), Optional.of("shop.returns"));
    assertThat(c.pipelines().get(0).streams()).isEmpty();
    assertThat(c.servers()).isEmpty();
    assertThat(ingest.toString() + c.pipelines()).doesNotContain(SECRET);
  }

  @Test
  void secretsWrittenInTheFile_areRefusedWithoutShowingThem() throws IOException {
    assertThat(problems("""
        ingest:
          uri: grpc://0.0.0.0:47480
          users: [{user: loader, password: "%s"}]
          bearerTokens: [{token: "${T:-%s}"}]
        """.formatted(SECRET, SECRET) + PIPELINES, Map.of())).containsExactly(
        "3:26: ingest.users[0].password: must be one environment variable reference such as"
            + " ${INGEST_PASSWORD}, not text in the file (keep secrets out of it)",
        "4:19: ingest.bearerTokens[0].token: must be one environment variable reference such"
            + " as ${INGEST_TOKEN}, not text in the file (keep secrets out of it)");
  }

  @Test
  void grants_allowUnauthenticatedWithCredentials_andTls_areChecked() throws IOException {
    assertThat(problems("""
        ingest:
          uri: grpc+tls://0.0.0.0:47480
          bearerTokens: [{token: "${T}", tables: [shop.refunds]}]
          allowUnauthenticated: true
        """ + PIPELINES, Map.of("T", SECRET))).containsExactly(
        "1:1: ingest.certificate: missing (a grpc+tls uri needs {chain: server.pem,"
            + " privateKey: server-key.pem})",
        "3:34: ingest.bearerTokens[0].tables: table shop.refunds is not read by any pipeline"
            + " (ingest tables: [shop.orders, shop.returns])",
        "4:3: ingest.allowUnauthenticated: true, but users, bearerTokens or clientCertificates"
            + " are set too (choose one)");
  }

  @Test
  void limits_outOfRange_areReportedAtTheirSettings() throws IOException {
    assertThat(problems("""
        ingest:
          uri: grpc://127.0.0.1:47480
          maxConcurrentPuts: 0
          maxMessageSize: 100
          idleTimeout: 0s
          allowUnauthenticated: maybe
        """ + PIPELINES, Map.of())).containsExactly(
        "3:3: ingest.maxConcurrentPuts: 0 is out of range (1 to 1000000)",
        "5:3: ingest.idleTimeout: must be positive, got PT0S",
        "6:3: ingest.allowUnauthenticated: expected true or false, got \"maybe\"");
    assertThat(problems("""
        ingest:
          uri: grpc://127.0.0.1:47480
          maxMessageSize: 100
        """ + PIPELINES, Map.of())).containsExactly(
        "3:3: ingest.maxMessageSize: Cannot set maxMessageSize to 100 B: it must be from 1 KiB"
            + " to below 2 GiB (gRPC's limit)");
  }

  @Test
  void ingestPipelines_needTheSectionOneSourceAndTheirOwnTable() throws IOException {
    assertThat(problems(PIPELINES, Map.of())).containsExactly(
        "5:5: pipelines[0].ingest: there is no ingest section (add ingest: {uri:"
            + " grpc://127.0.0.1:47480} with users or bearerTokens for producers to put to)",
        "8:5: pipelines[1].ingest: there is no ingest section (add ingest: {uri:"
            + " grpc://127.0.0.1:47480} with users or bearerTokens for producers to put to)");
    assertThat(problems("""
        ingest: {uri: "grpc://127.0.0.1:0"}
        servers:
          orders: {uri: "grpc://127.0.0.1:47470"}
        catalog: {warehouse: wh}
        pipelines:
          - id: one
            table: shop.orders
            ingest: {table: shop.orders}
            streams: [{server: orders, ticket: orders_mv}]
          - id: two
            table: shop.orders2
            ingest: {table: shop.orders}
          - id: three
            table: shop.orders3
            ingest: {}
        """, Map.of())).containsExactly(
        "6:5: pipelines[0]: sets both streams and ingest (a pipeline reads Flight servers or"
            + " the ingest server's puts; choose one)",
        "12:14: pipelines[1].ingest.table: table shop.orders is already read by pipelines[0]"
            + " (one pipeline reads each ingest table)",
        "15:5: pipelines[2].ingest.table: missing (the table name producers put to, such as"
            + " shop.orders)");
  }

  @Test
  void certificateThatIsNotPem_isReportedAtTheCertificateByTheServersBuilder() throws IOException {
    Files.writeString(dir.resolve("server.pem"), "not a certificate");
    List<String> problems = problems("""
        ingest:
          uri: grpc+tls://0.0.0.0:0
          certificate: {chain: server.pem, privateKey: server.pem}
          bearerTokens: [{token: "${T}"}]
        """ + PIPELINES, Map.of("T", SECRET));

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("3:3: ingest.certificate: ").contains("server.pem");
  }

  @Test
  void exampleConfig_isValid() {
    IngestorConfig c = new ConfigReader(Map.of("INGEST_TOKEN", SECRET))
        .read(Path.of("src/main/config/ingest.yaml"));

    Ingest ingest = c.ingest().orElseThrow();
    assertThat(ingest.uri()).isEqualTo("grpc://127.0.0.1:47480");
    assertThat(ingest.tokens()).containsExactly(new IngestToken(SECRET, Set.of("shop.orders")));
    assertThat(ingest.maxMessageSize()).contains(DataSize.mib(64));
    assertThat(c.pipelines()).extracting(p -> p.ingestTable().orElseThrow())
        .containsExactly("shop.orders");
  }
}
