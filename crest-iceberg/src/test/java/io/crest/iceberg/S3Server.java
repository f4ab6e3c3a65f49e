package io.crest.iceberg;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
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

/**
 * A real S3 API server (S3Proxy on a local filesystem backend) running as its own JVM on loopback,
 * started from the classpath the {@code crest-test-s3-server} module resolves. Path-style access
 * with static credentials; buckets are created through the S3 API. Close it to stop it.
 */
final class S3Server implements AutoCloseable {
  static final String ACCESS_KEY = "crest-test-access-key";
  static final String SECRET_KEY = "crest-test-secret-key";
  private static final String CLASSPATH_PROPERTY = "crest.s3-server.classpath";

  private final Process process;
  private final int port;
  private final Path log;

  private S3Server(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts a server keeping its objects and log in {@code directory}. */
  static S3Server start(Path directory) throws IOException {
    String file = System.getProperty(CLASSPATH_PROPERTY);
    if (file == null || !Files.isRegularFile(Path.of(file))) {
      throw new IllegalStateException("Cannot start S3Proxy: no classpath file at " + file
          + " (system property " + CLASSPATH_PROPERTY + "; build crest-test-s3-server first, for"
          + " example mvn -B install -DskipTests from the root)");
    }
    String classpath = Files.readString(Path.of(file), StandardCharsets.UTF_8).strip();
    int port;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = socket.getLocalPort();
    }
    Path blobs = Files.createDirectories(directory.resolve("blobs"));
    Path config = directory.resolve("s3proxy.conf");
    Files.writeString(config, String.join("\n",
        "s3proxy.endpoint=http://127.0.0.1:" + port,
        "s3proxy.authorization=aws-v2-or-v4",
        "s3proxy.identity=" + ACCESS_KEY,
        "s3proxy.credential=" + SECRET_KEY,
        "jclouds.provider=filesystem",
        "jclouds.identity=local",
        "jclouds.credential=local",
        "jclouds.filesystem.basedir=" + blobs,
        ""));
    Path log = directory.resolve("s3proxy.log");
    Path output = directory.resolve("s3proxy.out");
    Process process = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m", "-XX:TieredStopAtLevel=1",
            // S3Proxy sends System.err to its logger; a logger writing to System.err would loop.
            "-Dorg.slf4j.simpleLogger.logFile=" + log,
            "-cp", classpath,
            "org.gaul.s3proxy.Main", "--properties", config.toString()))
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    S3Server server = new S3Server(process, port, log);
    try {
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
      HttpRequest ping = HttpRequest.newBuilder(URI.create(server.endpoint() + "/")).GET().build();
      await("S3Proxy on port " + port).atMost(Duration.ofMinutes(1))
          .pollInterval(Duration.ofMillis(100)).ignoreExceptions()
          .failFast("the S3Proxy process exited", () -> !process.isAlive())
          // Any HTTP answer (403 without credentials) means it is serving.
          .until(() -> http.send(ping, HttpResponse.BodyHandlers.discarding()).statusCode() > 0);
    } catch (RuntimeException e) {
      server.close();
      throw new IllegalStateException("Cannot start S3Proxy: " + e.getMessage() + "\n"
          + Files.readString(log), e);
    }
    return server;
  }

  /** The endpoint, such as {@code http://127.0.0.1:40123}. */
  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** The Iceberg properties that make {@code S3FileIO} talk to this server. */
  Map<String, String> fileIoProperties() {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("io-impl", "org.apache.iceberg.aws.s3.S3FileIO");
    props.put("s3.endpoint", endpoint());
    props.put("s3.path-style-access", "true");
    props.put("s3.access-key-id", ACCESS_KEY);
    props.put("s3.secret-access-key", SECRET_KEY);
    props.put("client.region", "us-east-1");
    props.put("http-client.type", "urlconnection");
    return props;
  }

  /** An S3 client of this server (path-style, its credentials); the caller closes it. */
  software.amazon.awssdk.services.s3.S3Client client() {
    return software.amazon.awssdk.services.s3.S3Client.builder()
        .endpointOverride(java.net.URI.create(endpoint()))
        .forcePathStyle(true)
        .region(software.amazon.awssdk.regions.Region.US_EAST_1)
        .credentialsProvider(
            software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                    ACCESS_KEY, SECRET_KEY)))
        .httpClient(software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient.create())
        .build();
  }

  String log() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
