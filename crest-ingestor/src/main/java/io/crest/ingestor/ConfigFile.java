package io.crest.ingestor;

import com.fasterxml.jackson.annotation.JsonClassDescription;
import com.fasterxml.jackson.annotation.JsonValue;
import io.crest.DataSize;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The ingestor's YAML file as Jackson binds it: one record per mapping, one component per key
 * (absent and {@code null} keys are null). Jackson reports unknown keys and values of the wrong
 * type; {@link ConfigReader} checks the rest and turns it into an {@link IngestorConfig}.
 * Strings arrive with their environment variables substituted. The descriptions name what a
 * mapping must hold, for the problem messages.
 */
final class ConfigFile {
  private ConfigFile() {}

  @JsonClassDescription("a mapping with servers, catalog and pipelines")
  record Root(
      Map<String, ServerFile> servers,
      FlightFile flight,
      CatalogFile catalog,
      List<PipelineFile> pipelines,
      MetricsFile metrics,
      IngestFile ingest) {}

  @JsonClassDescription("a mapping with uri (and users, bearerTokens or allowUnauthenticated)")
  record IngestFile(
      String uri,
      ClientCertificateFile certificate,
      String clientCertificates,
      List<IngestUserFile> users,
      List<IngestTokenFile> bearerTokens,
      Boolean allowUnauthenticated,
      Integer maxConcurrentPuts,
      DataSize maxBufferedBytesPerProducer,
      DataSize maxMessageSize,
      Duration idleTimeout) {}

  @JsonClassDescription("a mapping with user, password and optional tables")
  record IngestUserFile(String user, String password, List<String> tables) {}

  @JsonClassDescription("a mapping with token and optional tables")
  record IngestTokenFile(String token, List<String> tables) {}

  @JsonClassDescription("a mapping with table, such as {table: shop.orders}")
  record IngestTableFile(String table) {}

  @JsonClassDescription("a mapping with uri")
  record ServerFile(
      String uri,
      BasicAuthFile basicAuth,
      String bearerToken,
      String trustedCertificates,
      ClientCertificateFile clientCertificate) {}

  @JsonClassDescription("a mapping with user and password")
  record BasicAuthFile(String user, String password) {}

  @JsonClassDescription("a mapping with chain and privateKey")
  record ClientCertificateFile(String chain, String privateKey) {}

  @JsonClassDescription("a mapping")
  record FlightFile(
      Integer reconnectAttempts,
      BackoffFile reconnectBackoff,
      Duration pollInterval,
      Duration callTimeout,
      Integer maxConcurrentStreams) {}

  @JsonClassDescription("a mapping with initial and max")
  record BackoffFile(Duration initial, Duration max) {}

  @JsonClassDescription("a mapping")
  record CatalogFile(String name, String warehouse, Map<String, String> properties) {}

  @JsonClassDescription("a mapping with id, table and streams")
  record PipelineFile(
      String id,
      String table,
      List<StreamFile> streams,
      IngestTableFile ingest,
      BatchFile batch,
      DataSize bufferLimit,
      String codec,
      List<String> partitionBy,
      List<String> sortBy,
      Integer formatVersion,
      Map<String, String> tableProperties,
      Evolution evolution,
      CommitFile commit,
      String branch,
      String deadLetter,
      ShardFile shard) {}

  /** {@code shard}: this instance's share of the pipeline's discovered endpoints. */
  record ShardFile(Integer index, Integer count) {}

  @JsonClassDescription("a mapping with server and ticket, incremental or discover")
  record StreamFile(
      String server,
      String ticket,
      String incremental,
      List<String> discover,
      String discoverCommand,
      String id) {}

  @JsonClassDescription("a mapping with rows, bytes and/or interval")
  record BatchFile(Long rows, DataSize bytes, Duration interval) {}

  @JsonClassDescription("a mapping with strategy (and keys, op, keyIndexMemory, maxDeletedRatio,"
      + " equalityDeletes for upsert)")
  record CommitFile(Strategy strategy, List<String> keys, String op, DataSize keyIndexMemory,
      Double maxDeletedRatio, Boolean equalityDeletes) {}

  @JsonClassDescription("a mapping")
  record MetricsFile(Duration logEvery, PrometheusFile prometheus) {}

  @JsonClassDescription("a mapping with port, host and path, such as {port: 9464}")
  record PrometheusFile(String host, Integer port, String path) {}

  /** {@code evolution}: the schema evolution policy. */
  enum Evolution {
    STRICT("strict"),
    ADD_COLUMNS("addColumns"),
    WIDEN("widen"),
    FULL("full");

    private final String yaml;

    Evolution(String yaml) {
      this.yaml = yaml;
    }

    @JsonValue
    @Override
    public String toString() {
      return yaml;
    }
  }

  /** {@code commit.strategy}. */
  enum Strategy {
    APPEND("append"),
    OVERWRITE_PARTITIONS("overwritePartitions"),
    UPSERT("upsert");

    private final String yaml;

    Strategy(String yaml) {
      this.yaml = yaml;
    }

    @JsonValue
    @Override
    public String toString() {
      return yaml;
    }
  }
}
