package io.crest.bench;

import io.crest.iceberg.IcebergCatalogs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.types.Types;

/**
 * Scale-out harness (issue 17): N instances, each a JVM of its own ({@link ScaleOutWorker}), write
 * one Iceberg table at once, through the SQLite JDBC catalog (a file every JVM opens) or through
 * Iceberg's REST catalog server (a JVM of its own on loopback). Not a JMH benchmark: JMH forks one
 * JVM, this needs several that compete.
 *
 * <ul>
 *   <li>{@code scale}: the harness serves {@code endpoints} endless Flight streams (one server,
 *       in this JVM); instance i of N reads the endpoints of {@code shard(i, N)} and flushes
 *       every {@code flush}. Reported: committed rows/s and commits/s in steady state (see
 *       {@link #rates}), read back from the table's snapshots, and the conflicts and retries the
 *       instances counted.
 *   <li>{@code ceiling}: each instance commits one-row commits back to back; commits/s on one
 *       table is the catalog's ceiling.
 * </ul>
 *
 * <p>Run (after {@code mvn -o -B -pl crest-bench -am package -Pbench -DskipTests}):
 *
 * <pre>
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -cp crest-bench/target/benchmarks.jar \
 *     io.crest.bench.ScaleOut scale jdbc 1,2,4 20 5 16 1000 \
 *     crest-test-rest-server/target/rest-server.classpath
 * </pre>
 *
 * <p>Arguments: {@code mode (scale|ceiling) catalog (jdbc|rest) instances seconds warmupSeconds
 * endpoints flushMillis restClasspathFile}. Every JVM it starts is stopped before it exits; a
 * worker that does not end within a minute past its time is killed and reported.
 */
public final class ScaleOut {
  static final String TABLE = "bench.scale";

  // Held: the gRPC server's stream-closed warnings when an instance stops are noise here.
  private static final java.util.logging.Logger GRPC_LOG =
      java.util.logging.Logger.getLogger("io.grpc");

  private ScaleOut() {}

  public static void main(String[] args) throws Exception {
    GRPC_LOG.setLevel(java.util.logging.Level.SEVERE);
    String mode = args[0];
    String catalogKind = args[1];
    List<Integer> instances = new ArrayList<>();
    for (String n : args[2].split(",")) {
      instances.add(Integer.parseInt(n));
    }
    long seconds = Long.parseLong(args[3]);
    long warmup = Long.parseLong(args[4]);
    int endpoints = Integer.parseInt(args[5]);
    long flushMillis = Long.parseLong(args[6]);
    Path restClasspath = Path.of(args[7]);
    System.out.printf("%s %s: instances %s, %d s (first %d s not measured), %d endpoints,"
        + " flush %d ms, %d cores%n", mode, catalogKind, instances, seconds, warmup, endpoints,
        flushMillis, Runtime.getRuntime().availableProcessors());
    System.out.println("| catalog | instances | rows/s | commits/s | conflicts | retries |"
        + " rows/s per instance |");
    try (BufferAllocator allocator = new RootAllocator();
        EndlessFlightServer flight = new EndlessFlightServer(allocator, endpoints, 8_192, 0,
            false)) {
      for (int n : instances) {
        Path dir = Files.createTempDirectory("crest-scale-");
        Process rest = null;
        try {
          Map<String, String> props;
          if (catalogKind.equals("rest")) {
            int port = freePort();
            rest = startRest(restClasspath, dir, port);
            props = new LinkedHashMap<>();
            props.put("type", "rest");
            props.put("uri", "http://127.0.0.1:" + port);
            props.put("rest-metrics-reporting-enabled", "false");
          } else {
            props = IcebergCatalogs.localWarehouse(dir);
          }
          createTable(props);
          long startMillis = System.currentTimeMillis();
          List<String> results = runWorkers(mode.equals("scale") ? "flight" : "trickle", props, flight.uri(), n, seconds, flushMillis);
          long[] sums = new long[2];
          for (String r : results) {
            sums[0] += field(r, "conflicts");
            sums[1] += field(r, "retries");
          }
          double[] rates = rates(props, startMillis + warmup * 1_000);
          System.out.printf("| %s | %d | %,.0f | %.1f | %d | %d | %,.0f |%n", catalogKind, n,
              rates[0], rates[1], sums[0], sums[1], rates[0] / n);
        } finally {
          if (rest != null) {
            rest.destroy();
            if (!rest.waitFor(30, TimeUnit.SECONDS)) {
              rest.destroyForcibly();
            }
          }
          deleteRecursively(dir);
        }
      }
    }
  }

  private static long field(String result, String name) {
    for (String part : result.split(" ")) {
      if (part.startsWith(name + "=")) {
        return Long.parseLong(part.substring(name.length() + 1));
      }
    }
    throw new IllegalStateException("no " + name + " in " + result);
  }

