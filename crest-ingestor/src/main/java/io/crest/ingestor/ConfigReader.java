package io.crest.ingestor;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.SchemaEvolutionPolicy;
import io.crest.iceberg.IcebergSink;
import io.crest.ingestor.ConfigFile.BatchFile;
import io.crest.ingestor.ConfigFile.CatalogFile;
import io.crest.ingestor.ConfigFile.CommitFile;
import io.crest.ingestor.ConfigFile.FlightFile;
import io.crest.ingestor.ConfigFile.MetricsFile;
import io.crest.ingestor.ConfigFile.PipelineFile;
import io.crest.ingestor.ConfigFile.PrometheusFile;
import io.crest.ingestor.ConfigFile.Root;
import io.crest.ingestor.ConfigFile.ServerFile;
import io.crest.ingestor.IngestorConfig.Catalog;
import io.crest.ingestor.IngestorConfig.FlightSettings;
import io.crest.ingestor.IngestorConfig.Ingest;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.crest.ingestor.IngestorConfig.Prometheus;
import io.crest.ingestor.IngestorConfig.Server;
import io.crest.ingestor.IngestorConfig.StreamConfig;
import io.crest.writer.ParquetCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Reads an ingestor's YAML file into an {@link IngestorConfig}: Jackson binds it ({@link
 * ConfigBinder}: unknown keys, wrong types, environment variables), then the checks Jackson
 * cannot make run here (required settings, ranges, references between sections, and the
 * builders' own checks). Every problem is collected, with file, line and YAML path, before
 * failing. Relative paths are resolved against the file's directory. Not thread-safe: one reader
 * per file.
 */
final class ConfigReader {
  static final String PROMETHEUS_HOST = "127.0.0.1";
  static final int PROMETHEUS_PORT = 9464;
  static final String PROMETHEUS_PATH = "/metrics";
  /** The codecs Crest's columnar writer supports, as Iceberg's table property spells them. */
  static final List<String> CODECS = Arrays.stream(ParquetCodec.values())
      .map(c -> c.name().toLowerCase(Locale.ROOT)).toList();
  static final String CODEC_PROPERTY = org.apache.iceberg.TableProperties.PARQUET_COMPRESSION;

  /** An absolute URL path without query, fragment or white space. */
  private static final Pattern HTTP_PATH = Pattern.compile("/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*");

  private final ConfigBinder binder;
  private Path base;

  /** The binder of the file being read, for the checks of other sections. */
  ConfigBinder binder() {
    return binder;
  }

  ConfigReader(Map<String, String> env) {
    this.binder = new ConfigBinder(env);
  }

  /**
   * A YAML parser's message without the lines it quotes from the file (indented under the
   * problem, with a caret): a quoted line may hold a password or token.
   */
  static String withoutSnippets(String message) {
    if (message == null) {
      return "";
    }
    return java.util.Arrays.stream(message.split("\\R"))
        .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
        .collect(java.util.stream.Collectors.joining("; "));
  }

  /**
   * Reads and checks {@code file}.
   *
   * @throws ConfigException with every problem found
   */
  IngestorConfig read(Path file) {
    base = file.toAbsolutePath().normalize().getParent();
    Root root;
    try (InputStream in = Files.newInputStream(file)) {
      root = binder.bind(in);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      throw new ConfigException(file.toString(), List.of(new ConfigProblem(ConfigProblem.FILE,
          at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(),
          "not valid YAML: " + withoutSnippets(e.getOriginalMessage()))));
    } catch (NoSuchFileException e) {
      throw new ConfigException(file.toString(),
          List.of(new ConfigProblem(ConfigProblem.FILE, 0, 0, "no such file")));
    } catch (IOException e) {
      throw new ConfigException(file.toString(),
          List.of(new ConfigProblem(ConfigProblem.FILE, 0, 0, "cannot read it: " + e)));
    }
    if (root == null && binder.problems().isEmpty()) {
      throw new ConfigException(file.toString(), List.of(new ConfigProblem(ConfigProblem.FILE, 0, 0,
          "empty (expected the keys servers, flight, catalog, pipelines, metrics, ingest)")));
    }
    IngestorConfig config = root == null ? null : check(root);
    if (config != null && binder.problems().isEmpty()) {
      tryBuild(config);
    }
    if (!binder.problems().isEmpty()) {
      throw new ConfigException(file.toString(), binder.problems());
    }
    return config;
  }

  private IngestorConfig check(Root root) {
    // Servers are needed unless every pipeline reads the ingest server.
    boolean readsServers = root.pipelines() == null || root.pipelines().isEmpty()
        ? root.ingest() == null && !binder.present(Ingest.PATH)
        : java.util.stream.IntStream.range(0, root.pipelines().size())
            .anyMatch(i -> !binder.present("pipelines[" + i + "].ingest"));
    Map<String, Server> servers = root.servers() == null && !readsServers ? Map.of()
        : servers(root.servers());
    FlightSettings flight = flight(root.flight());
    Catalog catalog = catalog(root.catalog());
    List<PipelineConfig> pipelines = pipelines(root.pipelines(), servers);
    Optional<Ingest> ingest = Optional.empty();
    if (root.ingest() != null || binder.present(Ingest.PATH)) {
      ingest = Optional.ofNullable(new IngestSection(this).read(root.ingest(),
          pipelines == null ? List.of() : pipelines));
      if (ingest.isEmpty()) {
        return null;
      }
    } else if (pipelines != null) {
      pipelines.stream().filter(p -> p.ingestTable().isPresent()).forEach(p ->
          problem(p.path() + ".ingest", "there is no ingest section (add ingest: {uri:"
              + " grpc://127.0.0.1:47480} with users or bearerTokens for producers to put to)"));
    }
    MetricsFile metrics = root.metrics();
    Optional<Duration> logEvery = Optional.empty();
    Optional<Prometheus> prometheus = Optional.empty();
    if (metrics != null) {
      logEvery = Optional.ofNullable(positive(metrics.logEvery(), "metrics.logEvery"));
      prometheus = Optional.ofNullable(prometheus(metrics.prometheus()));
    }
    if (servers == null || catalog == null || pipelines == null) {
      return null;
    }
    return new IngestorConfig(servers, flight, catalog, pipelines, logEvery, prometheus, ingest);
  }

  /** {@code metrics.prometheus}: null when absent or invalid. */
  private Prometheus prometheus(PrometheusFile p) {
    String path = Prometheus.PATH;
    if (p == null) {
      if (binder.present(path)) {
        problem(path, "empty (a mapping such as {port: " + PROMETHEUS_PORT + "}, or leave it"
            + " out)");
      }
      return null;
    }
    boolean ok = true;
    String host = p.host();
    if (host != null && (host.isBlank() || !host.strip().equals(host) || host.contains(" "))) {
      ok = problem(path + ".host", "expected a host name or IP address such as 127.0.0.1 or"
          + " 0.0.0.0, got \"" + host + "\"");
    }
    Integer port = p.port();
    if (port != null && (port < 0 || port > 65_535)) {
      ok = problem(path + ".port", port + " is out of range (0 to 65535)");
    }
    String httpPath = p.path();
    if (httpPath != null && !HTTP_PATH.matcher(httpPath).matches()) {
      ok = problem(path + ".path", "expected a URL path such as /metrics (starting with '/',"
          + " without '?', '#' or white space), got \"" + httpPath + "\"");
    }
    if (!ok || failed(path)) {
      return null;
    }
    return new Prometheus(host == null ? PROMETHEUS_HOST : host,
        port == null ? PROMETHEUS_PORT : port, httpPath == null ? PROMETHEUS_PATH : httpPath);
  }

  // ------------------------------------------------------------------------------- sections

  private Map<String, Server> servers(Map<String, ServerFile> servers) {
    if (servers == null) {
      if (!failed("servers")) {
        problem("servers", "missing (a mapping of server names to {uri: grpc://host:port})");
      }
      return null;
    }
    if (servers.isEmpty()) {
      problem("servers", "empty (define at least one server)");
      return null;
    }
    Map<String, Server> result = new LinkedHashMap<>();
    servers.forEach((name, s) -> {
      String path = "servers." + name;
      if (s == null) {
        if (!failed(path)) {
          problem(path, "empty (a mapping with uri)");
        }
        return;
      }
      String uri = required(s.uri(), path + ".uri",
          "grpc://host:port, grpc+tcp://host:port or grpc+tls://host:port");
      if (uri != null) {
        checkUri(uri, path + ".uri");
      }
      Optional<String> user = Optional.empty();
      Optional<String> password = Optional.empty();
      if (s.basicAuth() != null) {
        user = Optional.ofNullable(required(s.basicAuth().user(), path + ".basicAuth.user",
            "the user name"));
        password = Optional.ofNullable(required(s.basicAuth().password(),
            path + ".basicAuth.password", "the password, say ${FLIGHT_PASSWORD}"));
        if (s.bearerToken() != null) {
          problem(path, "sets both basicAuth and bearerToken (choose one)");
        }
      }
      Optional<Path> trusted = Optional.ofNullable(file(s.trustedCertificates(),
          path + ".trustedCertificates"));
      Optional<Path> chain = Optional.empty();
      Optional<Path> key = Optional.empty();
      if (s.clientCertificate() != null) {
        String cp = path + ".clientCertificate";
        chain = Optional.ofNullable(file(required(s.clientCertificate().chain(), cp + ".chain",
            "a PEM file"), cp + ".chain"));
        key = Optional.ofNullable(file(required(s.clientCertificate().privateKey(),
            cp + ".privateKey", "a PEM file"), cp + ".privateKey"));
      }
      result.put(name, new Server(name, uri, user, password,
          Optional.ofNullable(s.bearerToken()), trusted, chain, key));
    });
    return result;
  }

  private FlightSettings flight(FlightFile f) {
    if (f == null) {
      return new FlightSettings(Optional.empty(), Optional.empty(), Optional.empty(),
          Optional.empty(), Optional.empty(), Optional.empty());
    }
    Integer attempts = range(f.reconnectAttempts(), "flight.reconnectAttempts", 0, 1_000);
    Duration initial = null;
    Duration max = null;
    if (f.reconnectBackoff() != null) {
      String path = "flight.reconnectBackoff";
      initial = positive(f.reconnectBackoff().initial(), path + ".initial");
      max = positive(f.reconnectBackoff().max(), path + ".max");
      if (initial == null && !binder.present(path + ".initial")
          || max == null && !binder.present(path + ".max")) {
        problem(path, "needs both initial and max (say 100ms and 30s)");
      }
    }
    Integer streams = range(f.maxConcurrentStreams(), "flight.maxConcurrentStreams", 1,
        100_000);
    return new FlightSettings(Optional.ofNullable(attempts), Optional.ofNullable(initial),
        Optional.ofNullable(max),
        Optional.ofNullable(positive(f.pollInterval(), "flight.pollInterval")),
        Optional.ofNullable(positive(f.callTimeout(), "flight.callTimeout")),
        Optional.ofNullable(streams));
  }

  private Catalog catalog(CatalogFile c) {
    if (c == null) {
      if (!failed("catalog")) {
        problem("catalog", "missing (set warehouse: <directory> for the embedded local"
            + " warehouse, or properties: {type: rest, uri: ...})");
      }
      return null;
    }
    Path warehouse = path(c.warehouse(), "catalog.warehouse");
    Map<String, String> properties = stringMap(c.properties(), "catalog.properties");
    boolean hasWarehouse = binder.present("catalog.warehouse");
    boolean hasProperties = binder.present("catalog.properties");
    if (hasWarehouse && hasProperties) {
      problem("catalog", "sets both warehouse and properties (choose one)");
    } else if (!hasWarehouse && !hasProperties) {
      problem("catalog", "sets neither warehouse nor properties (warehouse: <directory> for the"
          + " embedded local warehouse, or properties: {type: rest, uri: ...})");
    }
    if (properties != null && !properties.isEmpty() && !properties.containsKey("type")
        && !properties.containsKey("catalog-impl")) {
      problem("catalog.properties", "sets neither type nor catalog-impl (for example type: rest"
          + " with uri: http://host:8181)");
    }
    return new Catalog(c.name() == null ? "crest" : c.name(), Optional.ofNullable(warehouse),
        properties == null ? Map.of() : properties);
  }

  private List<PipelineConfig> pipelines(List<PipelineFile> pipelines,
      Map<String, Server> servers) {
    if (pipelines == null) {
      if (!failed("pipelines")) {
        problem("pipelines", "missing (a list of pipelines, each with id, table and streams)");
      }
      return null;
    }
    if (pipelines.isEmpty()) {
      problem("pipelines", "empty (define at least one pipeline)");
      return null;
    }
    List<PipelineConfig> result = new ArrayList<>();
    Map<String, String> ids = new HashMap<>();
    for (int i = 0; i < pipelines.size(); i++) {
      PipelineConfig p = pipeline(pipelines.get(i), "pipelines[" + i + "]", servers, ids);
      if (p != null) {
        result.add(p);
      }
    }
    return result;
  }

  private PipelineConfig pipeline(PipelineFile p, String path, Map<String, Server> servers,
      Map<String, String> ids) {
    if (p == null) {
      if (!failed(path)) {
        problem(path, "empty (a mapping with id, table and streams)");
      }
      return null;
    }
    String id = required(p.id(), path + ".id", "a stable id, such as orders-ingest: the durable"
        + " identity under which the table records the pipeline's positions, so a restart with"
        + " the same id resumes");
    if (id != null && (id.isBlank() || id.length() > 200)) {
      problem(path + ".id", "must be 1 to 200 characters, not blank");
    }
    String earlier = id == null ? null : ids.putIfAbsent(id, path);
    if (earlier != null) {
      problem(path + ".id", "pipeline id \"" + id + "\" is already used by " + earlier
          + " (each pipeline needs its own id)");
    }
    String table = required(p.table(), path + ".table", "a table name such as shop.orders");
    if (table != null) {
      attempt(path + ".table", () -> IcebergSink.builder().table(table));
    }
    List<StreamConfig> streams = List.of();
    String ingestTable = null;
    boolean hasStreams = binder.present(path + ".streams");
    if (binder.present(path + ".ingest")) {
      if (hasStreams) {
        problem(path, "sets both streams and ingest (a pipeline reads Flight servers or the"
            + " ingest server's puts; choose one)");
      }
      ingestTable = IngestSection.table(this, p.ingest(), path + ".ingest");
    } else {
      streams = StreamSection.read(this, p.streams(), path + ".streams", servers);
    }
    BatchPolicy batch = batch(p.batch(), path + ".batch");
    DataSize bufferLimit = p.bufferLimit();
    if (bufferLimit != null && bufferLimit.toBytes() < 1024) {
      problem(path + ".bufferLimit", bufferLimit + " is below 1 KiB");
    }
    String codec = p.codec();
    if (codec != null && !CODECS.contains(codec)) {
      problem(path + ".codec", "unknown value \"" + codec + "\" (allowed: "
          + String.join(", ", CODECS) + ")");
    }
    List<String> partitionBy = list(p.partitionBy());
    for (int i = 0; i < partitionBy.size(); i++) {
      String field = partitionBy.get(i);
      attempt(path + ".partitionBy[" + i + "]", () -> IcebergSink.builder().partitionBy(field));
    }
    List<String> sortBy = list(p.sortBy());
    for (int i = 0; i < sortBy.size(); i++) {
      String field = sortBy.get(i);
      attempt(path + ".sortBy[" + i + "]", () -> IcebergSink.builder().sortBy(field));
    }
    Integer formatVersion = range(p.formatVersion(), path + ".formatVersion", 1, 3);
    Map<String, String> tableProperties = p.tableProperties() == null ? Map.of()
        : stringMap(p.tableProperties(), path + ".tableProperties");
    if (codec != null && tableProperties.containsKey(CODEC_PROPERTY)) {
      problem(path + ".tableProperties." + CODEC_PROPERTY, "conflicts with " + path
          + ".codec (set the codec in one place)");
    }
    CommitStrategy commit = commit(p.commit(), path + ".commit");
    IngestorConfig.Keyed keyed = keyed(p.commit(), path + ".commit");
    Path deadLetter = path(p.deadLetter(), path + ".deadLetter");
    Optional<IngestorConfig.Shard> shard = shard(p.shard(), path + ".shard", streams);
    if (shard.isPresent() && ingestTable != null) {
      problem(path + ".shard", "splits the endpoints of discoveries, but this pipeline reads the"
          + " ingest server's puts (remove shard)");
    }
    if (id == null || table == null || streams == null || batch == null || commit == null
        || binder.present(path + ".ingest") && ingestTable == null) {
      return null;
    }
    return new PipelineConfig(path, id, table, streams, Optional.ofNullable(ingestTable), batch,
        Optional.ofNullable(bufferLimit),
        Optional.ofNullable(codec), partitionBy, sortBy, Optional.ofNullable(formatVersion),
        tableProperties, evolution(p.evolution()), commit, Optional.ofNullable(p.branch()),
        Optional.ofNullable(deadLetter), shard, keyed);
  }

  /**
   * The upsert settings of {@code commit}: {@code keyIndexMemory} (at least 1 KiB), {@code
   * maxDeletedRatio} (above 0, at most 1) and {@code equalityDeletes}, only for strategy upsert.
   */
  private IngestorConfig.Keyed keyed(CommitFile c, String path) {
    if (c == null) {
      return IngestorConfig.Keyed.NONE;
    }
    if (c.strategy() != ConfigFile.Strategy.UPSERT) {
      for (String key : List.of("keyIndexMemory", "maxDeletedRatio", "equalityDeletes")) {
        if (binder.present(path + "." + key)) {
          problem(path + "." + key, "only for strategy upsert");
        }
      }
      return IngestorConfig.Keyed.NONE;
    }
    if (c.keyIndexMemory() != null) {
      attempt(path + ".keyIndexMemory",
          () -> IcebergSink.builder().keyIndexMemory(c.keyIndexMemory()));
    }
    if (c.maxDeletedRatio() != null) {
      attempt(path + ".maxDeletedRatio",
          () -> IcebergSink.builder().maxDeletedRatio(c.maxDeletedRatio()));
    }
    return new IngestorConfig.Keyed(Optional.ofNullable(c.keyIndexMemory()),
        Optional.ofNullable(c.maxDeletedRatio()), Boolean.TRUE.equals(c.equalityDeletes()));
  }

  /**
   * {@code shard: {index, count}}: both set, {@code 0 <= index < count}, and every stream of the
   * pipeline a discovery (sharding splits discovered endpoints).
   */
  private Optional<IngestorConfig.Shard> shard(
      ConfigFile.ShardFile s, String path, List<StreamConfig> streams) {
    if (s == null) {
      return Optional.empty();
    }
    Integer count = range(s.count(), path + ".count", 1, 100_000);
    Integer index = s.index();
    if (s.count() == null) {
      problem(path + ".count", "missing (how many instances share the endpoints, such as 4)");
    }
    if (index == null) {
      problem(path + ".index", "missing (this instance's shard, 0 to count - 1; use an"
          + " environment variable such as \"${SHARD_INDEX}\")");
    } else if (count != null && (index < 0 || index >= count)) {
      problem(path + ".index", index + " is out of range (0 to " + (count - 1) + ")");
      return Optional.empty();
    }
    if (streams != null) {
      for (StreamConfig stream : streams) {
        if (stream.kind() != IngestorConfig.StreamKind.DISCOVER) {
          problem(path, "splits the endpoints of discoveries, but stream " + stream.id() + " is"
              + " not one (every shard would read it; give it a pipeline of its own)");
          return Optional.empty();
        }
      }
    }
    return index == null || count == null ? Optional.empty()
        : Optional.of(new IngestorConfig.Shard(index, count));
  }

  private BatchPolicy batch(BatchFile b, String path) {
    if (b == null) {
      return failed(path) ? null : BatchPolicy.defaults();
    }
    Long rows = b.rows();
    if (rows != null && rows < 1) {
      problem(path + ".rows", rows + " is out of range (1 to any)");
      rows = null;
    }
    DataSize bytes = b.bytes();
    if (bytes != null && bytes.toBytes() == 0) {
      problem(path + ".bytes", "must be positive");
      bytes = null;
    }
    Duration interval = positive(b.interval(), path + ".interval");
    if (rows == null && bytes == null && interval == null) {
      if (!binder.present(path + ".rows") && !binder.present(path + ".bytes")
          && !binder.present(path + ".interval")) {
        problem(path, "sets none of rows, bytes, interval (set at least one, or leave batch"
            + " out for the default)");
      }
      return null;
    }
    BatchPolicy policy = null;
    if (rows != null) {
      policy = BatchPolicy.rows(rows);
    }
    if (bytes != null) {
      policy = policy == null ? BatchPolicy.bytes(bytes) : policy.orBytes(bytes);
    }
    if (interval != null) {
      policy = policy == null ? BatchPolicy.every(interval) : policy.orEvery(interval);
    }
    return policy;
  }

  private CommitStrategy commit(CommitFile c, String path) {
    if (c == null) {
      return failed(path) ? null : CommitStrategy.append();
    }
    if (c.strategy() == null) {
      if (!failed(path + ".strategy")) {
        problem(path + ".strategy", "missing (allowed: "
            + String.join(", ", Arrays.stream(ConfigFile.Strategy.values())
                .map(String::valueOf).toList()) + ")");
      }
      return null;
    }
    if (c.strategy() != ConfigFile.Strategy.UPSERT) {
      if (binder.present(path + ".keys")) {
        problem(path + ".keys", "only for strategy upsert");
      }
      if (binder.present(path + ".op")) {
        problem(path + ".op", "only for strategy upsert");
      }
      return c.strategy() == ConfigFile.Strategy.APPEND ? CommitStrategy.append()
          : CommitStrategy.overwritePartitions();
    }
    if (c.keys() == null || c.keys().isEmpty()) {
      problem(path + ".keys", "missing (upsert needs the key columns, such as [order_id])");
      return null;
    }
    try {
      String[] k = c.keys().toArray(new String[0]);
      return c.op() == null ? CommitStrategy.upsert(k) : CommitStrategy.upsertWithOps(c.op(), k);
    } catch (IllegalArgumentException e) {
      problem(path, e.getMessage());
      return null;
    }
  }

  private static SchemaEvolutionPolicy evolution(ConfigFile.Evolution evolution) {
    if (evolution == null) {
      return SchemaEvolutionPolicy.strict();
    }
    switch (evolution) {
      case ADD_COLUMNS:
        return SchemaEvolutionPolicy.addColumns();
      case WIDEN:
        return SchemaEvolutionPolicy.widen();
      case FULL:
        return SchemaEvolutionPolicy.full();
      default:
        return SchemaEvolutionPolicy.strict();
    }
  }

  /**
   * Builds every source and sink once, unstarted, and configures the ingest server without
   * starting it, so that the builders' own checks run now.
   */
  private void tryBuild(IngestorConfig config) {
    try (BufferAllocator scratch = new RootAllocator()) {
      for (PipelineConfig p : config.pipelines()) {
        attempt(p.path(), () -> Pipelines.sink(p, config.catalog()));
        if (p.ingestTable().isEmpty()) {
          attempt(p.path(), () -> Pipelines.source(p, config.flight(), scratch).close());
        }
      }
      config.ingest().ifPresent(i -> IngestSection.configure(this, i, scratch));
    }
  }

  // ------------------------------------------------------------------------------- values

  void attempt(String path, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException | IllegalStateException e) {
      problem(path, e.getMessage());
    }
  }

  void checkUri(String uri, String path) {
    checkUri(uri, path, 1);
  }

  /** Checks a Flight URI whose port is at least {@code minPort} (0 for a listening address). */
  void checkUri(String uri, String path, int minPort) {
    String hint = "expected grpc://host:port, grpc+tcp://host:port or grpc+tls://host:port, got \""
        + uri + "\"";
    try {
      URI u = new URI(uri);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if (!List.of("grpc", "grpc+tcp", "grpc+tls").contains(scheme) || u.getHost() == null
          || u.getPort() < minPort || u.getPort() > 65_535) {
        problem(path, hint);
      }
    } catch (URISyntaxException e) {
      problem(path, hint);
    }
  }

  /** The value, or null and a problem "missing (hint)" unless the path has one already. */
  String required(String value, String path, String hint) {
    if (value == null && !failed(path)) {
      problem(path, "missing (" + hint + ")");
    }
    return value;
  }

  Integer range(Integer value, String path, int min, int max) {
    if (value != null && (value < min || value > max)) {
      problem(path, value + " is out of range (" + min + " to " + max + ")");
      return null;
    }
    return value;
  }

  Duration positive(Duration d, String path) {
    if (d != null && (d.isZero() || d.isNegative())) {
      problem(path, "must be positive, got " + d);
      return null;
    }
    return d;
  }

  Path path(String value, String path) {
    if (value == null) {
      return null;
    }
    if (value.isBlank()) {
      problem(path, "empty (expected a path)");
      return null;
    }
    return base.resolve(value).normalize();
  }

  Path file(String value, String path) {
    Path file = path(value, path);
    if (file != null && !Files.isReadable(file)) {
      problem(path, "cannot read file " + file);
      return null;
    }
    return file;
  }

  /** The list without its empty items (YAML's {@code [a, ]}). */
  static List<String> list(List<String> values) {
    return values == null ? List.of()
        : values.stream().filter(java.util.Objects::nonNull).toList();
  }

  /** The mapping, each empty value a problem. */
  private Map<String, String> stringMap(Map<String, String> values, String path) {
    if (values == null) {
      return null;
    }
    Map<String, String> result = new LinkedHashMap<>();
    values.forEach((k, v) -> {
      if (v == null) {
        problem(path + "." + k, "empty (a value, or leave the key out)");
      } else {
        result.put(k, v);
      }
    });
    return java.util.Collections.unmodifiableMap(result);
  }

  /** Whether {@code path} or a path below it has a problem (say, a wrong type). */
  boolean failed(String path) {
    return binder.problems().stream().anyMatch(p -> p.path().equals(path)
        || p.path().startsWith(path + ".") || p.path().startsWith(path + "["));
  }

  /** Adds a problem; returns false, for {@code ok = problem(...)}. */
  boolean problem(String path, String message) {
    binder.problem(path, message);
    return false;
  }
}
