package io.crest.ingestor;

import io.crest.flight.FlightIngestServer;
import io.crest.ingestor.ConfigFile.IngestFile;
import io.crest.ingestor.ConfigFile.IngestTableFile;
import io.crest.ingestor.ConfigFile.IngestTokenFile;
import io.crest.ingestor.ConfigFile.IngestUserFile;
import io.crest.ingestor.IngestorConfig.Ingest;
import io.crest.ingestor.IngestorConfig.IngestToken;
import io.crest.ingestor.IngestorConfig.IngestUser;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.arrow.memory.BufferAllocator;

/**
 * Checks the {@code ingest} section of an ingestor's file (the Flight ingest server producers put
 * to) and the {@code ingest.table} of its pipelines, reporting problems through the {@link
 * ConfigReader} that reads the file. It applies the server's secure default: a server listening
 * beyond loopback must require users, bearer tokens or client certificates unless {@code
 * allowUnauthenticated: true}. Passwords and tokens must be written as one {@code ${VAR}} each, so
 * that the file holds no secret. Not thread-safe: one per file.
 */
final class IngestSection {
  private static final String PATH = Ingest.PATH;

  private final ConfigReader reader;

  IngestSection(ConfigReader reader) {
    this.reader = reader;
  }

  /** {@code pipelines[i].ingest}: the table name, or null and a problem. */
  static String table(ConfigReader reader, IngestTableFile ingest, String path) {
    if (ingest == null) {
      if (!reader.failed(path)) {
        reader.problem(path, "empty (a mapping such as {table: shop.orders}: the table name"
            + " producers put to)");
      }
      return null;
    }
    String table = reader.required(ingest.table(), path + ".table",
        "the table name producers put to, such as shop.orders");
    if (table != null && table.isBlank()) {
      reader.problem(path + ".table", "blank (the table name producers put to)");
      return null;
    }
    return table;
  }

  /**
   * {@code ingest}, serving the ingest tables of {@code pipelines}: the server's settings, or
   * null if they have a problem.
   */
  Ingest read(IngestFile f, List<PipelineConfig> pipelines) {
    if (f == null) {
      if (!reader.failed(PATH)) {
        reader.problem(PATH, "empty (a mapping with uri, and users, bearerTokens or"
            + " clientCertificates; or leave it out)");
      }
      return null;
    }
    int before = reader.binder().problems().size();
    List<String> tables = tables(pipelines);
    String uri = reader.required(f.uri(), PATH + ".uri",
        "the address to listen on, such as grpc://127.0.0.1:47480 or grpc+tls://0.0.0.0:47480");
    boolean tls = false;
    if (uri != null) {
      reader.checkUri(uri, PATH + ".uri", 0);
      tls = uri.toLowerCase(Locale.ROOT).startsWith("grpc+tls:");
    }
    Optional<Path> chain = Optional.empty();
    Optional<Path> key = Optional.empty();
    if (f.certificate() != null) {
      String cp = PATH + ".certificate";
      chain = Optional.ofNullable(reader.file(reader.required(f.certificate().chain(),
          cp + ".chain", "a PEM file"), cp + ".chain"));
      key = Optional.ofNullable(reader.file(reader.required(f.certificate().privateKey(),
          cp + ".privateKey", "a PEM file"), cp + ".privateKey"));
    }
    Optional<Path> clientCa = Optional.ofNullable(
        reader.file(f.clientCertificates(), PATH + ".clientCertificates"));
    boolean certificate = reader.binder().present(PATH + ".certificate");
    if (uri != null && tls && !certificate) {
      reader.problem(PATH + ".certificate", "missing (a grpc+tls uri needs {chain: server.pem,"
          + " privateKey: server-key.pem})");
    } else if (uri != null && !tls && certificate) {
      reader.problem(PATH + ".certificate", "set but ingest.uri is plaintext (use"
          + " grpc+tls://, or leave the certificate out)");
    }
    if (uri != null && !tls && reader.binder().present(PATH + ".clientCertificates")) {
      reader.problem(PATH + ".clientCertificates", "needs TLS but ingest.uri is plaintext (use"
          + " grpc+tls:// with a certificate)");
    }
    List<IngestUser> users = users(f.users(), tables);
    List<IngestToken> tokens = tokens(f.bearerTokens(), tables);
    boolean allow = Boolean.TRUE.equals(f.allowUnauthenticated());
    boolean credentials = reader.binder().present(PATH + ".users")
        || reader.binder().present(PATH + ".bearerTokens")
        || reader.binder().present(PATH + ".clientCertificates");
    if (allow && credentials) {
      reader.problem(PATH + ".allowUnauthenticated", "true, but users, bearerTokens or"
          + " clientCertificates are set too (choose one)");
    } else if (uri != null && !allow && !credentials && !reader.failed(PATH + ".uri")
        && !isLoopback(uri)) {
      reader.problem(PATH + ".uri", uri + " listens beyond loopback but no credentials are"
          + " required, so anyone on the network could write to its tables (add ingest.users,"
          + " ingest.bearerTokens or ingest.clientCertificates, or set ingest.allowUnauthenticated:"
          + " true to accept that risk)");
    }
    Integer puts = reader.range(f.maxConcurrentPuts(), PATH + ".maxConcurrentPuts", 1,
        1_000_000);
    Duration idle = reader.positive(f.idleTimeout(), PATH + ".idleTimeout");
    if (tables.isEmpty() && !pipelines.isEmpty()) {
      reader.problem(PATH, "no pipeline reads it (give a pipeline ingest: {table: <name>}"
          + " instead of streams, or leave the section out)");
    }
    if (reader.binder().problems().size() > before || uri == null) {
      return null;
    }
    return new Ingest(uri, chain, key, clientCa, users, tokens, allow, Optional.ofNullable(puts),
        Optional.ofNullable(f.maxBufferedBytesPerProducer()),
        Optional.ofNullable(f.maxMessageSize()),
        Optional.ofNullable(idle), tables);
  }

