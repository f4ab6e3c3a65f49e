package io.crest.ingestor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.crest.ingestor.IngestorConfig.Prometheus;
import io.crest.ingestor.IngestorConfig.StreamKind;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The YAML format and its problem messages; nothing here connects anywhere. */
class ConfigReaderTest {
  private static final String SERVERS = """
      servers:
        orders: {uri: "grpc://127.0.0.1:47470"}
      catalog: {warehouse: wh}
      """;

  @TempDir Path dir;

  private Path write(String yaml) throws IOException {
    Path file = dir.resolve("ingestor.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  private IngestorConfig read(String yaml, Map<String, String> env) throws IOException {
    return new ConfigReader(env).read(write(yaml));
  }

  private List<String> problems(String yaml, Map<String, String> env) throws IOException {
    Path file = write(yaml);
    ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
        () -> new ConfigReader(env).read(file));
    return e.problems().stream().map(ConfigProblem::toString).toList();
  }

  @Test
  void fullPipeline_isReadWithEveryOption() throws IOException {
    IngestorConfig c = read(SERVERS + """
        flight:
          reconnectAttempts: 3
          reconnectBackoff: {initial: 50ms, max: 2s}
          callTimeout: PT10S
        pipelines:
          - id: orders
            table: shop.orders
            streams:
              - {server: orders, ticket: orders_mv}
              - {server: orders, incremental: customers_mv, id: customers}
              - {server: orders, discover: [sales, eu], id: eu}
            batch: {rows: 1000, bytes: 64MiB, interval: 5s}
            bufferLimit: 32MiB
            codec: zstd
            partitionBy: ["day(event_time)", "bucket(16, order_id)"]
            sortBy: [customer]
            formatVersion: 2
            tableProperties: {write.target-file-size-bytes: 134217728}
            evolution: widen
            commit: {strategy: upsert, keys: [order_id, event_time], op: op}
            branch: audit
            deadLetter: dead
        metrics: {logEvery: 1m, prometheus: {host: 0.0.0.0, port: "${PORT}", path: /crest/m}}
        """, Map.of("PORT", "9100"));

    PipelineConfig p = c.pipelines().get(0);
    assertThat(p.batch()).isEqualTo(
        BatchPolicy.rows(1000).orBytes(DataSize.mib(64)).orEvery(Duration.ofSeconds(5)));
    assertThat(p.bufferLimit()).contains(DataSize.mib(32));
    assertThat(p.streams()).extracting(s -> s.kind() + " " + s.id() + " " + s.target())
        .containsExactly("TICKET orders_mv orders_mv", "INCREMENTAL customers customers_mv",
            "DISCOVER eu sales/eu");
    assertThat(p.streams().get(2).kind()).isEqualTo(StreamKind.DISCOVER);
    assertThat(p.codec()).contains("zstd");
    assertThat(p.partitionBy()).containsExactly("day(event_time)", "bucket(16, order_id)");
    assertThat(p.tableProperties())
        .containsExactly(Map.entry("write.target-file-size-bytes", "134217728"));
    assertThat(p.evolution().name()).isEqualTo("widen");
    assertThat(p.commit().mode()).isEqualTo(CommitStrategy.Mode.UPSERT);
    assertThat(p.commit().keyColumns()).containsExactly("order_id", "event_time");
    assertThat(p.commit().opColumn()).contains("op");
    assertThat(p.deadLetter()).contains(dir.resolve("dead"));
    assertThat(c.catalog().warehouse()).contains(dir.resolve("wh"));
    assertThat(c.flight().reconnectAttempts()).contains(3);
    assertThat(c.flight().callTimeout()).contains(Duration.ofSeconds(10));
    assertThat(c.metricsLogEvery()).contains(Duration.ofMinutes(1));
    assertThat(c.prometheus()).contains(new Prometheus("0.0.0.0", 9100, "/crest/m"));
  }

  private static final String PIPELINE = """
      pipelines:
        - id: orders
          table: shop.orders
          streams: [{server: orders, ticket: orders_mv}]
      """;

  @Test
  void prometheus_emptyMapping_servesOnLoopback9464Metrics_andIsOffWithoutIt() throws IOException {
    assertThat(read(SERVERS + PIPELINE + "metrics: {prometheus: {}}\n", Map.of()).prometheus())
        .contains(new Prometheus("127.0.0.1", 9464, "/metrics"));
    IngestorConfig logOnly = read(SERVERS + PIPELINE + "metrics: {logEvery: 5s}\n", Map.of());
    assertThat(logOnly.prometheus()).isEmpty();
    assertThat(logOnly.metricsLogEvery()).contains(Duration.ofSeconds(5));
  }

