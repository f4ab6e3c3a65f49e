package io.crest.ingestor;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.SchemaEvolutionPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * An ingestor configuration, valid as far as it can be checked without connecting, as {@link
 * ConfigReader} makes it from the YAML file. Every value has its environment variables
 * substituted and its relative paths resolved against the file's directory. Immutable.
 *
 * <p>Records here hold secrets (passwords, tokens, catalog properties): their {@code toString}
 * does not show them.
 */
record IngestorConfig(
    Map<String, Server> servers,
    FlightSettings flight,
    Catalog catalog,
    List<PipelineConfig> pipelines,
    Optional<Duration> metricsLogEvery,
    Optional<Prometheus> prometheus,
    Optional<Ingest> ingest) {

  /**
   * The Flight ingest server producers put to, {@code ingest} in the file.
   *
   * @param uri the address to listen on, {@code grpc://host:port} or {@code grpc+tls://host:port}
   * @param certificateChain the PEM certificate chain for {@code grpc+tls}
   * @param privateKey the PEM private key for {@code grpc+tls}
   * @param clientCa the PEM CA producers' certificates must be signed by (mutual TLS)
   * @param tables the tables producers put to: the {@code ingest.table} of the pipelines
   */
  record Ingest(
      String uri,
      Optional<Path> certificateChain,
      Optional<Path> privateKey,
      Optional<Path> clientCa,
      List<IngestUser> users,
      List<IngestToken> tokens,
      boolean allowUnauthenticated,
      Optional<Integer> maxConcurrentPuts,
      Optional<DataSize> maxBufferedBytesPerProducer,
      Optional<DataSize> maxMessageSize,
      Optional<Duration> idleTimeout,
      List<String> tables) {
    /** The YAML path of the server. */
    static final String PATH = "ingest";

    @Override
    public String toString() {
      return "Ingest[" + uri + ", tables=" + tables + ", users="
          + users.stream().map(IngestUser::user).toList() + ", bearerTokens=" + tokens.size()
          + (clientCa.isPresent() ? ", client certificates" : "")
          + (allowUnauthenticated ? ", unauthenticated allowed" : "") + "]";
    }
  }

  /**
   * A user of the ingest server, {@code ingest.users[i]} in the file.
   *
   * @param tables the tables it may put to; empty = every table
   */
  record IngestUser(String user, String password, Set<String> tables) {
    @Override
    public String toString() {
      return "IngestUser[" + user + (tables.isEmpty() ? "" : ", tables=" + tables) + "]";
    }
  }

  /**
   * A bearer token of the ingest server, {@code ingest.bearerTokens[i]} in the file.
   *
   * @param tables the tables calls with it may put to; empty = every table
   */
  record IngestToken(String token, Set<String> tables) {
    @Override
    public String toString() {
      return "IngestToken[" + (tables.isEmpty() ? "every table" : "tables=" + tables) + "]";
    }
  }

  /**
   * The Prometheus scrape endpoint, {@code metrics.prometheus} in the file.
   *
   * @param host the address to listen on, a host name or IP address
   * @param port the port, 0 for an ephemeral one
   * @param httpPath the URL path served, starting with '/'
   */
  record Prometheus(String host, int port, String httpPath) {
    /** The YAML path of the endpoint. */
    static final String PATH = "metrics.prometheus";
  }

  /** A Flight server, {@code servers.<name>} in the file. */
  record Server(
      String name,
      String uri,
      Optional<String> basicUser,
      Optional<String> basicPassword,
      Optional<String> bearerToken,
      Optional<Path> trustedCertificates,
      Optional<Path> clientCertificateChain,
      Optional<Path> clientPrivateKey) {

    /** The YAML path of the server. */
    String path() {
      return "servers." + name;
    }

    /** Whether two servers can be read by one Flight source (same credentials and TLS files). */
    boolean sameSecurity(Server other) {
      return basicUser.equals(other.basicUser)
          && basicPassword.equals(other.basicPassword)
          && bearerToken.equals(other.bearerToken)
          && trustedCertificates.equals(other.trustedCertificates)
          && clientCertificateChain.equals(other.clientCertificateChain)
          && clientPrivateKey.equals(other.clientPrivateKey);
    }

    @Override
    public String toString() {
      return "Server[" + name + " at " + uri + (basicUser.isPresent() ? ", basic auth" : "")
          + (bearerToken.isPresent() ? ", bearer token" : "") + "]";
    }
  }

  /** Read settings of every Flight source, {@code flight} in the file; empty = the default. */
  record FlightSettings(
      Optional<Integer> reconnectAttempts,
      Optional<Duration> reconnectInitial,
      Optional<Duration> reconnectMax,
      Optional<Duration> pollInterval,
      Optional<Duration> callTimeout,
      Optional<Integer> maxConcurrentStreams) {

    /** The call timeout the checks use. */
    Duration checkTimeout() {
      return callTimeout.orElse(Duration.ofSeconds(10));
    }
  }

  /** The catalog: the embedded local warehouse, or Iceberg catalog properties. */
  record Catalog(String name, Optional<Path> warehouse, Map<String, String> properties) {
    @Override
    public String toString() {
      return "Catalog[" + name + ", "
          + warehouse.map(w -> "local warehouse " + w)
              .orElse("type " + properties.getOrDefault("type",
                  properties.getOrDefault("catalog-impl", "?")))
          + "]";
    }
  }

  /** What a stream reads: a replayed ticket, an incremental view, or a discovery. */
  enum StreamKind {
    TICKET,
    INCREMENTAL,
    DISCOVER
  }

  /**
   * One stream of a pipeline, {@code pipelines[i].streams[j]} in the file.
   *
   * @param id the stream id (for a discovery, the prefix of its streams' ids)
   * @param target the ticket text, the view, or the descriptor path (joined with '/')
   * @param discoverPath the descriptor path of a discovery, else empty
   * @param discoverCommand the descriptor command of a discovery, else null
   */
  record StreamConfig(
      String path,
      Server server,
      StreamKind kind,
      String id,
      String target,
      List<String> discoverPath,
      String discoverCommand) {}

  /**
   * One pipeline, {@code pipelines[i]} in the file: it reads either {@code streams} from Flight
   * servers or, when {@code ingestTable} is set (and {@code streams} empty), the puts for that
   * table of the {@link Ingest} server.
   */
  record PipelineConfig(
      String path,
      String id,
      String table,
      List<StreamConfig> streams,
      Optional<String> ingestTable,
      BatchPolicy batch,
      Optional<DataSize> bufferLimit,
      Optional<String> codec,
      List<String> partitionBy,
      List<String> sortBy,
      Optional<Integer> formatVersion,
      Map<String, String> tableProperties,
      SchemaEvolutionPolicy evolution,
      CommitStrategy commit,
      Optional<String> branch,
      Optional<Path> deadLetter,
      Optional<Shard> shard,
      Keyed keyed) {

    PipelineConfig {
      Objects.requireNonNull(id, "id");
    }
  }

  /**
   * The upsert settings of {@code commit}: the key index's heap, the share of deleted rows that
   * makes a flush rewrite data files, and equality deletes instead of the key index (see {@code
   * IcebergSink.Builder}); empty and false for other strategies.
   */
  record Keyed(
      Optional<DataSize> keyIndexMemory, Optional<Double> maxDeletedRatio,
      boolean equalityDeletes) {
    static final Keyed NONE = new Keyed(Optional.empty(), Optional.empty(), false);

    @Override
    public String toString() {
      if (this.equals(NONE)) {
        return "";
      }
      StringBuilder s = new StringBuilder();
      keyIndexMemory.ifPresent(m -> s.append(", key index ").append(m));
      maxDeletedRatio.ifPresent(r -> s.append(", max deleted ratio ").append(r));
      if (equalityDeletes) {
        s.append(", equality deletes");
      }
      return s.toString();
    }
  }

  /** {@code shard}: shard {@code index} of {@code count} (see {@code FlightSource.Builder#shard}). */
  record Shard(int index, int count) {}
}