  /** The ingest tables of {@code pipelines}, each read by one pipeline. */
  private List<String> tables(List<PipelineConfig> pipelines) {
    Map<String, String> readers = new HashMap<>();
    List<String> tables = new ArrayList<>();
    for (PipelineConfig p : pipelines) {
      if (p.ingestTable().isEmpty()) {
        continue;
      }
      String table = p.ingestTable().get();
      String earlier = readers.putIfAbsent(table, p.path());
      if (earlier != null) {
        reader.problem(p.path() + ".ingest.table", "table " + table + " is already read by "
            + earlier + " (one pipeline reads each ingest table)");
      } else {
        tables.add(table);
      }
    }
    return List.copyOf(tables);
  }

  private List<IngestUser> users(List<IngestUserFile> users, List<String> tables) {
    List<IngestUser> result = new ArrayList<>();
    if (users == null) {
      return result;
    }
    for (int i = 0; i < users.size(); i++) {
      String path = PATH + ".users[" + i + "]";
      IngestUserFile u = users.get(i);
      if (u == null) {
        continue;
      }
      String user = reader.required(u.user(), path + ".user", "the user name");
      String password = secret(u.password(), path + ".password", "INGEST_PASSWORD");
      Set<String> granted = granted(u.tables(), path + ".tables", tables);
      if (user != null && password != null && granted != null) {
        result.add(new IngestUser(user, password, granted));
      }
    }
    return result;
  }

  private List<IngestToken> tokens(List<IngestTokenFile> tokens, List<String> tables) {
    List<IngestToken> result = new ArrayList<>();
    if (tokens == null) {
      return result;
    }
    for (int i = 0; i < tokens.size(); i++) {
      String path = PATH + ".bearerTokens[" + i + "]";
      IngestTokenFile t = tokens.get(i);
      if (t == null) {
        continue;
      }
      String token = secret(t.token(), path + ".token", "INGEST_TOKEN");
      Set<String> granted = granted(t.tables(), path + ".tables", tables);
      if (token != null && granted != null) {
        result.add(new IngestToken(token, granted));
      }
    }
    return result;
  }

