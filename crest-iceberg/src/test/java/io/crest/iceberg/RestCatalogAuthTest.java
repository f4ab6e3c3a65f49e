package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.testing.GeneratedSource;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.NotAuthorizedException;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * Iceberg's own REST client settings for authentication ({@code token}, {@code credential}, {@code
 * oauth2-server-uri}, {@code scope}) pass through {@link IcebergSink#builder()}'s catalog
 * properties unchanged, and their secret values never show in Crest's logs, exceptions or {@code
 * toString}. An {@link AuthCheckingProxy} in front of the REST server process sees what the server
 * would see and refuses what an authenticating catalog would refuse.
 */
class RestCatalogAuthTest {
  private static final Duration WAIT = Duration.ofMinutes(1);
  private static final String TOKEN = "tok-4d1f0c-crest-bearer-secret";
  private static final String WRONG_TOKEN = "tok-9b7e22-crest-wrong-secret";
  private static final String CLIENT_ID = "crest-client";
  private static final String CLIENT_SECRET = "cs-5a8e31-crest-client-secret";

  @TempDir static Path serverDir;
  private static RestCatalogServer server;

  private BufferAllocator allocator;
  private AuthCheckingProxy proxy;
  private String namespace;

  @BeforeAll
  static void startServer() throws IOException {
    server = RestCatalogServer.start(serverDir);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void open(TestInfo test) throws IOException {
    allocator = new RootAllocator();
    proxy = AuthCheckingProxy.start(server.uri());
    namespace = test.getTestMethod().orElseThrow().getName().toLowerCase(Locale.ROOT);
  }

  @AfterEach
  void close() {
    proxy.close();
    allocator.close(); // fails the test if any buffer leaked
  }

  private Map<String, String> viaProxy(Map<String, String> auth) {
    Map<String, String> props =
        new LinkedHashMap<>(RestCatalogServer.catalogProperties(proxy.uri()));
    props.putAll(auth);
    return props;
  }

  private Map<String, String> bearer(String token) {
    return viaProxy(Map.of("token", token));
  }

  private Map<String, String> clientCredentials(String secret) {
    return viaProxy(Map.of(
        "credential", CLIENT_ID + ":" + secret,
        "oauth2-server-uri", proxy.uri() + AuthCheckingProxy.TOKEN_PATH,
        "scope", "catalog"));
  }

  private IcebergSink sink(Map<String, String> props) {
    return IcebergSink.builder().catalog(props).table(namespace + ".events").build();
  }

  private Pipeline pipeline(IcebergSink sink) {
    return Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, 500))
        .id("auth")
        .batch(BatchPolicy.rows(200))
        .to(sink);
  }

  private List<Long> readIds(Map<String, String> props) throws IOException {
    List<Long> ids = new ArrayList<>();
    try (OpenCatalog c =
            new OpenCatalog(IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, props));
        CloseableIterable<Record> rows =
            IcebergGenerics.read(c.loadTable(TableIdentifier.of(namespace, "events"))).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("id")));
    }
    return ids;
  }

  /** Runs a pipeline that must fail, and returns its failure, closing it either way. */
  private static Throwable runAndFail(Pipeline p) {
    Throwable failure = catchThrowable(() -> {
      p.start();
      p.awaitIdle(WAIT);
    });
    Throwable onClose = catchThrowable(p::close);
    return failure != null ? failure : onClose;
  }

  /** {@code t} and its causes, outermost first. */
  private static List<Throwable> causes(Throwable t) {
    assertThat(t).as("failure").isNotNull();
    List<Throwable> chain = new ArrayList<>();
    for (Throwable c = t; c != null && !chain.contains(c); c = c.getCause()) {
      chain.add(c);
    }
    return chain;
  }

  private static String stackTrace(Throwable t) {
    StringWriter out = new StringWriter();
    t.printStackTrace(new PrintWriter(out));
    return out.toString();
  }

  @Test
  void bearerToken_reachesTheServer_asAnAuthorizationHeader_onEveryRequest() throws Exception {
    proxy.requireAuthorization("Bearer " + TOKEN);
    IcebergSink sink = sink(bearer(TOKEN));
    String logs;
    try (CapturedOutput output = CapturedOutput.start()) {
      try (Pipeline p = pipeline(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertThat(readIds(bearer(TOKEN))).containsExactlyInAnyOrderElementsOf(range(0, 500));
      logs = output.text();
    }

    List<AuthCheckingProxy.Seen> requests = proxy.requests();
    assertThat(requests)
        .extracting(AuthCheckingProxy.Seen::authorization)
        .isNotEmpty()
        .containsOnly("Bearer " + TOKEN);
    String tablePath = "/namespaces/" + namespace + "/tables/events";
    assertThat(requests)
        .extracting(s -> s.method() + " " + s.path())
        .contains("GET /v1/config")
        .anyMatch(r -> r.startsWith("POST ") && r.endsWith("/namespaces"))
        .anyMatch(r -> r.startsWith("POST ") && r.endsWith("/namespaces/" + namespace + "/tables"))
        .anyMatch(r -> r.startsWith("POST ") && r.endsWith(tablePath)); // the commits
    assertThat(logs).contains("Committed").doesNotContain(TOKEN);
    assertThat(sink.toString()).doesNotContain(TOKEN);
  }

  @Test
  void clientCredentials_areExchangedAtTheTokenEndpoint_andOnlyTheIssuedTokenReachesTheCatalog()
      throws Exception {
    proxy.requireClientSecret(CLIENT_SECRET).requireIssuedToken();
    IcebergSink sink = sink(clientCredentials(CLIENT_SECRET));
    String logs;
    try (CapturedOutput output = CapturedOutput.start()) {
      try (Pipeline p = pipeline(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertThat(readIds(clientCredentials(CLIENT_SECRET)))
          .containsExactlyInAnyOrderElementsOf(range(0, 500));
      logs = output.text();
    }

    List<AuthCheckingProxy.Seen> tokenRequests = proxy.requests().stream()
        .filter(s -> s.path().equals(AuthCheckingProxy.TOKEN_PATH)).toList();
    assertThat(tokenRequests).isNotEmpty().allSatisfy(s -> assertThat(s.form())
        .containsEntry("grant_type", "client_credentials")
        .containsEntry("client_id", CLIENT_ID)
        .containsEntry("client_secret", CLIENT_SECRET)
        .containsEntry("scope", "catalog"));
    List<AuthCheckingProxy.Seen> catalogRequests = proxy.requests().stream()
        .filter(s -> !s.path().equals(AuthCheckingProxy.TOKEN_PATH)).toList();
    assertThat(proxy.issuedTokens()).isNotEmpty();
    assertThat(catalogRequests)
        .isNotEmpty()
        .allSatisfy(s -> assertThat(s.authorization())
            .isIn(proxy.issuedTokens().stream().map(t -> "Bearer " + t).toList())
            .doesNotContain(CLIENT_SECRET));
    assertThat(logs).contains("Committed").doesNotContain(CLIENT_SECRET);
    assertThat(sink.toString()).doesNotContain(CLIENT_SECRET);
  }

  @Test
  void wrongToken_isRefusedAsNotAuthorized_andNeitherTokenShowsInTheErrorOrTheLogs() {
    proxy.requireAuthorization("Bearer " + TOKEN);
    Throwable failure;
    String logs;
    try (CapturedOutput output = CapturedOutput.start()) {
      failure = runAndFail(pipeline(sink(bearer(WRONG_TOKEN))));
      logs = output.text();
    }

    assertThat(causes(failure)).hasAtLeastOneElementOfType(NotAuthorizedException.class);
    assertThat(stackTrace(failure)).contains("Not authorized")
        .doesNotContain(WRONG_TOKEN).doesNotContain(TOKEN);
    assertThat(logs).doesNotContain(WRONG_TOKEN).doesNotContain(TOKEN);
    assertThat(proxy.requests()).extracting(AuthCheckingProxy.Seen::authorization)
        .containsOnly("Bearer " + WRONG_TOKEN); // sent, and refused
  }

  @Test
  void wrongClientSecret_isRefusedAtTheTokenEndpoint_andTheSecretShowsInNoErrorOrLog() {
    proxy.requireClientSecret(CLIENT_SECRET).requireIssuedToken();
    String wrongSecret = "cs-0e6d44-crest-wrong-client-secret";
    Throwable failure;
    String logs;
    try (CapturedOutput output = CapturedOutput.start()) {
      failure = runAndFail(pipeline(sink(clientCredentials(wrongSecret))));
      logs = output.text();
    }

    assertThat(causes(failure)).hasAtLeastOneElementOfType(NotAuthorizedException.class);
    assertThat(stackTrace(failure)).contains("invalid_client")
        .doesNotContain(wrongSecret).doesNotContain(CLIENT_SECRET);
    assertThat(logs).doesNotContain(wrongSecret).doesNotContain(CLIENT_SECRET);
    assertThat(proxy.requests()).isNotEmpty()
        .allSatisfy(s -> assertThat(s.path()).isEqualTo(AuthCheckingProxy.TOKEN_PATH));
  }

  @Test
  void sinkDescriptions_andBuilderErrors_nameTheCatalog_butNoSecret() {
    Map<String, String> props = viaProxy(Map.of(
        "token", TOKEN,
        "credential", CLIENT_ID + ":" + CLIENT_SECRET,
        "oauth2-server-uri", proxy.uri() + AuthCheckingProxy.TOKEN_PATH,
        "scope", "catalog"));
    IcebergSink sink = sink(props);
    assertThat(sink.toString())
        .startsWith("IcebergSink[" + namespace + ".events in crest (rest)")
        .doesNotContain(TOKEN)
        .doesNotContain(CLIENT_SECRET);

    assertThatThrownBy(() -> IcebergSink.builder().catalog(props).localWarehouse(serverDir))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot use catalog local warehouse")
        .hasMessageNotContaining(TOKEN)
        .hasMessageNotContaining(CLIENT_SECRET);
    Map<String, String> untyped = new LinkedHashMap<>(props);
    untyped.remove("type");
    assertThatThrownBy(() -> IcebergSink.builder().catalog(untyped))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("neither 'type' nor 'catalog-impl'")
        .hasMessageNotContaining(TOKEN)
        .hasMessageNotContaining(CLIENT_SECRET);
  }

  private static List<Long> range(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }
}
