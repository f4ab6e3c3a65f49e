package io.crest.flight;

import io.crest.spi.Backoff;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The connection options of a Flight client source builder (TLS trust, client certificate,
 * credentials, reconnect backoff, call timeout) with their checks, turned into the {@link
 * ReadSettings} its readers share. Held by {@link FlightSource.Builder} and {@link
 * FlightSqlSource.Builder}; each setter checks its arguments and refuses a second setting, naming
 * the earlier one. Not thread-safe.
 */
final class ConnectionOptions {
  static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(100);
  static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);
  static final int DEFAULT_RECONNECT_ATTEMPTS = 10;
  static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofMinutes(1);

  private Duration initialBackoff;
  private Duration maxBackoff;
  private Integer maxReconnectAttempts;
  private Duration callTimeout;
  private Path trustedCertificatesPath;
  private byte[] trustedCertificates;
  private Path certificateChainPath;
  private byte[] certificateChain;
  private byte[] privateKey;
  private String user;
  private String password;
  private String bearerToken;

  void reconnectBackoff(Duration initial, Duration max) {
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(max, "max");
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("Cannot set reconnect backoff " + initial + " .. " + max
          + ": the initial delay must be positive and the maximum at least the initial delay");
    }
    if (initialBackoff != null) {
      throw new IllegalStateException("Cannot set reconnect backoff to " + initial + " .. " + max
          + ": already set to " + initialBackoff + " .. " + maxBackoff);
    }
    initialBackoff = initial;
    maxBackoff = max;
  }

  void maxReconnectAttempts(int attempts) {
    if (attempts < 0) {
      throw new IllegalArgumentException(
          "Cannot set max reconnect attempts to " + attempts + ": it must be 0 or more");
    }
    if (maxReconnectAttempts != null) {
      throw new IllegalStateException("Cannot set max reconnect attempts to " + attempts
          + ": already set to " + maxReconnectAttempts);
    }
    maxReconnectAttempts = attempts;
  }

  void callTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException(
          "Cannot set call timeout to " + timeout + ": it must be positive");
    }
    if (callTimeout != null) {
      throw new IllegalStateException(
          "Cannot set call timeout to " + timeout + ": already set to " + callTimeout);
    }
    callTimeout = timeout;
  }

  void trustedCertificates(Path pemFile) {
    Objects.requireNonNull(pemFile, "pemFile");
    if (trustedCertificatesPath != null) {
      throw new IllegalStateException("Cannot trust certificates in " + pemFile
          + ": already trusting " + trustedCertificatesPath);
    }
    trustedCertificates =
        FlightSource.Builder.readPem(pemFile, "trusted certificates", "CERTIFICATE");
    trustedCertificatesPath = pemFile;
  }

  void clientCertificate(Path certificateChainPem, Path privateKeyPem) {
    Objects.requireNonNull(certificateChainPem, "certificateChainPem");
    Objects.requireNonNull(privateKeyPem, "privateKeyPem");
    if (certificateChainPath != null) {
      throw new IllegalStateException("Cannot use client certificate " + certificateChainPem
          + ": already using " + certificateChainPath);
    }
    byte[] chain =
        FlightSource.Builder.readPem(certificateChainPem, "client certificate", "CERTIFICATE");
    privateKey = FlightSource.Builder.readPem(privateKeyPem, "client private key", "PRIVATE KEY");
    certificateChain = chain;
    certificateChainPath = certificateChainPem;
  }

  void basicAuth(String user, String password) {
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
    if (user.isEmpty() || user.contains(":")) {
      throw new IllegalArgumentException("Cannot use basic auth for user '" + user
          + "': the user must be non-empty and have no ':'");
    }
    checkNoCredentials("basic auth for user " + user);
    this.user = user;
    this.password = password;
  }

  void bearerToken(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isEmpty() || token.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(
          "Cannot use the bearer token: it is empty or has white space");
    }
    checkNoCredentials("a bearer token");
    this.bearerToken = token;
  }

  private void checkNoCredentials(String what) {
    if (user != null) {
      throw new IllegalStateException(
          "Cannot use " + what + ": basic auth for user " + user + " is already set");
    }
    if (bearerToken != null) {
      throw new IllegalStateException("Cannot use " + what + ": a bearer token is already set");
    }
  }

  /** Whether a TLS-only option (trusted certificates, client certificate) is set. */
  boolean tlsOptionsSet() {
    return trustedCertificates != null || certificateChain != null;
  }

  /** The settings the readers share, with {@code pollInterval} for polling readers. */
  ReadSettings settings(Duration pollInterval) {
    return settings(pollInterval, 1);
  }

  /** As {@link #settings(Duration)}, with at most {@code maxConcurrentStreams} read at once. */
  ReadSettings settings(Duration pollInterval, int maxConcurrentStreams) {
    return new ReadSettings(
        Backoff.of(
            initialBackoff != null ? initialBackoff : DEFAULT_INITIAL_BACKOFF,
            maxBackoff != null ? maxBackoff : DEFAULT_MAX_BACKOFF),
        maxReconnectAttempts != null ? maxReconnectAttempts : DEFAULT_RECONNECT_ATTEMPTS,
        pollInterval,
        callTimeout != null ? callTimeout : DEFAULT_CALL_TIMEOUT,
        maxConcurrentStreams,
        new ClientSecurity(
            trustedCertificates, certificateChain, privateKey, user, password, bearerToken));
  }

  /** The basic-auth user, or null. */
  String user() {
    return user;
  }

  /** Whether a bearer token is set (never the token). */
  boolean hasBearerToken() {
    return bearerToken != null;
  }

  /** The auth kind, never a secret. */
  String authDescription() {
    return user != null ? "basic user " + user : bearerToken != null ? "bearer ***" : "none";
  }
}