  @Test
  void prometheus_badKeysAndValues_areReportedWithTheirPaths() throws IOException {
    assertThat(problems(SERVERS + PIPELINE + """
        metrics:
          prometheus: {hots: 0.0.0.0, port: 70000, path: metrics}
          promethus: {}
        """, Map.of())).containsExactly(
        "9:16: metrics.prometheus.hots: unknown key (allowed: host, port, path)",
        "9:31: metrics.prometheus.port: 70000 is out of range (0 to 65535)",
        "9:44: metrics.prometheus.path: expected a URL path such as /metrics (starting with '/',"
            + " without '?', '#' or white space), got \"metrics\"",
        "10:3: metrics.promethus: unknown key (allowed: logEvery, prometheus)");
    assertThat(problems(SERVERS + PIPELINE + """
        metrics:
          prometheus: {host: " ", port: nine, path: "/metrics?x=1"}
        """, Map.of())).containsExactly(
        "9:16: metrics.prometheus.host: expected a host name or IP address such as 127.0.0.1 or"
            + " 0.0.0.0, got \" \"",
        "9:27: metrics.prometheus.port: expected a whole number, got \"nine\"",
        "9:39: metrics.prometheus.path: expected a URL path such as /metrics (starting with '/',"
            + " without '?', '#' or white space), got \"/metrics?x=1\"");
    assertThat(problems(SERVERS + PIPELINE + "metrics: {prometheus: 9464}\n", Map.of()))
        .containsExactly("8:11: metrics.prometheus: expected a mapping with port, host and path, such"
            + " as {port: 9464}, got number 9464");
    assertThat(problems(SERVERS + PIPELINE + "metrics:\n  prometheus:\n", Map.of()))
        .containsExactly("9:3: metrics.prometheus: empty (a mapping such as {port: 9464}, or leave it"
            + " out)");
    assertThat(problems(SERVERS + PIPELINE + "metrics: {prometheus: {port: \"${PORT}\"}}\n",
        Map.of())).containsExactly("8:24: metrics.prometheus.port: environment variable PORT is not"
            + " set (set it, or give a default as ${PORT:-value})");
  }

  @Test
  void unknownKey_isReportedWithItsPathAndTheAllowedKeys() throws IOException {
    List<String> problems = problems(SERVERS + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rowz: 1000}
        """, Map.of());

    assertThat(problems).containsExactly(
        "8:5: pipelines[0].batch: sets none of rows, bytes, interval (set at least one, or leave"
            + " batch out for the default)",
        "8:13: pipelines[0].batch.rowz: unknown key (allowed: rows, bytes, interval)");
  }

  @Test
  void wrongTypes_areReportedWithTheirPaths() throws IOException {
    List<String> problems = problems(SERVERS + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: orders_mv
            batch: {rows: lots, bytes: 12 parsecs, interval: true}
            partitionBy: day(event_time)
        """, Map.of());

