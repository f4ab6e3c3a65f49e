package io.crest.ingestor;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.SchemaEvolutionPolicy;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergSink;
import io.crest.ingestor.IngestorConfig.Catalog;
import io.crest.ingestor.IngestorConfig.FlightSettings;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.crest.ingestor.IngestorConfig.Prometheus;
import io.crest.ingestor.IngestorConfig.Server;
import io.crest.ingestor.IngestorConfig.StreamConfig;
import io.crest.ingestor.IngestorConfig.StreamKind;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * Reads an ingestor's YAML file into an {@link IngestorConfig}, collecting every problem (unknown
 * key, wrong type, bad value, missing environment variable) with its YAML path before failing.
 *
 * <p>In every string value, {@code ${VAR}} is replaced by the environment variable {@code VAR},
 * {@code ${VAR:-text}} by {@code text} when {@code VAR} is not set, and {@code $${} by a literal
 * {@code ${}. Messages show the file's own text, never a variable's value. Relative paths are
 * resolved against the file's directory. Not thread-safe: one reader per file.
 */
final class ConfigReader {
  static final List<String> TOP_KEYS = List.of("servers", "flight", "catalog", "pipelines",
      "metrics");
  static final List<String> SERVER_KEYS = List.of("uri", "basicAuth", "bearerToken",
      "trustedCertificates", "clientCertificate");
  static final List<String> FLIGHT_KEYS = List.of("reconnectAttempts", "reconnectBackoff",
      "pollInterval", "callTimeout", "maxConcurrentStreams");
  static final List<String> CATALOG_KEYS = List.of("name", "warehouse", "properties");
  static final List<String> PIPELINE_KEYS = List.of("id", "table", "streams", "batch",
      "bufferLimit", "codec", "partitionBy", "sortBy", "formatVersion", "tableProperties",
      "evolution", "commit", "branch", "deadLetter");
  static final List<String> STREAM_KEYS = List.of("server", "ticket", "incremental", "discover",
      "discoverCommand", "id");
  static final List<String> BATCH_KEYS = List.of("rows", "bytes", "interval");
  static final List<String> COMMIT_KEYS = List.of("strategy", "keys", "op");
  static final List<String> METRICS_KEYS = List.of("logEvery", "prometheus");
  static final List<String> PROMETHEUS_KEYS = List.of("host", "port", "path");
  static final String PROMETHEUS_HOST = "127.0.0.1";
  static final int PROMETHEUS_PORT = 9464;
  static final String PROMETHEUS_PATH = "/metrics";
  /** The codecs Crest's columnar writer supports, as Iceberg's table property spells them. */
  static final List<String> CODECS = java.util.Arrays.stream(io.crest.writer.ParquetCodec.values())
      .map(c -> c.name().toLowerCase(java.util.Locale.ROOT)).toList();
  static final List<String> EVOLUTIONS = List.of("strict", "addColumns", "widen", "full");
  static final List<String> STRATEGIES = List.of("append", "overwritePartitions", "upsert");
  static final String CODEC_PROPERTY = org.apache.iceberg.TableProperties.PARQUET_COMPRESSION;

  private static final Pattern VARIABLE =
      Pattern.compile("\\$\\$\\{|\\$\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");
  /** An absolute URL path without query, fragment or white space. */
  private static final Pattern HTTP_PATH = Pattern.compile("/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*");
  private static final Pattern DURATION =
      Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)", Pattern.CASE_INSENSITIVE);
  private static final YAMLMapper YAML = YAMLMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build();

  private final Map<String, String> env;
  private final List<String> problems = new ArrayList<>();
  private Path base;

  ConfigReader(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /**
   * Reads and checks {@code file}.
   *
   * @throws ConfigException with every problem found
   */
  IngestorConfig read(Path file) {
    base = file.toAbsolutePath().normalize().getParent();
    JsonNode root;
    try (java.io.InputStream in = Files.newInputStream(file)) {
      root = YAML.readTree(in);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String where = at == null ? "(file)" : "line " + at.getLineNr() + ", column "
          + at.getColumnNr();
      throw new ConfigException(file.toString(),
          List.of(where + ": not valid YAML: " + e.getOriginalMessage()));
    } catch (NoSuchFileException e) {
      throw new ConfigException(file.toString(), List.of("(file): no such file"));
    } catch (IOException e) {
      throw new ConfigException(file.toString(), List.of("(file): cannot read it: " + e));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      throw new ConfigException(file.toString(),
          List.of("(file): empty (expected the keys " + String.join(", ", TOP_KEYS) + ")"));
    }
    IngestorConfig config = parse(root);
    if (problems.isEmpty()) {
      tryBuild(config);
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(file.toString(), problems);
    }
    return config;
  }

  private IngestorConfig parse(JsonNode rootNode) {
    ObjectNode root = object(rootNode, "(top level)", "a mapping");
    if (root == null) {
      return null;
    }
    keys(root, "", TOP_KEYS);
    Map<String, Server> servers = servers(root.get("servers"));
    FlightSettings flight = flight(root.get("flight"));
    Catalog catalog = catalog(root.get("catalog"));
    List<PipelineConfig> pipelines = pipelines(root.get("pipelines"), servers);
    Optional<Duration> logEvery = Optional.empty();
    Optional<Prometheus> prometheus = Optional.empty();
    ObjectNode metrics = object(root.get("metrics"), "metrics", "a mapping");
    if (metrics != null) {
      keys(metrics, "metrics", METRICS_KEYS);
      logEvery = Optional.ofNullable(duration(metrics, "logEvery", "metrics"));
      prometheus = Optional.ofNullable(prometheus(metrics.get("prometheus")));
    }
    if (servers == null || catalog == null || pipelines == null || !problems.isEmpty()) {
      return null;
    }
    return new IngestorConfig(servers, flight, catalog, pipelines, logEvery, prometheus);
  }

  /** {@code metrics.prometheus}: null when absent or invalid. */
  private Prometheus prometheus(JsonNode node) {
    String path = Prometheus.PATH;
    if (node != null && node.isNull()) {
      problem(path, "empty (a mapping such as {port: " + PROMETHEUS_PORT + "}, or leave it out)");
      return null;
    }
    ObjectNode p = object(node, path, "a mapping with port, host and path, such as {port: "
        + PROMETHEUS_PORT + "}");
    if (p == null) {
      return null;
    }
    keys(p, path, PROMETHEUS_KEYS);
    String host = optionalText(p, "host", path);
    if (host != null && (host.isBlank() || !host.strip().equals(host) || host.contains(" "))) {
      problem(path + ".host", "expected a host name or IP address such as 127.0.0.1 or 0.0.0.0,"
          + " got " + describe(p.get("host")));
      host = null;
    }
    Long port = whole(p, "port", path, 0, 65_535);
    String httpPath = optionalText(p, "path", path);
    if (httpPath != null && !HTTP_PATH.matcher(httpPath).matches()) {
      problem(path + ".path", "expected a URL path such as /metrics (starting with '/', without"
          + " '?', '#' or white space), got " + describe(p.get("path")));
      httpPath = null;
    }
    if (p.hasNonNull("port") && port == null || p.hasNonNull("host") && host == null
        || p.hasNonNull("path") && httpPath == null) {
      return null;
    }
    return new Prometheus(host == null ? PROMETHEUS_HOST : host,
        port == null ? PROMETHEUS_PORT : port.intValue(),
        httpPath == null ? PROMETHEUS_PATH : httpPath);
  }

  // ------------------------------------------------------------------------------- sections

  private Map<String, Server> servers(JsonNode node) {
    if (node == null || node.isNull()) {
      problem("servers", "missing (a mapping of server names to {uri: grpc://host:port})");
      return null;
    }
    ObjectNode servers = object(node, "servers", "a mapping of server names to servers");
    if (servers == null) {
      return null;
    }
    Map<String, Server> result = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : servers.properties()) {
      String path = "servers." + e.getKey();
      ObjectNode s = object(e.getValue(), path, "a mapping with uri");
      if (s == null) {
        continue;
      }
      keys(s, path, SERVER_KEYS);
      String uri = text(s, "uri", path, "grpc://host:port, grpc+tcp://host:port or"
          + " grpc+tls://host:port");
      if (uri != null) {
        checkUri(uri, path + ".uri", raw(s, "uri"));
      }
      Optional<String> user = Optional.empty();
      Optional<String> password = Optional.empty();
      ObjectNode basic = object(s.get("basicAuth"), path + ".basicAuth",
          "a mapping with user and password");
      if (basic != null) {
        keys(basic, path + ".basicAuth", List.of("user", "password"));
        user = Optional.ofNullable(text(basic, "user", path + ".basicAuth", "the user name"));
        password = Optional.ofNullable(
            text(basic, "password", path + ".basicAuth", "the password, say ${FLIGHT_PASSWORD}"));
      }
      Optional<String> token = Optional.ofNullable(optionalText(s, "bearerToken", path));
      if (basic != null && s.hasNonNull("bearerToken")) {
        problem(path, "sets both basicAuth and bearerToken (choose one)");
      }
      Optional<Path> trusted = Optional.ofNullable(file(s, "trustedCertificates", path));
      Optional<Path> chain = Optional.empty();
      Optional<Path> key = Optional.empty();
      ObjectNode client = object(s.get("clientCertificate"), path + ".clientCertificate",
          "a mapping with chain and privateKey");
      if (client != null) {
        keys(client, path + ".clientCertificate", List.of("chain", "privateKey"));
        chain = Optional.ofNullable(requiredFile(client, "chain", path + ".clientCertificate"));
        key = Optional.ofNullable(
            requiredFile(client, "privateKey", path + ".clientCertificate"));
      }
      result.put(e.getKey(),
          new Server(e.getKey(), uri, user, password, token, trusted, chain, key));
    }
    if (result.isEmpty() && servers.isEmpty()) {
      problem("servers", "empty (define at least one server)");
    }
    return result;
  }

  private FlightSettings flight(JsonNode node) {
    ObjectNode f = object(node, "flight", "a mapping");
    if (f == null) {
      return new FlightSettings(Optional.empty(), Optional.empty(), Optional.empty(),
          Optional.empty(), Optional.empty(), Optional.empty());
    }
    keys(f, "flight", FLIGHT_KEYS);
    Long attempts = whole(f, "reconnectAttempts", "flight", 0, 1_000);
    Duration initial = null;
    Duration max = null;
    ObjectNode backoff = object(f.get("reconnectBackoff"), "flight.reconnectBackoff",
        "a mapping with initial and max");
    if (backoff != null) {
      keys(backoff, "flight.reconnectBackoff", List.of("initial", "max"));
      initial = duration(backoff, "initial", "flight.reconnectBackoff");
      max = duration(backoff, "max", "flight.reconnectBackoff");
      if (initial == null && !backoff.has("initial") || max == null && !backoff.has("max")) {
        problem("flight.reconnectBackoff", "needs both initial and max (say 100ms and 30s)");
      }
    }
    Long streams = whole(f, "maxConcurrentStreams", "flight", 1, 100_000);
    return new FlightSettings(
        Optional.ofNullable(attempts).map(Long::intValue),
        Optional.ofNullable(initial),
        Optional.ofNullable(max),
        Optional.ofNullable(duration(f, "pollInterval", "flight")),
        Optional.ofNullable(duration(f, "callTimeout", "flight")),
        Optional.ofNullable(streams).map(Long::intValue));
  }

  private Catalog catalog(JsonNode node) {
    if (node == null || node.isNull()) {
      problem("catalog", "missing (set warehouse: <directory> for the embedded local warehouse,"
          + " or properties: {type: rest, uri: ...})");
      return null;
    }
    ObjectNode c = object(node, "catalog", "a mapping");
    if (c == null) {
      return null;
    }
    keys(c, "catalog", CATALOG_KEYS);
    String name = optionalText(c, "name", "catalog");
    Path warehouse = c.has("warehouse") ? path(c, "warehouse", "catalog") : null;
    Map<String, String> properties = stringMap(c, "properties", "catalog");
    if (c.has("warehouse") && c.has("properties")) {
      problem("catalog", "sets both warehouse and properties (choose one)");
    } else if (!c.has("warehouse") && !c.has("properties")) {
      problem("catalog", "sets neither warehouse nor properties (warehouse: <directory> for the"
          + " embedded local warehouse, or properties: {type: rest, uri: ...})");
    }
    if (properties != null && !properties.isEmpty() && !properties.containsKey("type")
        && !properties.containsKey("catalog-impl")) {
      problem("catalog.properties", "sets neither type nor catalog-impl (for example type: rest"
          + " with uri: http://host:8181)");
    }
    return new Catalog(name == null ? "crest" : name, Optional.ofNullable(warehouse),
        properties == null ? Map.of() : properties);
  }

  private List<PipelineConfig> pipelines(JsonNode node, Map<String, Server> servers) {
    if (node == null || node.isNull()) {
      problem("pipelines", "missing (a list of pipelines, each with id, table and streams)");
      return null;
    }
    if (!node.isArray()) {
      problem("pipelines", "expected a list, got " + describe(node));
      return null;
    }
    if (node.isEmpty()) {
      problem("pipelines", "empty (define at least one pipeline)");
      return null;
    }
    List<PipelineConfig> result = new ArrayList<>();
    Map<String, String> ids = new HashMap<>();
    for (int i = 0; i < node.size(); i++) {
      String path = "pipelines[" + i + "]";
      PipelineConfig p = pipeline(node.get(i), path, servers, ids);
      if (p != null) {
        result.add(p);
      }
    }
    return result;
  }

  private PipelineConfig pipeline(JsonNode node, String path, Map<String, Server> servers,
      Map<String, String> ids) {
    ObjectNode p = object(node, path, "a mapping with id, table and streams");
    if (p == null) {
      return null;
    }
    keys(p, path, PIPELINE_KEYS);
    String id = text(p, "id", path, "a stable id, such as orders-ingest: the durable identity"
        + " under which the table records the pipeline's positions, so a restart with the same id"
        + " resumes");
    if (id != null && (id.isBlank() || id.length() > 200)) {
      problem(path + ".id", "must be 1 to 200 characters, not blank");
    }
    String earlier = id == null ? null : ids.putIfAbsent(id, path);
    if (earlier != null) {
      problem(path + ".id", "pipeline id \"" + id + "\" is already used by " + earlier
          + " (each pipeline needs its own id)");
    }
    String table = text(p, "table", path, "a table name such as shop.orders");
    if (table != null) {
      attempt(path + ".table", () -> IcebergSink.builder().table(table));
    }
    List<StreamConfig> streams = streams(p.get("streams"), path + ".streams", servers);
    BatchPolicy batch = batch(p.get("batch"), path + ".batch");
    DataSize bufferLimit = size(p, "bufferLimit", path);
    if (bufferLimit != null && bufferLimit.toBytes() < 1024) {
      problem(path + ".bufferLimit", bufferLimit + " is below 1 KiB");
    }
    String codec = choice(p, "codec", path, CODECS);
    List<String> partitionBy = strings(p, "partitionBy", path);
    for (int i = 0; i < partitionBy.size(); i++) {
      String field = partitionBy.get(i);
      attempt(path + ".partitionBy[" + i + "]", () -> IcebergSink.builder().partitionBy(field));
    }
    List<String> sortBy = strings(p, "sortBy", path);
    for (int i = 0; i < sortBy.size(); i++) {
      String field = sortBy.get(i);
      attempt(path + ".sortBy[" + i + "]", () -> IcebergSink.builder().sortBy(field));
    }
    Long formatVersion = whole(p, "formatVersion", path, 1, 3);
    Map<String, String> tableProperties = stringMap(p, "tableProperties", path);
    if (codec != null && tableProperties != null
        && tableProperties.containsKey(CODEC_PROPERTY)) {
      problem(path + ".tableProperties." + CODEC_PROPERTY, "conflicts with " + path
          + ".codec (set the codec in one place)");
    }
    String evolution = choice(p, "evolution", path, EVOLUTIONS);
    CommitStrategy commit = commit(p.get("commit"), path + ".commit");
    String branch = optionalText(p, "branch", path);
    Path deadLetter = p.has("deadLetter") ? path(p, "deadLetter", path) : null;
    if (id == null || table == null || streams == null || batch == null || commit == null) {
      return null;
    }
    return new PipelineConfig(path, id, table, streams, batch, Optional.ofNullable(bufferLimit),
        Optional.ofNullable(codec), partitionBy, sortBy,
        Optional.ofNullable(formatVersion).map(Long::intValue),
        tableProperties == null ? Map.of() : tableProperties, evolution(evolution), commit,
        Optional.ofNullable(branch), Optional.ofNullable(deadLetter));
  }

  private List<StreamConfig> streams(JsonNode node, String path, Map<String, Server> servers) {
    if (node == null || node.isNull()) {
      problem(path, "missing (a list of streams, such as {server: orders, ticket: orders_mv})");
      return null;
    }
    if (!node.isArray()) {
      problem(path, "expected a list, got " + describe(node));
      return null;
    }
    if (node.isEmpty()) {
      problem(path, "empty (a pipeline reads at least one stream)");
      return null;
    }
    List<StreamConfig> result = new ArrayList<>();
    Map<String, String> ids = new HashMap<>();
    Server first = null;
    for (int i = 0; i < node.size(); i++) {
      String sp = path + "[" + i + "]";
      ObjectNode s = object(node.get(i), sp, "a mapping with server and ticket, incremental or"
          + " discover");
      if (s == null) {
        continue;
      }
      keys(s, sp, STREAM_KEYS);
      String serverName = text(s, "server", sp, "the name of a server under servers");
      Server server = null;
      if (serverName != null && servers != null) {
        server = servers.get(serverName);
        if (server == null) {
          problem(sp + ".server", "unknown server \"" + serverName + "\" (defined: "
              + String.join(", ", servers.keySet()) + ")");
        } else if (first == null) {
          first = server;
        } else if (!first.sameSecurity(server)) {
          problem(sp + ".server", "server " + serverName + " has other credentials or TLS"
              + " files than server " + first.name() + " (a pipeline reads all its streams"
              + " with one set; put these streams in another pipeline)");
        }
      }
      List<String> kinds = new ArrayList<>();
      for (String k : List.of("ticket", "incremental", "discover", "discoverCommand")) {
        if (s.has(k)) {
          kinds.add(k);
        }
      }
      if (kinds.size() != 1) {
        problem(sp, (kinds.isEmpty() ? "sets none of" : "sets more than one of")
            + " ticket, incremental, discover, discoverCommand (set exactly one)");
        continue;
      }
      String id = optionalText(s, "id", sp);
      StreamConfig stream = null;
      switch (kinds.get(0)) {
        case "ticket": {
          String ticket = text(s, "ticket", sp, "the ticket text, such as a view name");
          if (ticket != null && ticket.isEmpty()) {
            problem(sp + ".ticket", "empty");
          } else if (ticket != null) {
            stream = new StreamConfig(sp, server, StreamKind.TICKET, id != null ? id : ticket,
                ticket, List.of(), null);
          }
          break;
        }
        case "incremental": {
          String view = text(s, "incremental", sp, "the view name");
          if (view != null && (view.isEmpty() || view.contains("\n"))) {
            problem(sp + ".incremental", "must be a non-empty view name without line feeds");
          } else if (view != null) {
            stream = new StreamConfig(sp, server, StreamKind.INCREMENTAL,
                id != null ? id : view, view, List.of(), null);
          }
          break;
        }
        case "discover": {
          List<String> parts = strings(s, "discover", sp);
          if (s.get("discover").isArray() && parts.isEmpty()) {
            problem(sp + ".discover", "empty (the descriptor path, such as [sales])");
          } else if (!parts.isEmpty()) {
            stream = new StreamConfig(sp, server, StreamKind.DISCOVER,
                id != null ? id : serverName, String.join("/", parts), parts, null);
          }
          break;
        }
        default: {
          String command = text(s, "discoverCommand", sp, "the descriptor command");
          if (command != null) {
            stream = new StreamConfig(sp, server, StreamKind.DISCOVER,
                id != null ? id : serverName, command, List.of(), command);
          }
        }
      }
      if (stream == null || stream.id() == null) {
        continue;
      }
      if (stream.kind() == StreamKind.DISCOVER && (stream.id().isBlank()
          || stream.id().contains("/"))) {
        problem(sp + ".id", "a discovery id must be non-blank and have no '/'");
      }
      String earlier = ids.putIfAbsent(stream.id(), sp);
      if (earlier != null) {
        problem(sp + ".id", "stream id \"" + stream.id() + "\" is already used by " + earlier
            + " (give one of them another id)");
      }
      result.add(stream);
    }
    return result;
  }

  private BatchPolicy batch(JsonNode node, String path) {
    ObjectNode b = object(node, path, "a mapping with rows, bytes and/or interval");
    if (b == null) {
      return node == null || node.isNull() ? BatchPolicy.defaults() : null;
    }
    keys(b, path, BATCH_KEYS);
    Long rows = whole(b, "rows", path, 1, Long.MAX_VALUE);
    DataSize bytes = size(b, "bytes", path);
    if (bytes != null && bytes.toBytes() == 0) {
      problem(path + ".bytes", "must be positive");
      bytes = null;
    }
    Duration interval = duration(b, "interval", path);
    if (rows == null && bytes == null && interval == null) {
      if (!b.has("rows") && !b.has("bytes") && !b.has("interval")) {
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

  private CommitStrategy commit(JsonNode node, String path) {
    ObjectNode c = object(node, path, "a mapping with strategy (and keys, op for upsert)");
    if (c == null) {
      return node == null || node.isNull() ? CommitStrategy.append() : null;
    }
    keys(c, path, COMMIT_KEYS);
    String strategy = choice(c, "strategy", path, STRATEGIES);
    List<String> keys = strings(c, "keys", path);
    String op = optionalText(c, "op", path);
    if (strategy == null) {
      if (!c.has("strategy")) {
        problem(path + ".strategy", "missing (allowed: " + String.join(", ", STRATEGIES) + ")");
      }
      return null;
    }
    if (!strategy.equals("upsert")) {
      if (c.has("keys")) {
        problem(path + ".keys", "only for strategy upsert");
      }
      if (c.has("op")) {
        problem(path + ".op", "only for strategy upsert");
      }
      return strategy.equals("append") ? CommitStrategy.append()
          : CommitStrategy.overwritePartitions();
    }
    if (keys.isEmpty()) {
      if (!c.has("keys") || c.get("keys").isArray()) {
        problem(path + ".keys", "missing (upsert needs the key columns, such as [order_id])");
      }
      return null;
    }
    try {
      String[] k = keys.toArray(new String[0]);
      return op == null ? CommitStrategy.upsert(k) : CommitStrategy.upsertWithOps(op, k);
    } catch (IllegalArgumentException e) {
      problem(path, e.getMessage());
      return null;
    }
  }

  private static SchemaEvolutionPolicy evolution(String name) {
    if (name == null) {
      return SchemaEvolutionPolicy.strict();
    }
    switch (name) {
      case "addColumns":
        return SchemaEvolutionPolicy.addColumns();
      case "widen":
        return SchemaEvolutionPolicy.widen();
      case "full":
        return SchemaEvolutionPolicy.full();
      default:
        return SchemaEvolutionPolicy.strict();
    }
  }

  /** Builds every source and sink once, unstarted, so that the builders' own checks run now. */
  private void tryBuild(IngestorConfig config) {
    try (BufferAllocator scratch = new RootAllocator()) {
      for (PipelineConfig p : config.pipelines()) {
        attempt(p.path(), () -> Pipelines.sink(p, config.catalog()));
        attempt(p.path(), () -> Pipelines.source(p, config.flight(), scratch).close());
      }
    }
  }

  // ------------------------------------------------------------------------------- values

  private void attempt(String path, Runnable check) {
    try {
      check.run();
    } catch (IllegalArgumentException | IllegalStateException e) {
      problem(path, e.getMessage());
    }
  }

  private void checkUri(String uri, String path, String raw) {
    String hint = "expected grpc://host:port, grpc+tcp://host:port or grpc+tls://host:port, got \""
        + raw + "\"";
    try {
      URI u = new URI(uri);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      if (!List.of("grpc", "grpc+tcp", "grpc+tls").contains(scheme) || u.getHost() == null
          || u.getPort() <= 0) {
        problem(path, hint);
      }
    } catch (URISyntaxException e) {
      problem(path, hint);
    }
  }

  private ObjectNode object(JsonNode node, String path, String what) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (!node.isObject()) {
      problem(path, "expected " + what + ", got " + describe(node));
      return null;
    }
    return (ObjectNode) node;
  }

  private void keys(ObjectNode node, String path, List<String> allowed) {
    node.fieldNames().forEachRemaining(k -> {
      if (!allowed.contains(k)) {
        problem(join(path, k), "unknown key (allowed: " + String.join(", ", allowed) + ")");
      }
    });
  }

  /** A required scalar, substituted; null (and a problem) if absent or not a scalar. */
  private String text(ObjectNode parent, String key, String path, String hint) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      problem(join(path, key), "missing (" + hint + ")");
      return null;
    }
    return scalar(n, join(path, key));
  }

  private String optionalText(ObjectNode parent, String key, String path) {
    JsonNode n = parent.get(key);
    return n == null || n.isNull() ? null : scalar(n, join(path, key));
  }

  private String raw(ObjectNode parent, String key) {
    JsonNode n = parent.get(key);
    return n == null ? "" : n.asText();
  }

  private String scalar(JsonNode n, String path) {
    if (!n.isValueNode()) {
      problem(path, "expected text, got " + describe(n));
      return null;
    }
    return substitute(n.asText(), path);
  }

  /** Replaces {@code ${VAR}}s; a problem naming the variable (not its value) if one is unset. */
  String substitute(String text, String path) {
    if (text.indexOf('$') < 0) {
      return text;
    }
    Matcher m = VARIABLE.matcher(text);
    StringBuilder out = new StringBuilder();
    boolean ok = true;
    while (m.find()) {
      String replacement;
      if (m.group().equals("$${")) {
        replacement = "${";
      } else {
        String value = env.get(m.group(1));
        if (value == null && m.group(2) != null) {
          value = m.group(2);
        }
        if (value == null) {
          problem(path, "environment variable " + m.group(1) + " is not set (set it, or give a"
              + " default as ${" + m.group(1) + ":-value})");
          ok = false;
          value = "";
        }
        replacement = value;
      }
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return ok ? out.toString() : null;
  }

  private Long whole(ObjectNode parent, String key, String path, long min, long max) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return null;
    }
    String p = join(path, key);
    long value;
    if (n.isIntegralNumber() && n.canConvertToLong()) {
      value = n.asLong();
    } else if (n.isTextual() && n.asText().contains("${")) {
      String s = substitute(n.asText(), p);
      if (s == null) {
        return null;
      }
      try {
        value = Long.parseLong(s.trim());
      } catch (NumberFormatException e) {
        problem(p, "expected a whole number, but \"" + n.asText() + "\" is not one");
        return null;
      }
    } else {
      problem(p, "expected a whole number, got " + describe(n));
      return null;
    }
    if (value < min || value > max) {
      problem(p, value + " is out of range (" + min + " to "
          + (max == Long.MAX_VALUE ? "any" : Long.toString(max)) + ")");
      return null;
    }
    return value;
  }

  private Duration duration(ObjectNode parent, String key, String path) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return null;
    }
    String p = join(path, key);
    String hint = "expected a duration such as 500ms, 5s, 2m, 1h or PT5S, got " + describe(n);
    if (!n.isTextual()) {
      problem(p, hint);
      return null;
    }
    String s = substitute(n.asText(), p);
    if (s == null) {
      return null;
    }
    Duration d = parseDuration(s.trim());
    if (d == null) {
      problem(p, hint);
      return null;
    }
    if (d.isZero() || d.isNegative()) {
      problem(p, "must be positive, got " + describe(n));
      return null;
    }
    return d;
  }

  static Duration parseDuration(String s) {
    Matcher m = DURATION.matcher(s);
    if (m.matches()) {
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        return null;
      }
      switch (m.group(2).toLowerCase(Locale.ROOT)) {
        case "ms":
          return Duration.ofMillis(n);
        case "s":
          return Duration.ofSeconds(n);
        case "m":
          return Duration.ofMinutes(n);
        case "h":
          return Duration.ofHours(n);
        default:
          return Duration.ofDays(n);
      }
    }
    try {
      return Duration.parse(s);
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  private DataSize size(ObjectNode parent, String key, String path) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return null;
    }
    String p = join(path, key);
    if (n.isIntegralNumber() && n.canConvertToLong() && n.asLong() >= 0) {
      return DataSize.bytes(n.asLong());
    }
    if (!n.isTextual()) {
      problem(p, "expected a size such as 64MiB, 512KiB or 1GiB, got " + describe(n));
      return null;
    }
    String s = substitute(n.asText(), p);
    if (s == null) {
      return null;
    }
    try {
      return DataSize.parse(s);
    } catch (IllegalArgumentException e) {
      problem(p, "expected a size such as 64MiB, 512KiB or 1GiB, got " + describe(n));
      return null;
    }
  }

  private String choice(ObjectNode parent, String key, String path, List<String> allowed) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return null;
    }
    String p = join(path, key);
    String s = scalar(n, p);
    if (s == null) {
      return null;
    }
    if (!allowed.contains(s)) {
      problem(p, "unknown value " + describe(n) + " (allowed: " + String.join(", ", allowed)
          + ")");
      return null;
    }
    return s;
  }

  private List<String> strings(ObjectNode parent, String key, String path) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return List.of();
    }
    String p = join(path, key);
    if (!n.isArray()) {
      problem(p, "expected a list of text, got " + describe(n));
      return List.of();
    }
    List<String> result = new ArrayList<>();
    for (int i = 0; i < n.size(); i++) {
      String s = scalar(n.get(i), p + "[" + i + "]");
      if (s != null) {
        result.add(s);
      }
    }
    return result;
  }

  private Map<String, String> stringMap(ObjectNode parent, String key, String path) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      return null;
    }
    String p = join(path, key);
    if (!n.isObject()) {
      problem(p, "expected a mapping of names to values, got " + describe(n));
      return null;
    }
    Map<String, String> result = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : n.properties()) {
      String v = scalar(e.getValue(), p + "." + e.getKey());
      if (v != null) {
        result.put(e.getKey(), v);
      }
    }
    return result;
  }

  private Path path(ObjectNode parent, String key, String path) {
    String s = optionalText(parent, key, path);
    if (s == null) {
      return null;
    }
    if (s.isBlank()) {
      problem(join(path, key), "empty (expected a path)");
      return null;
    }
    return base.resolve(s).normalize();
  }

  private Path file(ObjectNode parent, String key, String path) {
    Path file = path(parent, key, path);
    if (file != null && !Files.isReadable(file)) {
      problem(join(path, key), "cannot read file " + file);
      return null;
    }
    return file;
  }

  private Path requiredFile(ObjectNode parent, String key, String path) {
    if (!parent.hasNonNull(key)) {
      problem(join(path, key), "missing (a PEM file)");
      return null;
    }
    return file(parent, key, path);
  }

  /** The node's kind, and its text for a scalar as written in the file. */
  private static String describe(JsonNode n) {
    if (n.isObject()) {
      return "a mapping";
    } else if (n.isArray()) {
      return "a list";
    } else if (n.isBoolean()) {
      return "boolean " + n.asText();
    } else if (n.isNumber()) {
      return "number " + n.asText();
    } else if (n.isNull()) {
      return "null";
    }
    return "\"" + n.asText() + "\"";
  }

  private static String join(String path, String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  private void problem(String path, String message) {
    problems.add(path + ": " + message);
  }
}
