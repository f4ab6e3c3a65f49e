package io.crest.flight;

import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.flight.auth2.BasicAuthCredentialWriter;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.auth2.ClientBearerHeaderHandler;
import org.apache.arrow.flight.auth2.ClientIncomingAuthHeaderMiddleware;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.apache.arrow.memory.BufferAllocator;

/**
 * How a reader's clients protect and identify themselves: the TLS trust and client certificate
 * (PEM bytes read when configured) and either basic-auth credentials (exchanged for a bearer token
 * in a Flight handshake) or a bearer token sent with every call. Immutable; its {@link #toString}
 * never shows a secret.
 */
final class ClientSecurity {
  private final byte[] trustedCertificates;
  private final byte[] certificateChain;
  private final byte[] privateKey;
  private final String user;
  private final String password;
  private final String bearerToken;

  ClientSecurity(
      byte[] trustedCertificates,
      byte[] certificateChain,
      byte[] privateKey,
      String user,
      String password,
      String bearerToken) {
    this.trustedCertificates = trustedCertificates;
    this.certificateChain = certificateChain;
    this.privateKey = privateKey;
    this.user = user;
    this.password = password;
    this.bearerToken = bearerToken;
  }

  /** A connected client for {@code location}, after the handshake if basic auth is configured. */
  Connection connect(BufferAllocator allocator, Location location, CallOption timeout) {
    FlightClient.Builder builder = FlightClient.builder(allocator, location);
    if (LocationSchemes.GRPC_TLS.equals(location.getUri().getScheme())) {
      if (trustedCertificates != null) {
        builder.trustedCertificates(new ByteArrayInputStream(trustedCertificates));
      }
      if (certificateChain != null) {
        builder.clientCertificate(
            new ByteArrayInputStream(certificateChain), new ByteArrayInputStream(privateKey));
      }
    }
    ClientIncomingAuthHeaderMiddleware.Factory tokens = null;
    if (user != null) {
      tokens = new ClientIncomingAuthHeaderMiddleware.Factory(new ClientBearerHeaderHandler());
      builder.intercept(tokens);
    }
    FlightClient client = builder.build();
    try {
      List<CallOption> options = new ArrayList<>();
      if (user != null) {
        CredentialCallOption basic =
            new CredentialCallOption(new BasicAuthCredentialWriter(user, password));
        client.handshake(basic, timeout);
        CredentialCallOption bearer = tokens.getCredentialCallOption();
        // A server that answers the handshake without a token wants the basic header every time.
        options.add(bearer != null ? bearer : basic);
      } else if (bearerToken != null) {
        options.add(new CredentialCallOption(new BearerCredentialWriter(bearerToken)));
      }
      return new Connection(client, options);
    } catch (RuntimeException | Error e) {
      ClientPool.closeUninterruptibly(client);
      throw e;
    }
  }

  /** A client and the call options that carry its credentials. */
  static final class Connection {
    final FlightClient client;
    final List<CallOption> credentials;

    Connection(FlightClient client, List<CallOption> credentials) {
      this.client = client;
      this.credentials = List.copyOf(credentials);
    }
  }

  @Override
  public String toString() {
    return "ClientSecurity[tls trust " + (trustedCertificates != null ? "custom" : "default")
        + ", client certificate " + (certificateChain != null ? "set" : "none")
        + ", auth "
        + (user != null ? "basic user " + user : bearerToken != null ? "bearer" : "none")
        + "]";
  }
}