    assertThat(problems).containsExactly(
        "7:5: pipelines[0].streams: expected a list, got \"orders_mv\"",
        "8:13: pipelines[0].batch.rows: expected a whole number, got \"lots\"",
        "8:25: pipelines[0].batch.bytes: expected a size such as 64MiB, 512KiB or 1GiB,"
            + " got \"12 parsecs\"",
        "8:44: pipelines[0].batch.interval: expected a duration such as 500ms, 5s, 2m, 1h or"
            + " PT5S, got boolean true",
        "9:5: pipelines[0].partitionBy: expected a list, got \"day(event_time)\"");
  }

  @Test
  void everyProblem_isReportedAtOnce_inTheExceptionMessage() throws IOException {
    Path file = write("""
        servers:
          orders: {uri: "http://127.0.0.1:47470", token: x}
        catalog: {warehouse: wh, properties: {type: rest}}
        pipelines:
          - id: orders
            table: orders
            streams: [{server: order, ticket: orders_mv}]
            evolution: adColumns
            commit: {strategy: upsert}
        metricz: {}
        """);

    assertThatThrownBy(() -> new ConfigReader(Map.of()).read(file))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Cannot use ingestor config " + file + ": 8 problems\n"
            + "  " + file + ":2:12: servers.orders.uri: expected grpc://host:port,"
            + " grpc+tcp://host:port or grpc+tls://host:port, got \"http://127.0.0.1:47470\"\n"
            + "  " + file + ":2:43: servers.orders.token: unknown key (allowed: uri, basicAuth,"
            + " bearerToken, trustedCertificates, clientCertificate)\n"
            + "  " + file + ":3:1: catalog: sets both warehouse and properties (choose one)\n"
            + "  " + file + ":6:5: pipelines[0].table: Cannot use table 'orders': name it with"
            + " its namespace, as namespace.table\n"
            + "  " + file + ":7:16: pipelines[0].streams[0].server: unknown server \"order\""
            + " (defined: orders)\n"
            + "  " + file + ":8:5: pipelines[0].evolution: unknown value \"adColumns\" (allowed:"
            + " strict, addColumns, widen, full)\n"
            + "  " + file + ":9:5: pipelines[0].commit.keys: missing (upsert needs the key"
            + " columns, such as [order_id])\n"
            + "  " + file + ":10:1: metricz: unknown key (allowed: servers, flight, catalog,"
            + " pipelines, metrics, ingest)");
  }

  @Test
  void missingPipelineId_andMissingCatalog_areReportedByTheirSettings() throws IOException {
    assertThat(problems("""
        servers:
          orders: {uri: "grpc://127.0.0.1:47470"}
        pipelines:
          - table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
        """, Map.of())).containsExactly(
        "catalog: missing (set warehouse: <directory> for the embedded local warehouse, or"
            + " properties: {type: rest, uri: ...})",
        "4:5: pipelines[0].id: missing (a stable id, such as orders-ingest: the durable identity"
            + " under which the table records the pipeline's positions, so a restart with the"
            + " same id resumes)");
  }

  @Test
  void missingEnvironmentVariable_isReportedWithPathAndName() throws IOException {
    List<String> problems = problems("""
        servers:
          orders:
            uri: grpc://127.0.0.1:${ORDERS_PORT}
            basicAuth: {user: crest, password: "${ORDERS_PASSWORD}"}
        catalog: {warehouse: "${WAREHOUSE:-wh}"}
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
        """, Map.of("ORDERS_PORT", "47470"));

    assertThat(problems).containsExactly(
        "4:30: servers.orders.basicAuth.password: environment variable ORDERS_PASSWORD is not set"
            + " (set it, or give a default as ${ORDERS_PASSWORD:-value})");
  }

  @Test
  void environmentVariables_areSubstitutedEverywhere_withDefaultsAndEscapes() throws IOException {
    IngestorConfig c = read("""
        servers:
          orders:
            uri: grpc://${HOST:-127.0.0.1}:${ORDERS_PORT}
            bearerToken: "${TOKEN}"
        catalog:
          properties: {type: rest, uri: "http://catalog:8181", credential: "$${NOT_A_VAR}"}
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: "${VIEW}"}]
            batch: {rows: "${ROWS}"}
        """, Map.of("ORDERS_PORT", "47471", "TOKEN", "t0ken", "VIEW", "orders_mv", "ROWS", "500"));

    IngestorConfig.Server server = c.servers().get("orders");
    assertThat(server.uri()).isEqualTo("grpc://127.0.0.1:47471");
    assertThat(server.bearerToken()).contains("t0ken");
    assertThat(server.toString()).doesNotContain("t0ken");
    assertThat(c.catalog().properties()).containsEntry("credential", "${NOT_A_VAR}");
    assertThat(c.pipelines().get(0).streams().get(0).target()).isEqualTo("orders_mv");
    assertThat(c.pipelines().get(0).batch().maxRows()).hasValue(500);
  }

  @Test
  void shard_isRead_withTheIndexFromTheEnvironment() throws IOException {
    IngestorConfig c = read(SERVERS + """
        pipelines:
          - id: sales
            table: shop.sales
            streams: [{server: orders, discover: [sales], id: eu}]
            batch: {rows: 1000}
            shard: {index: "${SHARD_INDEX}", count: 4}
        """, Map.of("SHARD_INDEX", "3"));

    assertThat(c.pipelines().get(0).shard()).contains(new IngestorConfig.Shard(3, 4));
    try (org.apache.arrow.memory.BufferAllocator allocator =
            new org.apache.arrow.memory.RootAllocator();
        io.crest.flight.FlightSource source =
            Pipelines.source(c.pipelines().get(0), c.flight(), allocator)) {
      assertThat(source.pipelineId("sales")).isEqualTo("sales-shard-3-of-4");
    }
  }

  @Test
  void upsertSettings_areRead_andGiveTheSinkItsKeyIndexAndRewrites() throws IOException {
    IngestorConfig c = read(SERVERS + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: 1000}
            commit: {strategy: upsert, keys: [id], keyIndexMemory: 256MiB, maxDeletedRatio: 0.1}
        """, Map.of());

    IngestorConfig.PipelineConfig p = c.pipelines().get(0);
    assertThat(p.keyed()).isEqualTo(new IngestorConfig.Keyed(
        java.util.Optional.of(io.crest.DataSize.mib(256)), java.util.Optional.of(0.1), false));
    assertThat(p.keyed().toString()).isEqualTo(", key index 256 MiB, max deleted ratio 0.1");
    assertThat(Pipelines.sink(p, c.catalog())).isNotNull();
  }

  @Test
  void upsertSettings_outOfRangeOrWithoutUpsert_areProblems() throws IOException {
    assertThat(problems(SERVERS + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: 1000}
            commit: {strategy: upsert, keys: [id], keyIndexMemory: 10B, maxDeletedRatio: 1.5}
          - id: other
            table: shop.other
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: 1000}
            commit: {strategy: append, maxDeletedRatio: 0.2, equalityDeletes: true}
        """, Map.of())).containsExactly(
        "9:44: pipelines[0].commit.keyIndexMemory: Cannot set key index memory to 10 B: it must be"
            + " at least 1 KiB",
        "9:65: pipelines[0].commit.maxDeletedRatio: Cannot set max deleted ratio to 1.5: it must"
            + " be above 0 and at most 1",
        "14:32: pipelines[1].commit.maxDeletedRatio: only for strategy upsert",
        "14:54: pipelines[1].commit.equalityDeletes: only for strategy upsert");
  }

  @Test
  void shard_outOfRange_missingCount_orOnAFixedStream_isAProblem() throws IOException {
    assertThat(problems(SERVERS + """
        pipelines:
          - id: sales
            table: shop.sales
            streams: [{server: orders, discover: [sales], id: eu}]
            batch: {rows: 1000}
            shard: {index: 4, count: 4}
          - id: other
            table: shop.other
            streams: [{server: orders, discover: [sales], id: eu}]
            batch: {rows: 1000}
            shard: {index: 0}
          - id: fixed
            table: shop.fixed
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: 1000}
            shard: {index: 0, count: 2}
        """, Map.of())).containsExactly(
        "9:13: pipelines[0].shard.index: 4 is out of range (0 to 3)",
        "14:5: pipelines[1].shard.count: missing (how many instances share the endpoints, such"
            + " as 4)",
        "19:5: pipelines[2].shard: splits the endpoints of discoveries, but stream orders_mv is"
            + " not one (every shard would read it; give it a pipeline of its own)");
  }

  @Test
  void problems_neverShowTheValueOfAVariable() throws IOException {
    List<String> problems = problems(SERVERS.replace("{uri: \"grpc://127.0.0.1:47470\"}",
        "{uri: \"grpc://127.0.0.1:47470\", bearerToken: \"${TOKEN}\"}") + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            batch: {rows: "${ROWS}"}
        """, Map.of("TOKEN", "very secret", "ROWS", "s3cr3t"));

    assertThat(problems).containsExactly(
        "8:13: pipelines[0].batch.rows: expected a whole number, got \"${ROWS}\"");
    assertThat(String.join("\n", problems)).doesNotContain("s3cr3t");
  }

  @Test
  void builderChecks_areReportedAtThePipelinePath_withoutTheSecret() throws IOException {
    List<String> problems = problems(SERVERS.replace("{uri: \"grpc://127.0.0.1:47470\"}",
        "{uri: \"grpc://127.0.0.1:47470\", bearerToken: \"${TOKEN}\"}") + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
            partitionBy: ["bucket(x)"]
        """, Map.of("TOKEN", "very secret"));

    assertThat(problems).hasSize(1);
    assertThat(problems.get(0)).startsWith("8:19: pipelines[0].partitionBy[0]: Cannot ");
    assertThat(read(SERVERS.replace("{uri: \"grpc://127.0.0.1:47470\"}",
        "{uri: \"grpc://127.0.0.1:47470\", bearerToken: \"${TOKEN}\"}") + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
        """, Map.of("TOKEN", "t0ken")).pipelines()).hasSize(1);
    List<String> tokenProblems = problems(SERVERS.replace("{uri: \"grpc://127.0.0.1:47470\"}",
        "{uri: \"grpc://127.0.0.1:47470\", bearerToken: \"${TOKEN}\"}") + """
        pipelines:
          - id: orders
            table: shop.orders
            streams: [{server: orders, ticket: orders_mv}]
        """, Map.of("TOKEN", "very secret"));
    assertThat(tokenProblems).containsExactly(
        "5:5: pipelines[0]: Cannot use the bearer token: it is empty or has white space");
  }

  @Test
  void duplicateIds_andSecuritySplitAcrossServers_areRejected() throws IOException {
    List<String> problems = problems("""
        servers:
          a: {uri: "grpc://127.0.0.1:1"}
          b: {uri: "grpc://127.0.0.1:2", bearerToken: t}
        catalog: {warehouse: wh}
        pipelines:
          - id: orders
            table: shop.orders
            streams:
              - {server: a, ticket: orders_mv}
              - {server: b, ticket: orders_mv}
          - id: orders
            table: shop.orders2
            streams: [{server: a, ticket: x, incremental: y}]
        """, Map.of());

    assertThat(problems).containsExactly(
        "10:9: pipelines[0].streams[1].id: stream id \"orders_mv\" is already used by"
            + " pipelines[0].streams[0] (give one of them another id)",
        "10:10: pipelines[0].streams[1].server: server b has other credentials or TLS files than"
            + " server a (a pipeline reads all its streams with one set; put these streams in"
            + " another pipeline)",
        "11:5: pipelines[1].id: pipeline id \"orders\" is already used by pipelines[0] (each"
            + " pipeline needs its own id)",
        "13:15: pipelines[1].streams[0]: sets more than one of ticket, incremental, discover,"
            + " discoverCommand (set exactly one)");
  }

  @Test
  void invalidYaml_isReportedWithLineAndColumn() throws IOException {
    List<String> problems = problems("servers:\n  orders: {uri: [\n", Map.of());

    assertThat(problems).singleElement(InstanceOfAssertFactories.STRING)
        .startsWith("2:18: (file): not valid YAML: while parsing a flow node");
  }

  @Test
  void duplicateKey_isReported() throws IOException {
    List<String> problems = problems(SERVERS + "catalog: {warehouse: other}\n", Map.of());

    assertThat(problems).singleElement(InstanceOfAssertFactories.STRING)
        .contains("not valid YAML: Duplicate field 'catalog'");
  }

  @Test
  void missingFile_isReported() {
    Path file = dir.resolve("nope.yaml");
    assertThatThrownBy(() -> new ConfigReader(Map.of()).read(file))
        .isInstanceOf(ConfigException.class)
        .hasMessage("Cannot use ingestor config " + file + ": 1 problem\n  " + file
            + ": no such file");
  }

  @Test
  void sampleConfig_isValid() {
    IngestorConfig c = new ConfigReader(Map.of()).read(Path.of("src/main/config/orders.yaml"));

    assertThat(c.servers().get("orders").uri()).isEqualTo("grpc://127.0.0.1:47470");
    assertThat(c.pipelines()).extracting(PipelineConfig::id).containsExactly("orders-ingest");
    assertThat(c.catalog().warehouse())
        .contains(Path.of("src/main/config/warehouse").toAbsolutePath());
    assertThat(c.metricsLogEvery()).contains(Duration.ofSeconds(30));
    assertThat(c.prometheus()).contains(new Prometheus("127.0.0.1", 9464, "/metrics"));
  }
  @Test
  void wrongShapes_emptyValuesAndEmptyFile_areReportedWithTheirPaths() throws IOException {
    assertThat(problems("- servers\n", Map.of())).containsExactly(
        "1:1: (top level): expected a mapping with servers, catalog and pipelines, got a list");
    assertThat(problems(SERVERS + """
        pipelines:
          - orders
          - id: orders
            table: shop.orders
            streams: [orders_mv]
            tableProperties: {write.format.default: }
        """, Map.of())).containsExactly(
        "5:5: pipelines[0]: expected a mapping with id, table and streams, got \"orders\"",
        "8:15: pipelines[1].streams[0]: expected a mapping with server and ticket, incremental or"
            + " discover, got \"orders_mv\"",
        "9:23: pipelines[1].tableProperties.write.format.default: empty (a value, or leave the"
            + " key out)");
    assertThat(problems("# nothing yet\n", Map.of())).containsExactly(
        "(file): empty (expected the keys servers, flight, catalog, pipelines, metrics,"
            + " ingest)");
  }
}
