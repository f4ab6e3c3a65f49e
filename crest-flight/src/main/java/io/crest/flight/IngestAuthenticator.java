package io.crest.flight;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.flight.CallHeaders;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.auth2.Auth2Constants;
import org.apache.arrow.flight.auth2.AuthUtilities;
import org.apache.arrow.flight.auth2.BasicCallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.CallHeaderAuthenticator;
import org.apache.arrow.flight.auth2.GeneratedBearerTokenAuthenticator;

/**
 * Authenticates the calls of a {@link FlightIngestServer}: a configured bearer token, or basic
 * credentials of a configured user (answered with a generated bearer token that later calls
 * send). Compares secrets in constant time and never puts one in a message. The peer identity of
 * a call is the user name, or {@code bearer-token-<n>} for the n-th configured token (from 1), so
 * that grants can name either without the token itself. Immutable.
 */
final class IngestAuthenticator implements CallHeaderAuthenticator {
  static final String TOKEN_IDENTITY_PREFIX = "bearer-token-";

  private final Map<String, byte[]> passwords;
  private final List<byte[]> tokens;
  private final CallHeaderAuthenticator basic;

  IngestAuthenticator(Map<String, String> passwords, List<String> tokens) {
    this.passwords = new HashMap<>();
    passwords.forEach((user, password) ->
        this.passwords.put(user, password.getBytes(StandardCharsets.UTF_8)));
    this.tokens = tokens.stream().map(t -> t.getBytes(StandardCharsets.UTF_8)).toList();
    this.basic = passwords.isEmpty() ? null
        : new GeneratedBearerTokenAuthenticator(new BasicCallHeaderAuthenticator(this::validate));
  }

  /** The peer identity of the {@code index}-th configured token (from 0). */
  static String tokenIdentity(int index) {
    return TOKEN_IDENTITY_PREFIX + (index + 1);
  }

  /** Words a peer identity for messages: {@code user x} or {@code bearer token #n}. */
  static String describe(String identity) {
    if (identity.startsWith(TOKEN_IDENTITY_PREFIX)) {
      return "bearer token #" + identity.substring(TOKEN_IDENTITY_PREFIX.length());
    }
    return "user " + identity;
  }

  private AuthResult validate(String user, String password) {
    byte[] expected = passwords.get(user);
    if (expected == null
        || !MessageDigest.isEqual(expected, password.getBytes(StandardCharsets.UTF_8))) {
      throw CallStatus.UNAUTHENTICATED
          .withDescription("Unknown user or wrong password for user " + user)
          .toRuntimeException();
    }
    return () -> user;
  }

  @Override
  public AuthResult authenticate(CallHeaders headers) {
    String bearer = AuthUtilities.getValueFromAuthHeader(headers, Auth2Constants.BEARER_PREFIX);
    if (bearer != null) {
      byte[] presented = bearer.getBytes(StandardCharsets.UTF_8);
      // Every token is compared, so that the time taken does not tell which one matched.
      String matched = null;
      int i = 0;
      for (byte[] token : tokens) {
        if (MessageDigest.isEqual(token, presented)) {
          matched = tokenIdentity(i);
        }
        i++;
      }
      if (matched != null) {
        String identity = matched;
        return () -> identity;
      }
    }
    if (basic != null) {
      return basic.authenticate(headers);
    }
    throw CallStatus.UNAUTHENTICATED
        .withDescription(bearer == null ? "No bearer token" : "Unknown bearer token")
        .toRuntimeException();
  }
}
