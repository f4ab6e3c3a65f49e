package io.crest.ingestor;

import io.crest.ingestor.IngestorConfig.Prometheus;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.channels.ServerSocketChannel;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The ingestor's Prometheus scrape endpoint ({@code metrics.prometheus}): the Prometheus client's
 * {@link HTTPServer} serving the registry of a Micrometer {@link PrometheusMeterRegistry} on the
 * configured path (text format 0.0.4, or OpenMetrics when the scraper asks for it).
 *
 * <p>Lifecycle: {@link #start} binds and serves at once; {@link #close} stops listening and is
 * safe to call twice. The registry stays the caller's. Thread-safe.
 */
final class PrometheusEndpoint implements AutoCloseable {
  private final HTTPServer server;
  private final URI uri;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PrometheusEndpoint(HTTPServer server, URI uri) {
    this.server = server;
    this.uri = uri;
  }

  /**
   * Listens on {@code config}'s host and port and serves {@code registry} on its path.
   *
   * @throws IOException if the host does not resolve or the address cannot be bound; the message
   *     names the address, the reason and what to change
   */
  static PrometheusEndpoint start(Prometheus config, PrometheusMeterRegistry registry)
      throws IOException {
    Objects.requireNonNull(registry, "registry");
    try {
      HTTPServer server = HTTPServer.builder()
          .inetAddress(address(config).getAddress())
          .port(config.port())
          .metricsHandlerPath(config.httpPath())
          .registry(registry.getPrometheusRegistry())
          .buildAndStart();
      return new PrometheusEndpoint(server, uri(config.host(), server.getPort(), config.httpPath()));
    } catch (IOException e) {
      throw new IOException(cannotListen(config, e), e);
    }
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

  /** Stops listening. Safe to call twice. */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      server.close();
    }
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
