package io.crest.flight;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;

/**
 * The security settings of a {@link FlightIngestServer.Builder}: TLS certificate and key, client
 * CA, users, bearer tokens, per-table grants and the explicit opt-out of authentication; checks
 * them as a whole (the secure default) and applies them to Flight's server builder. Setters
 * validate at once. Not thread-safe: used by one builder. {@link #toString} shows no secret.
 */
final class IngestSecurity {
  private Path certificatePath;
  private byte[] certificateChain;
  private byte[] privateKey;
  private Path clientCaPath;
  private byte[] clientCa;
  private final Map<String, String> users = new LinkedHashMap<>();
  private final List<String> tokens = new ArrayList<>();
  // Peer identity -> the tables it may put to; identities not here may put to every table.
  private final Map<String, Set<String>> grants = new LinkedHashMap<>();
  private boolean allowUnauthenticated;

  void certificate(Path certificateChainPem, Path privateKeyPem) {
    Objects.requireNonNull(certificateChainPem, "certificateChainPem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
    if (certificatePath != null) {
      throw new IllegalStateException("Cannot use certificate " + certificateChainPem
          + ": already using " + certificatePath);
    }
    byte[] chain = FlightSource.Builder.readPem(
        certificateChainPem, "server certificate", "CERTIFICATE");
    privateKey = FlightSource.Builder.readPem(privateKeyPem, "server private key", "PRIVATE KEY");
    certificateChain = chain;
    certificatePath = certificateChainPem;
  }

  void requireClientCertificates(Path trustedCaPem) {
    Objects.requireNonNull(trustedCaPem, "trustedCaPem");
    if (clientCaPath != null) {
      throw new IllegalStateException("Cannot require client certificates signed by "
          + trustedCaPem + ": already requiring ones signed by " + clientCaPath);
    }
    clientCa = FlightSource.Builder.readPem(trustedCaPem, "client CA", "CERTIFICATE");
    clientCaPath = trustedCaPem;
  }

  /** Adds a user, limited to {@code tables} unless it is null. */
  void user(String user, String password, Set<String> tables) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
    Set<String> granted = tables == null ? null : granted(tables, "user " + user);
    if (user.isEmpty() || user.contains(":") || password.isEmpty()
        || user.startsWith(IngestAuthenticator.TOKEN_IDENTITY_PREFIX)) {
      throw new IllegalArgumentException("Cannot add user '" + user + "': the user must be"
          + " non-empty without ':', not start with 'bearer-token-', and the password"
          + " non-empty");
    }
    if (users.containsKey(user)) {
      throw new IllegalStateException("Cannot add user " + user + ": it was added before");
    }
    users.put(user, password);
    if (granted != null) {
      grants.put(user, granted);
    }
  }

  /** Adds a bearer token, limited to {@code tables} unless it is null. */
  void bearerToken(String token, Set<String> tables) {
    Objects.requireNonNull(token, "token");
    Set<String> granted = tables == null ? null
        : granted(tables, "bearer token #" + (tokens.size() + 1));
    if (token.isEmpty() || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(
          "Cannot accept the bearer token: it is empty or has white space");
    }
    if (tokens.contains(token)) {
      throw new IllegalStateException("Cannot accept the bearer token: it was added before");
    }
    tokens.add(token);
    if (granted != null) {
      grants.put(IngestAuthenticator.tokenIdentity(tokens.size() - 1), granted);
    }
  }

  private static Set<String> granted(Set<String> tables, String who) {
    if (tables.isEmpty()) {
      throw new IllegalArgumentException("Cannot limit " + who + " to no table (leave the"
          + " tables out to allow every table, or do not add it)");
    }
    return Set.copyOf(tables);
  }

  void allowUnauthenticated() {
    if (allowUnauthenticated) {
      throw new IllegalStateException(
          "Cannot allow unauthenticated puts: allowUnauthenticated() was called before");
    }
    allowUnauthenticated = true;
  }

  boolean unauthenticatedAllowed() {
    return allowUnauthenticated;
  }

  /** The tables each limited peer identity may put to. */
  Map<String, Set<String>> grants() {
    return Map.copyOf(grants);
  }

  /**
   * Checks the settings as a whole for a server at {@code location} serving {@code tables}.
   *
   * @throws IllegalStateException if TLS settings contradict the URI, credentials and {@code
   *     allowUnauthenticated()} were both given, a server beyond loopback has neither, or a grant
   *     names a table the server does not serve
   */
  void check(String uri, Location location, List<String> tables) {
    boolean tls = LocationSchemes.GRPC_TLS.equals(location.getUri().getScheme());
    if (tls && certificateChain == null) {
      throw new IllegalStateException("Cannot build FlightIngestServer at " + uri
          + ": a grpc+tls URI needs certificate(chain, key)");
    }
    if (!tls && certificateChain != null) {
      throw new IllegalStateException("Cannot build FlightIngestServer at " + uri
          + ": certificate " + certificatePath + " is set but the URI is plaintext (use"
          + " grpc+tls://)");
    }
    if (!tls && clientCa != null) {
      throw new IllegalStateException("Cannot build FlightIngestServer at " + uri
          + ": client certificates are required but the URI is plaintext (use grpc+tls://)");
    }
    boolean authenticated = !users.isEmpty() || !tokens.isEmpty() || clientCa != null;
    if (authenticated && allowUnauthenticated) {
      throw new IllegalStateException("Cannot build FlightIngestServer at " + uri
          + ": allowUnauthenticated() was called but users, bearer tokens or client"
          + " certificates are required too (choose one)");
    }
    if (!authenticated && !allowUnauthenticated && !isLoopback(location)) {
      throw new IllegalStateException("Cannot build FlightIngestServer at " + uri
          + ": it listens beyond loopback but requires no credentials, so anyone on the"
          + " network could write to its tables (add credentials with user(name, password),"
          + " bearerToken(token) or requireClientCertificates(ca), or call"
          + " allowUnauthenticated() to accept that risk)");
    }
    for (Map.Entry<String, Set<String>> grant : grants.entrySet()) {
      for (String table : grant.getValue()) {
        if (!tables.contains(table)) {
          throw new IllegalStateException("Cannot build FlightIngestServer at " + uri + ": "
              + IngestAuthenticator.describe(grant.getKey()) + " is granted table " + table
              + ", which the server does not ingest (add it with table(name))");
        }
      }
    }
  }

  /** Whether the server listens on a loopback address only (an unresolvable name is not). */
  private static boolean isLoopback(Location location) {
    String host = location.getUri().getHost();
    try {
      return host != null && InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** Applies TLS, mutual TLS and authentication to Flight's server builder. */
  void configure(FlightServer.Builder server) throws IOException {
    if (certificateChain != null) {
      server.useTls(new ByteArrayInputStream(certificateChain),
          new ByteArrayInputStream(privateKey));
    }
    if (clientCa != null) {
      server.useMTlsClientVerification(new ByteArrayInputStream(clientCa));
    }
    if (!users.isEmpty() || !tokens.isEmpty()) {
      server.headerAuthenticator(new IngestAuthenticator(users, tokens));
    }
  }

  @Override
  public String toString() {
    return "users=" + users.keySet() + ", bearerTokens=" + tokens.size();
  }
}
