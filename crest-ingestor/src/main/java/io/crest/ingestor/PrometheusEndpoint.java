package io.crest.ingestor;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.crest.ingestor.IngestorConfig.Prometheus;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ingestor's Prometheus scrape endpoint ({@code metrics.prometheus}): an HTTP server, the
 * JDK's {@link HttpServer}, that answers {@code GET} and {@code HEAD} of one path with the meters
 * of a {@link PrometheusMeterRegistry}.
 *
 * <ul>
 *   <li>The configured path: 200 with the Prometheus text format ({@value #TEXT_FORMAT}), or
 *       OpenMetrics ({@value #OPENMETRICS_FORMAT}) when the request's {@code Accept} asks for
 *       {@code application/openmetrics-text}.
 *   <li>Any other path: 404. Another method on the path: 405.
 * </ul>
 *
 * <p>Lifecycle: {@link #start} binds and serves at once; {@link #close} stops listening, drops
 * requests still being answered, and is safe to call twice. The registry stays the caller's.
 * Requests are answered one at a time on the server's dispatcher thread; the methods here may be
 * called from any thread.
 */
final class PrometheusEndpoint implements AutoCloseable {
  /** The content type of the Prometheus text exposition format 0.0.4. */
  static final String TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";
  /** The content type of the OpenMetrics text format 1.0.0. */
  static final String OPENMETRICS_FORMAT =
      "application/openmetrics-text; version=1.0.0; charset=utf-8";

  private static final Logger LOG = LoggerFactory.getLogger(PrometheusEndpoint.class);

  private final HttpServer server;
  private final PrometheusMeterRegistry registry;
  private final String path;
  private final URI uri;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PrometheusEndpoint(HttpServer server, PrometheusMeterRegistry registry,
      Prometheus config) {
    this.server = server;
    this.registry = registry;
    this.path = config.httpPath();
    this.uri = uri(config.host(), server.getAddress().getPort(), path);
  }

  /**
   * Listens on {@code config}'s host and port and serves {@code registry} on its path.
   *
   * @throws IOException if the host does not resolve or the address cannot be bound; the message
   *     names the address and the reason
   */
  static PrometheusEndpoint start(Prometheus config, PrometheusMeterRegistry registry)
      throws IOException {
    Objects.requireNonNull(registry, "registry");
    HttpServer server;
    try {
      server = HttpServer.create(address(config), 0);
    } catch (IOException e) {
      throw new IOException(cannotListen(config, e), e);
    }
    PrometheusEndpoint endpoint = new PrometheusEndpoint(server, registry, config);
    server.createContext("/", endpoint::handle);
    server.start();
    return endpoint;
  }

  /**
   * Whether {@code config}'s address can be bound now: binds it and lets it go at once.
   *
   * @return null if it can, else the problem, naming the address and the reason
   */
  static String checkListen(Prometheus config) {
    try (ServerSocketChannel channel = ServerSocketChannel.open()) {
      channel.bind(address(config));
      return null;
    } catch (IOException e) {
      return cannotListen(config, e);
    }
  }

  /** The URL to scrape: {@code http://host:port/path}, with the port really bound. */
  URI uri() {
    return uri;
  }

  /** Stops listening; a request being answered is cut off. Safe to call twice. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.stop(0);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      boolean head = method.equals("HEAD");
      if (!exchange.getRequestURI().getRawPath().equals(path)) {
        respond(exchange, 404, "text/plain; charset=utf-8", head ? null
            : ("Not found: this server serves only " + path + "\n")
                .getBytes(StandardCharsets.UTF_8));
        return;
      }
      if (!head && !method.equals("GET")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, null, null);
        return;
      }
      String type = openMetrics(exchange.getRequestHeaders().get("Accept"))
          ? OPENMETRICS_FORMAT : TEXT_FORMAT;
      ByteArrayOutputStream body = new ByteArrayOutputStream(8192);
      try {
        registry.scrape(body, type);
      } catch (IOException | RuntimeException e) {
        LOG.warn("Cannot scrape the ingestor's meters for {}: {}", uri, e.toString(), e);
        respond(exchange, 500, null, null);
        return;
      }
      respond(exchange, 200, type, head ? null : body.toByteArray());
    } catch (IOException | RuntimeException e) {
      // The scraper went away, or the server is stopping: nothing to answer any more.
      LOG.debug("Cannot answer a scrape of {}: {}", uri, e.toString());
    }
  }

  /** Sends the status and headers, and the body unless it is null (HEAD, or none). */
  private static void respond(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    if (type != null) {
      exchange.getResponseHeaders().set("Content-Type", type);
    }
    // For HttpExchange, -1 means no body and 0 a body of unknown length.
    boolean none = body == null || body.length == 0;
    exchange.sendResponseHeaders(status, none ? -1 : body.length);
    if (!none) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static boolean openMetrics(List<String> accept) {
    return accept != null
        && accept.stream().anyMatch(a -> a.contains("application/openmetrics-text"));
  }

  private static InetSocketAddress address(Prometheus config) throws IOException {
    InetSocketAddress address = new InetSocketAddress(config.host(), config.port());
    if (address.isUnresolved()) {
      throw new IOException("unknown host " + config.host());
    }
    return address;
  }

  private static String cannotListen(Prometheus config, IOException e) {
    String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return "Cannot listen on " + config.host() + ":" + config.port() + ": " + reason
        + " (set " + Prometheus.PATH + ".host to an address of this machine, and .port to a"
        + " free port, or 0 for any)";
  }

  private static URI uri(String host, int port, String path) {
    try {
      return new URI("http", null, host, port, path, null, null);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("Cannot make the metrics URL of " + host + ":" + port
          + path + ": " + e.getMessage(), e);
    }
  }
}
