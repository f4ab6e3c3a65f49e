package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.SourceException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.auth2.BasicCallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.CallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.GeneratedBearerTokenAuthenticator;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, mutual TLS, basic-auth handshakes and bearer tokens against real TLS Flight servers on
 * loopback, with certificates generated for each test.
 */
@Timeout(120)
class FlightSourceSecurityTest extends FlightTestSupport {
  private static final String PASSWORD = "s3cret-Pa55";
  private static final String TOKEN = "token-7f3a9c";

  @TempDir Path dir;
  private TestCertificates certificates;

  @BeforeEach
  void generateCertificates() throws Exception {
    certificates = TestCertificates.generate(dir, "crest");
  }

  @Test
  void tls_serverSignedByTrustedCertificates_isRead() throws Exception {
    TestFlightServer server = tlsServer(builder -> {});
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(certificates.caCertificate));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(server.uri()).startsWith("grpc+tls://");
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
  }

  @Test
  void tls_untrustedServerCertificate_failsFastSayingSo() throws Exception {
    TestCertificates other = TestCertificates.generate(dir, "other");
    TestFlightServer server = tlsServer(builder -> {});
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(other.caCertificate)
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith("Cannot read stream orders from " + server.uri()
              + ": UNAVAILABLE");
          assertThat(e.getMessage()).endsWith("(TLS handshake failed: the server's certificate is"
              + " not trusted; pass the CA that signed it with trustedCertificates(path))");
          assertThat(e.status()).contains("UNAVAILABLE");
        });
    assertThat(source.reconnects()).isZero();
    assertThat(server.calls("orders")).isZero();
  }

  @Test
  void mutualTls_clientCertificateSignedByTheServersCa_isRead() throws Exception {
    TestFlightServer server = tlsServer(builder -> mutualTls(builder));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(certificates.caCertificate)
        .clientCertificate(certificates.clientCertificate, certificates.clientKey));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
  }

  @Test
  void mutualTls_withoutClientCertificate_failsFastNamingTheClientCertificate() throws Exception {
    TestFlightServer server = tlsServer(builder -> mutualTls(builder));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(certificates.caCertificate)
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).startsWith("Cannot read stream orders from " + server.uri());
          assertThat(e.getMessage()).contains("TLS handshake failed");
          assertThat(e.getMessage()).endsWith("if the server requires mutual TLS, check the client"
              + " certificate given with clientCertificate(chain, key))");
        });
    assertThat(source.reconnects()).isZero();
  }

  @Test
  void basicAuth_handshakeThenBearerToken_isRead() throws Exception {
    TestFlightServer server = tlsServer(builder -> builder.headerAuthenticator(basicAuth()));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(certificates.caCertificate)
        .basicAuth("crest", PASSWORD));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.failures()).isEmpty();
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
  }

  @Test
  void basicAuth_wrongPassword_failsFastWithUnauthenticatedAndNoSecret() throws Exception {
    TestFlightServer server = tlsServer(builder -> builder.headerAuthenticator(basicAuth()));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .trustedCertificates(certificates.caCertificate)
        .basicAuth("crest", "wrong-" + PASSWORD)
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures()).singleElement()
        .isInstanceOfSatisfying(SourceException.class, e -> {
          assertThat(e.getMessage()).isEqualTo("Cannot read stream orders from " + server.uri()
              + ": UNAUTHENTICATED: unknown user or wrong password (the server rejected the"
              + " credentials; check the user and password given with basicAuth(user, password)"
              + " or the token given with bearerToken(token))");
          assertThat(e.status()).contains("UNAUTHENTICATED");
        });
    assertThat(source.reconnects()).isZero();
    assertThat(server.calls("orders")).isZero();
  }

  @Test
  void bearerToken_sentOnEveryCall_isRead() throws Exception {
    TestFlightServer server = server(Location.forGrpcInsecure("127.0.0.1", 0),
        builder -> builder.headerAuthenticator(staticToken()));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .bearerToken(TOKEN));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> context.completions() == 1);
    assertThat(context.rows("orders")).isEqualTo(expectedRows(0, 6));
  }

  @Test
  void bearerToken_wrong_failsFastWithUnauthenticated() throws Exception {
    TestFlightServer server = server(Location.forGrpcInsecure("127.0.0.1", 0),
        builder -> builder.headerAuthenticator(staticToken()));
    FlightSource source = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .bearerToken("not-" + TOKEN)
        .reconnectBackoff(FAST, FAST));
    CollectingSourceContext context = CollectingSourceContext.create();

    source.start(context);

    waitAtMost().until(() -> !context.failures().isEmpty());
    assertThat(context.failures().get(0)).hasMessageStartingWith("Cannot read stream orders from "
        + server.uri() + ": UNAUTHENTICATED: bad token (the server rejected the credentials");
    assertThat(source.reconnects()).isZero();
  }

  @Test
  void build_tlsOptionsWithoutTlsStream_isRejected() {
    FlightSource.Builder builder = FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:1", "orders")
        .trustedCertificates(certificates.caCertificate);

    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightSource: TLS options (trustedCertificates or"
            + " clientCertificate) are set but no stream uses TLS (use grpc+tls://host:port"
            + " URIs)");
  }

  @Test
  void trustedCertificates_missingFile_isRejected() {
    Path missing = dir.resolve("missing.pem");

    assertThatThrownBy(() -> FlightSource.builder(allocator).trustedCertificates(missing))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot read trusted certificates from " + missing + ": ");
  }

  @Test
  void clientCertificate_keyFileWithoutPem_isRejected() throws Exception {
    Path notPem = Files.writeString(dir.resolve("key.txt"), "not a key");

    assertThatThrownBy(() -> FlightSource.builder(allocator)
            .clientCertificate(certificates.clientCertificate, notPem))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot read client private key from " + notPem + ": it holds no PEM PRIVATE"
            + " KEY block");
  }

  @Test
  void trustedCertificates_setTwice_isRejectedNamingTheFirst() {
    FlightSource.Builder builder =
        FlightSource.builder(allocator).trustedCertificates(certificates.caCertificate);

    assertThatThrownBy(() -> builder.trustedCertificates(certificates.serverCertificate))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot trust certificates in " + certificates.serverCertificate
            + ": already trusting " + certificates.caCertificate);
  }

  @Test
  void bearerTokenAfterBasicAuth_isRejectedWithoutTheSecrets() {
    FlightSource.Builder builder = FlightSource.builder(allocator).basicAuth("crest", PASSWORD);

    assertThatThrownBy(() -> builder.bearerToken(TOKEN))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot use a bearer token: basic auth for user crest is already set");
    assertThat(builder.toString()).doesNotContain(PASSWORD).contains("user=crest");
  }

  @Test
  void basicAuthAfterBearerToken_isRejected() {
    FlightSource.Builder builder = FlightSource.builder(allocator).bearerToken(TOKEN);

    assertThatThrownBy(() -> builder.basicAuth("crest", PASSWORD))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot use basic auth for user crest: a bearer token is already set");
    assertThat(builder.toString()).doesNotContain(TOKEN);
  }

  @Test
  void bearerToken_withWhiteSpace_isRejectedWithoutEchoingIt() {
    assertThatThrownBy(() -> FlightSource.builder(allocator).bearerToken("abc def"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use the bearer token: it is empty or has white space");
  }

  private TestFlightServer tlsServer(Consumer<FlightServer.Builder> more) throws Exception {
    return server(Location.forGrpcTls("127.0.0.1", 0), builder -> {
      try {
        // The builder reads the streams when the server is built, not now.
        builder.useTls(read(certificates.serverCertificate), read(certificates.serverKey));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      more.accept(builder);
    });
  }

  private TestFlightServer server(Location location, Consumer<FlightServer.Builder> options)
      throws Exception {
    TestFlightServer server = register(TestFlightServer.start(allocator, location, options));
    server.serve("orders", TestFlightServer.rows(2, 3));
    return server;
  }

  private void mutualTls(FlightServer.Builder builder) {
    try {
      builder.useMTlsClientVerification(read(certificates.caCertificate));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  static InputStream read(Path file) throws java.io.IOException {
    return new java.io.ByteArrayInputStream(Files.readAllBytes(file));
  }

  private static CallHeaderAuthenticator basicAuth() {
    return new GeneratedBearerTokenAuthenticator(new BasicCallHeaderAuthenticator(
        (user, password) -> {
          if (user.equals("crest") && password.equals(PASSWORD)) {
            return () -> user;
          }
          throw CallStatus.UNAUTHENTICATED.withDescription("unknown user or wrong password")
              .toRuntimeException();
        }));
  }

  private static CallHeaderAuthenticator staticToken() {
    return (CallHeaders headers) -> {
      String value = headers.get("authorization");
      if (("Bearer " + TOKEN).equals(value)) {
        return () -> "token-user";
      }
      throw CallStatus.UNAUTHENTICATED.withDescription(value == null ? "no token" : "bad token")
          .toRuntimeException();
    };
  }
}