  /** A password or token: required, and written as one {@code ${VAR}}. */
  private String secret(String value, String path, String example) {
    if (reader.required(value, path, "an environment variable such as ${" + example + "}")
        == null) {
      return null;
    }
    if (!reader.binder().fromVariable(path)) {
      reader.problem(path, "must be one environment variable reference such as ${" + example
          + "}, not text in the file (keep secrets out of it)");
      return null;
    }
    return value;
  }

  /** The tables granted, empty for every table; null and a problem if one is not ingested. */
  private Set<String> granted(List<String> values, String path, List<String> tables) {
    if (values == null) {
      if (reader.binder().present(path) && !reader.failed(path)) {
        reader.problem(path, "empty (list the tables, or leave tables out to allow every one)");
        return null;
      }
      return reader.failed(path) ? null : Set.of();
    }
    List<String> named = ConfigReader.list(values);
    if (named.isEmpty()) {
      reader.problem(path, "empty (list the tables, or leave tables out to allow every one)");
      return null;
    }
    for (String table : named) {
      if (!tables.contains(table)) {
        reader.problem(path, "table " + table + " is not read by any pipeline (ingest tables: "
            + tables + ")");
        return null;
      }
    }
    return Set.copyOf(new LinkedHashSet<>(named));
  }

  /** Whether {@code uri}'s host is a loopback address, as the server's builder decides. */
  private static boolean isLoopback(String uri) {
    try {
      String host = new URI(uri).getHost();
      return host != null && InetAddress.getByName(host).isLoopbackAddress();
    } catch (java.net.URISyntaxException | UnknownHostException e) {
      return false;
    }
  }

  /**
   * Configures the server's builder without starting it, so that its own checks (PEM files,
   * user names, limits) are reported at their settings.
   */
  static void configure(ConfigReader reader, Ingest ingest, BufferAllocator scratch) {
    reader.attempt(PATH, () -> builder(ingest, scratch, reader));
  }

  /**
   * The server's builder with every setting of {@code ingest}; with a {@code reader}, each
   * setter's problem is reported at its setting instead of thrown.
   *
   * @throws IllegalArgumentException or IllegalStateException from a setter, without a reader
   */
  static FlightIngestServer.Builder builder(Ingest ingest, BufferAllocator allocator,
      ConfigReader reader) {
    FlightIngestServer.Builder b = FlightIngestServer.builder(allocator, ingest.uri());
    ingest.tables().forEach(b::table);
    set(reader, PATH + ".certificate", () -> ingest.certificateChain().ifPresent(chain ->
        b.certificate(chain, ingest.privateKey().orElseThrow())));
    set(reader, PATH + ".clientCertificates",
        () -> ingest.clientCa().ifPresent(b::requireClientCertificates));
    for (int i = 0; i < ingest.users().size(); i++) {
      IngestUser u = ingest.users().get(i);
      set(reader, PATH + ".users[" + i + "]", () -> {
        if (u.tables().isEmpty()) {
          b.user(u.user(), u.password());
        } else {
          b.user(u.user(), u.password(), u.tables());
        }
      });
    }
    for (int i = 0; i < ingest.tokens().size(); i++) {
      IngestToken t = ingest.tokens().get(i);
      set(reader, PATH + ".bearerTokens[" + i + "]", () -> {
        if (t.tables().isEmpty()) {
          b.bearerToken(t.token());
        } else {
          b.bearerToken(t.token(), t.tables());
        }
      });
    }
    if (ingest.allowUnauthenticated()) {
      b.allowUnauthenticated();
    }
    set(reader, PATH + ".maxConcurrentPuts",
        () -> ingest.maxConcurrentPuts().ifPresent(b::maxConcurrentPuts));
    set(reader, PATH + ".maxBufferedBytesPerProducer",
        () -> ingest.maxBufferedBytesPerProducer().ifPresent(b::maxBufferedBytesPerProducer));
    set(reader, PATH + ".maxMessageSize",
        () -> ingest.maxMessageSize().ifPresent(b::maxMessageSize));
    set(reader, PATH + ".idleTimeout", () -> ingest.idleTimeout().ifPresent(b::idleTimeout));
    return b;
  }

  private static void set(ConfigReader reader, String path, Runnable setter) {
    if (reader == null) {
      setter.run();
    } else {
      reader.attempt(path, setter);
    }
  }
}
