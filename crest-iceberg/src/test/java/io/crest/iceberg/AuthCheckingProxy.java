package io.crest.iceberg;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * A reverse proxy on loopback in front of a REST catalog server that sees every request the way
 * the server would: it records each request's method, path, {@code Authorization} header and (for
 * its OAuth2 token endpoint {@value #TOKEN_PATH}) form fields, and can refuse requests the way an
 * authenticating catalog does (401 with an Iceberg or OAuth2 error body).
 *
 * <p>Checks, when set: catalog requests must carry {@link #requireAuthorization} exactly, or a
 * bearer token the token endpoint issued ({@link #requireIssuedToken}); token requests must carry
 * {@link #requireClientSecret}. Thread-safe; closing twice is safe.
 */
final class AuthCheckingProxy implements AutoCloseable {
  /**
   * The proxy's OAuth2 token endpoint, to be set as {@code oauth2-server-uri}: not the catalog's
   * default {@code v1/oauth/tokens}, so a test shows the setting is used. It forwards to the
   * server's own token endpoint.
   */
  static final String TOKEN_PATH = "/idp/token";
  private static final String SERVER_TOKEN_PATH = "/v1/oauth/tokens";

  /** One request as it reached the proxy; {@code form} is filled for token requests only. */
  record Seen(String method, String path, String authorization, Map<String, String> form) {}

  // Hop-by-hop or computed headers that must not be copied from one connection to the next.
  private static final Set<String> NOT_FORWARDED =
      Set.of("connection", "content-length", "expect", "host", "upgrade", "transfer-encoding",
          "keep-alive", "proxy-connection", "te", "trailer", "date");
  private static final Pattern ACCESS_TOKEN =
      Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"]+)\"");

  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private final HttpClient client =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private final String target;
  private final List<Seen> seen = new CopyOnWriteArrayList<>();
  private final List<String> issuedTokens = new CopyOnWriteArrayList<>();
  private volatile String requiredAuthorization;
  private volatile boolean requireIssuedToken;
  private volatile String requiredClientSecret;
  private boolean closed;

  private AuthCheckingProxy(String target) throws IOException {
    this.target = target;
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.setExecutor(executor);
    server.start();
  }

  /** Starts a proxy that forwards to {@code target}, such as {@code http://127.0.0.1:8181}. */
  static AuthCheckingProxy start(String target) throws IOException {
    return new AuthCheckingProxy(target);
  }

  /** The proxy's base URI on loopback. */
  String uri() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** Refuses catalog requests whose {@code Authorization} header is not {@code value}. */
  AuthCheckingProxy requireAuthorization(String value) {
    this.requiredAuthorization = value;
    return this;
  }

  /** Refuses catalog requests without a {@code Bearer} token that the token endpoint issued. */
  AuthCheckingProxy requireIssuedToken() {
    this.requireIssuedToken = true;
    return this;
  }

  /** Refuses token requests whose {@code client_secret} is not {@code secret}. */
  AuthCheckingProxy requireClientSecret(String secret) {
    this.requiredClientSecret = secret;
    return this;
  }

  /** Every request so far, in arrival order. */
  List<Seen> requests() {
    return List.copyOf(seen);
  }

  /** The access tokens the token endpoint issued so far. */
  List<String> issuedTokens() {
    return List.copyOf(issuedTokens);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      URI uri = exchange.getRequestURI();
      String path = uri.getRawPath();
      String authorization = exchange.getRequestHeaders().getFirst("Authorization");
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      boolean tokenRequest = path.equals(TOKEN_PATH);
      Map<String, String> form = tokenRequest ? parseForm(body) : Map.of();
      seen.add(new Seen(method, path, authorization, form));

      if (tokenRequest) {
        String secret = requiredClientSecret;
        if (secret != null && !secret.equals(form.get("client_secret"))) {
          respond(exchange, 401, "{\"error\":\"invalid_client\","
              + "\"error_description\":\"Client authentication failed\"}");
          return;
        }
      } else if (!authorized(authorization)) {
        respond(exchange, 401,
            "{\"error\":{\"message\":\"Not authorized: missing or wrong credentials\","
                + "\"type\":\"NotAuthorizedException\",\"code\":401}}");
        return;
      }

      String targetPath = tokenRequest ? SERVER_TOKEN_PATH : path;
      HttpResponse<byte[]> response =
          forward(exchange, method, targetPath, uri.getRawQuery(), body);
      if (tokenRequest && response.statusCode() == 200) {
        Matcher m = ACCESS_TOKEN.matcher(decoded(response));
        if (m.find()) {
          issuedTokens.add(m.group(1));
        }
      }
      response.headers().map().forEach((name, values) -> {
        if (!NOT_FORWARDED.contains(name.toLowerCase(Locale.ROOT))) {
          exchange.getResponseHeaders().put(name, values);
        }
      });
      byte[] out = response.body();
      boolean noBody = method.equals("HEAD") || out.length == 0;
      exchange.sendResponseHeaders(response.statusCode(), noBody ? -1 : out.length);
      if (!noBody) {
        try (OutputStream os = exchange.getResponseBody()) {
          os.write(out);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private boolean authorized(String authorization) {
    String required = requiredAuthorization;
    if (required != null && !required.equals(authorization)) {
      return false;
    }
    if (requireIssuedToken) {
      return authorization != null
          && authorization.startsWith("Bearer ")
          && issuedTokens.contains(authorization.substring("Bearer ".length()));
    }
    return true;
  }

  private HttpResponse<byte[]> forward(
      HttpExchange exchange, String method, String path, String rawQuery, byte[] body)
      throws IOException, InterruptedException {
    String query = rawQuery == null ? "" : "?" + rawQuery;
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(target + path + query))
            .timeout(Duration.ofSeconds(30))
            .method(method, body.length == 0
                ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body));
    exchange.getRequestHeaders().forEach((name, values) -> {
      if (!NOT_FORWARDED.contains(name.toLowerCase(Locale.ROOT))) {
        values.forEach(v -> request.header(name, v));
      }
    });
    return client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  /** The response body as text, gunzipped if the server compressed it. */
  private static String decoded(HttpResponse<byte[]> response) throws IOException {
    byte[] body = response.body();
    if (response.headers().firstValue("Content-Encoding").orElse("").equalsIgnoreCase("gzip")) {
      try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
        body = in.readAllBytes();
      }
    }
    return new String(body, StandardCharsets.UTF_8);
  }

  private static void respond(HttpExchange exchange, int status, String json) throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream os = exchange.getResponseBody()) {
      os.write(bytes);
    }
  }

  private static Map<String, String> parseForm(byte[] body) {
    Map<String, String> form = new LinkedHashMap<>();
    String text = new String(body, StandardCharsets.UTF_8);
    if (text.isEmpty()) {
      return form;
    }
    for (String pair : text.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      form.put(URLDecoder.decode(key, StandardCharsets.UTF_8),
          URLDecoder.decode(value, StandardCharsets.UTF_8));
    }
    return form;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.stop(0);
    executor.shutdownNow();
  }
}