  /** Creates the shared table (so no instance races to create it). */
  private static void createTable(Map<String, String> props) throws IOException {
    Catalog catalog = IcebergCatalogs.open("crest", props);
    try {
      if (catalog instanceof SupportsNamespaces ns && !ns.namespaceExists(Namespace.of("bench"))) {
        ns.createNamespace(Namespace.of("bench"), new HashMap<>());
      }
      Schema schema = new Schema(
          Types.NestedField.required(1, "id", Types.LongType.get()),
          Types.NestedField.required(2, "emit", Types.TimestampType.withZone()),
          Types.NestedField.optional(3, "v", Types.DoubleType.get()));
      catalog.createTable(TableIdentifier.parse(TABLE), schema, PartitionSpec.unpartitioned(),
          Map.of("write.parquet.compression-codec", "snappy"));
    } finally {
      IcebergCatalogs.closeQuietly(catalog);
    }
  }

  /**
   * Committed rows/s and commits/s in steady state: the rows and commits of the snapshots after
   * {@code max(notBefore, first snapshot)}, over the time from then to the last snapshot. (A fixed
   * window from the harness's start would count the JVMs' start-up, which on a loaded machine
   * takes longer for four instances than for one.)
   */
  private static double[] rates(Map<String, String> props, long notBefore) throws IOException {
    Catalog catalog = IcebergCatalogs.open("crest", props);
    try {
      Table table = catalog.loadTable(TableIdentifier.parse(TABLE));
      List<Snapshot> snapshots = new ArrayList<>();
      table.snapshots().forEach(snapshots::add);
      snapshots.sort(java.util.Comparator.comparingLong(Snapshot::timestampMillis));
      if (snapshots.size() < 2) {
        return new double[] {0, 0};
      }
      long from = Math.max(notBefore, snapshots.get(0).timestampMillis());
      long to = snapshots.get(snapshots.size() - 1).timestampMillis();
      long rows = 0;
      long commits = 0;
      for (Snapshot s : snapshots) {
        if (s.timestampMillis() > from) {
          commits++;
          rows += Long.parseLong(s.summary().getOrDefault("added-records", "0"));
        }
      }
      double window = Math.max(1, to - from) / 1000.0;
      return new double[] {rows / window, commits / window};
    } finally {
      IcebergCatalogs.closeQuietly(catalog);
    }
  }

  private static List<String> runWorkers(String mode, Map<String, String> props, String flightUri,
      int n, long seconds, long flushMillis) throws Exception {
    StringBuilder catalogArg = new StringBuilder();
    props.forEach((k, v) -> catalogArg.append(catalogArg.length() == 0 ? "" : ",")
        .append(k).append('=').append(v));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<Process> processes = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        processes.add(new ProcessBuilder(java, "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=" + System.getProperty("worker.log", "warn"),
            "-cp", System.getProperty("java.class.path"), ScaleOutWorker.class.getName(), mode,
            catalogArg.toString(), flightUri, Integer.toString(i), Integer.toString(n),
            Long.toString(seconds), Long.toString(flushMillis))
            .redirectErrorStream(true).start());
      }
      List<String> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        Process p = processes.get(i);
        String result = null;
        List<String> tail = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(
            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = out.readLine()) != null) {
            if (line.startsWith("RESULT ")) {
              result = line;
            } else {
              if (System.getProperty("worker.log") != null) {
                System.out.println("  [" + i + "] " + line);
              }
              tail.add(line);
              if (tail.size() > 30) {
                tail.remove(0);
              }
            }
          }
        }
        if (!p.waitFor(seconds + 60, TimeUnit.SECONDS) || result == null || p.exitValue() != 0) {
          throw new IllegalStateException("instance " + i + " of " + n + " failed (exit "
              + (p.isAlive() ? "none" : p.exitValue()) + "):\n" + String.join("\n", tail));
        }
        System.out.println("  " + result);
        results.add(result);
      }
      return results;
    } finally {
      for (Process p : processes) {
        if (p.isAlive()) {
          p.destroyForcibly();
        }
      }
    }
  }

  private static Process startRest(Path classpathFile, Path dir, int port) throws Exception {
    String classpath = Files.readString(classpathFile, StandardCharsets.UTF_8).strip();
    Path warehouse = Files.createDirectories(dir.resolve("warehouse"));
    ProcessBuilder b = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m", "-cp",
        classpath, "org.apache.iceberg.rest.RESTCatalogServer")
        .redirectErrorStream(true).redirectOutput(dir.resolve("rest.log").toFile());
    b.environment().keySet().removeIf(k -> k.startsWith("CATALOG_"));
    b.environment().put("CATALOG_REST_PORT", Integer.toString(port));
    b.environment().put("CATALOG_WAREHOUSE", warehouse.toUri().toString());
    b.environment().put("CATALOG_URI", "jdbc:sqlite:" + dir.resolve("rest-catalog.db"));
    Process p = b.start();
    HttpClient http = HttpClient.newBuilder().build();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + port + "/v1/config")).GET()
            .timeout(java.time.Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          return p;
        }
      } catch (IOException e) {
        // not up yet
      }
      if (!p.isAlive()) {
        break;
      }
      Thread.sleep(200);
    }
    p.destroyForcibly();
    throw new IllegalStateException("REST catalog server did not start: "
        + Files.readString(dir.resolve("rest.log")));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
