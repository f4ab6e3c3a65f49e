package io.crest.flight;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.flight.Ticket;

/**
 * One configured stream: its id, the server it is read from and the ticket that names it.
 * Immutable; the ticket bytes are a private copy.
 */
final class StreamSpec {
  private final String id;
  private final String uri;
  private final Location location;
  private final byte[] ticket;

  private StreamSpec(String id, String uri, Location location, byte[] ticket) {
    this.id = id;
    this.uri = uri;
    this.location = location;
    this.ticket = ticket;
  }

  /**
   * Checks and describes a stream.
   *
   * @throws IllegalArgumentException if {@code uri} is not a {@code grpc://host:port} or {@code
   *     grpc+tcp://host:port} URI, or {@code ticket} is empty
   */
  static StreamSpec of(String id, String uri, byte[] ticket) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(ticket, "ticket");
    if (id.isBlank()) {
      throw new IllegalArgumentException(
          "Cannot add stream '" + id + "' at " + uri + ": the stream id is blank");
    }
    if (ticket.length == 0) {
      throw new IllegalArgumentException(
          "Cannot add stream '" + id + "' at " + uri + ": the ticket is empty");
    }
    return new StreamSpec(id, uri, parseLocation(uri), ticket.clone());
  }

  /**
   * Parses a server URI into the location of the server, so that two spellings of one server
   * ({@code grpc://} and {@code grpc+tcp://}) share a client.
   */
  static Location parseLocation(String text) {
    URI uri;
    try {
      uri = new URI(text);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(
          "Cannot use Flight server URI '" + text + "': " + e.getMessage()
              + " (expected grpc://host:port)", e);
    }
    String scheme = uri.getScheme();
    if (!LocationSchemes.GRPC.equals(scheme) && !LocationSchemes.GRPC_INSECURE.equals(scheme)) {
      throw new IllegalArgumentException(
          "Cannot use Flight server URI '" + text + "': scheme " + scheme
              + " is not supported (use grpc://host:port or grpc+tcp://host:port)");
    }
    if (uri.getHost() == null || uri.getPort() < 0) {
      throw new IllegalArgumentException(
          "Cannot use Flight server URI '" + text + "': it has no host and port"
              + " (expected grpc://host:port)");
    }
    boolean hasPath = uri.getRawPath() != null && !uri.getRawPath().isEmpty()
        && !uri.getRawPath().equals("/");
    if (hasPath || uri.getRawQuery() != null || uri.getRawFragment() != null
        || uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "Cannot use Flight server URI '" + text + "': it has parts other than host and port"
              + " (expected grpc://host:port; the view goes in the ticket)");
    }
    return Location.forGrpcInsecure(uri.getHost(), uri.getPort());
  }

  /** The stream id, stable across restarts; the key of its position. */
  String id() {
    return id;
  }

  /** The server URI as configured, for messages. */
  String uri() {
    return uri;
  }

  /** The server's location, normalised so that equal servers compare equal. */
  Location location() {
    return location;
  }

  /** A new ticket for a {@code DoGet} of the stream. */
  Ticket ticket() {
    return new Ticket(ticket.clone());
  }

  @Override
  public String toString() {
    return id + "@" + uri;
  }
}
