package io.crest.iceberg;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.TerminalFailureException;

/**
 * Iceberg's own REST catalog server ({@code org.apache.iceberg.rest.RESTCatalogServer}, what the
 * {@code iceberg-rest-fixture} image runs) as a separate JVM, backed by a JDBC catalog in a SQLite
 * file and a {@code file:} warehouse in a directory the test owns.
 *
 * <p>The server runs Iceberg 1.11.0 on its own classpath, which the {@code crest-test-rest-server}
 * module resolves and writes to the file named by the system property {@value #CLASSPATH_PROPERTY}
 * (surefire sets it), so its classes never mix with the 1.12.0 client under test. It binds every
 * interface; tests only ever talk to it on 127.0.0.1.
 *
 * <p>Lifecycle:
 *
 * <ol>
 *   <li>{@link #start} picks a free loopback port, starts the process and returns once {@code GET
 *       /v1/config} answers;
 *   <li>{@link #catalogProperties} are the Iceberg catalog properties of a client;
 *   <li>{@link #close} stops the process and waits for it; closing twice is safe.
 * </ol>
 *
 * <p>Starting takes about a second, so test classes start one per class and keep tests apart by
 * namespace.
 */
final class RestCatalogServer implements AutoCloseable {
  static final String CLASSPATH_PROPERTY = "crest.rest-server.classpath";
  private static final String MAIN_CLASS = "org.apache.iceberg.rest.RESTCatalogServer";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private static final int START_ATTEMPTS = 3;

  private final Process process;
  private final int port;
  private final Path log;
  private final Path warehouse;
  private final Thread killOnExit;
  private boolean closed;

  private RestCatalogServer(Process process, int port, Path log, Path warehouse) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.warehouse = warehouse;
    // A test JVM that ends without close() (a crash, a kill) must not leave the server behind.
    this.killOnExit = new Thread(process::destroyForcibly, "rest-catalog-server-killer");
    Runtime.getRuntime().addShutdownHook(killOnExit);
  }

  /**
   * Starts a server whose catalog database, warehouse and log live in {@code directory}.
   *
   * @throws IllegalStateException if the classpath file is missing or the server does not come up
   */
  static RestCatalogServer start(Path directory) throws IOException {
    List<String> command = command(readClasspath());
    Path warehouse = Files.createDirectories(directory.resolve("warehouse"));
    String failures = "";
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      int port = freeLoopbackPort();
      Path log = directory.resolve("rest-server-" + attempt + ".log");
      ProcessBuilder builder =
          new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
      Map<String, String> env = builder.environment();
      // The server reads every CATALOG_* variable as a catalog property: use only ours.
      env.keySet().removeIf(name -> name.startsWith("CATALOG_"));
      env.put("CATALOG_REST_PORT", Integer.toString(port));
      env.put("CATALOG_WAREHOUSE", warehouse.toUri().toString());
      env.put("CATALOG_URI", "jdbc:sqlite:" + directory.resolve("catalog.db"));
      Process process = builder.start();
      try {
        awaitConfig(process, port);
        return new RestCatalogServer(process, port, log, warehouse);
      } catch (ConditionTimeoutException | TerminalFailureException e) {
        stop(process);
        // The port may have been taken between choosing and binding it: try another one.
        failures += "\nattempt " + attempt + " on port " + port + ": " + e.getMessage()
            + "\n" + tail(log);
      }
    }
    throw new IllegalStateException(
        "Cannot start the Iceberg REST catalog server in " + START_ATTEMPTS + " attempts:"
            + failures);
  }

  private static List<String> command(String classpath) {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    return List.of(
        java.toString(),
        "-Xmx256m",
        "-XX:TieredStopAtLevel=1", // a test server: start fast rather than peak fast
        "-XX:+UseSerialGC",
        "-cp",
        classpath,
        MAIN_CLASS);
  }

  private static String readClasspath() throws IOException {
    String file = System.getProperty(CLASSPATH_PROPERTY);
    if (file == null || !Files.isRegularFile(Path.of(file))) {
      throw new IllegalStateException(
          "Cannot start the Iceberg REST catalog server: no classpath file at " + file
              + " (system property " + CLASSPATH_PROPERTY + "; build crest-test-rest-server first,"
              + " for example mvn -B install -DskipTests from the root)");
    }
    return Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
  }

  private static int freeLoopbackPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static void awaitConfig(Process process, int port) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    HttpRequest config =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/config"))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build();
    await("REST catalog server on port " + port)
        .atMost(START_TIMEOUT)
        .pollDelay(Duration.ofMillis(100))
        .pollInterval(Duration.ofMillis(100))
        .ignoreExceptions()
        .failFast("the server process exited", () -> !process.isAlive())
        .until(() -> http.send(config, HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
  }

  /** The server's base URI on loopback, such as {@code http://127.0.0.1:40123}. */
  String uri() {
    return "http://127.0.0.1:" + port;
  }

  int port() {
    return port;
  }

  /** Where the server keeps table data and metadata. */
  Path warehouse() {
    return warehouse;
  }

  /** The Iceberg catalog properties of a REST client of this server. */
  Map<String, String> catalogProperties() {
    return catalogProperties(uri());
  }

  /**
   * The Iceberg catalog properties of a REST client that reaches this server at {@code uri} (a
   * proxy in front of it, for example).
   */
  static Map<String, String> catalogProperties(String uri) {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("type", "rest");
    props.put("uri", uri);
    // Metrics reports are posted on close; they only add noise here.
    props.put("rest-metrics-reporting-enabled", "false");
    return props;
  }

  /** A fresh REST client of this server, named {@value IcebergCatalogs#DEFAULT_NAME}. */
  OpenCatalog openCatalog() {
    return new OpenCatalog(IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, catalogProperties()));
  }

  /** The server's output so far, for diagnostics. */
  String log() {
    return tail(log);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    stop(process);
    try {
      Runtime.getRuntime().removeShutdownHook(killOnExit);
    } catch (IllegalStateException e) {
      // the JVM is shutting down already; the hook runs anyway
    }
  }

  private static void stop(Process process) {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private static String tail(Path log) {
    try {
      if (!Files.exists(log)) {
        return "(no output)";
      }
      String text = Files.readString(log, StandardCharsets.UTF_8);
      return text.length() <= 8_000 ? text : "..." + text.substring(text.length() - 8_000);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the REST catalog server's log " + log, e);
    }
  }
}
