package io.crest.flight;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Objects;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.LocationSchemes;
import org.apache.arrow.flight.Ticket;

/**
 * One stream to read: its id, the servers it can be read from (tried in order, the next one
 * after a failure), how it is read and what names it. Immutable; the ticket bytes are a private
 * copy.
 */
final class StreamSpec {
  /** How a stream is read. */
  enum Mode {
    /**
     * {@code DoGet} of a fixed ticket whose stream the server replays from its start on every call
     * (and may keep open and extend); positions are row offsets, rows up to the position are
     * dropped on the client.
     */
    REPLAY,
    /**
     * {@code DoGet} of an {@link IncrementalTicket} carrying the last position; the server sends
     * only what follows it and tags each batch with the position after it.
     */
    INCREMENTAL
  }

  /** A server that serves the stream: its location and how to name it in messages. */
  static final class Endpoint {
    final Location location;
    final String display;

    Endpoint(Location location, String display) {
      this.location = location;
      this.display = display;
    }

    @Override
    public String toString() {
      return display;
    }
  }

  private final String id;
  private final List<Endpoint> endpoints;
  private final Mode mode;
  private final byte[] ticket;
  private final String view;

  private StreamSpec(String id, List<Endpoint> endpoints, Mode mode, byte[] ticket, String view) {
    this.id = id;
    this.endpoints = List.copyOf(endpoints);
    this.mode = mode;
    this.ticket = ticket;
    this.view = view;
  }

  /**
   * A stream read by replaying {@code ticket} on the server at {@code uri}.
   *
   * @throws IllegalArgumentException if {@code id} is blank, {@code uri} is not a supported
   *     Flight URI, or {@code ticket} is empty
   */
  static StreamSpec replay(String id, String uri, byte[] ticket) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(ticket, "ticket");
    checkId(id, uri);
    if (ticket.length == 0) {
      throw new IllegalArgumentException(
          "Cannot add stream '" + id + "' at " + uri + ": the ticket is empty");
    }
    return new StreamSpec(
        id, List.of(new Endpoint(parseLocation(uri), uri)), Mode.REPLAY, ticket.clone(), null);
  }

  /**
   * A stream read incrementally from view {@code view} of the server at {@code uri}.
   *
   * @throws IllegalArgumentException if {@code id} is blank, {@code uri} is not a supported
   *     Flight URI, or {@code view} is empty or has a line feed
   */
  static StreamSpec incremental(String id, String uri, String view) {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(uri, "uri");
    Objects.requireNonNull(view, "view");
    checkId(id, uri);
    IncrementalTicket.fromStart(view); // checks the view
    return new StreamSpec(
        id, List.of(new Endpoint(parseLocation(uri), uri)), Mode.INCREMENTAL, null, view);
  }

  /**
   * A stream found by discovery: incremental if its ticket follows the {@link IncrementalTicket}
   * convention, replayed otherwise.
   */
  static StreamSpec discovered(String id, List<Endpoint> endpoints, byte[] ticket) {
    return IncrementalTicket.parse(ticket)
        .map(t -> new StreamSpec(id, endpoints, Mode.INCREMENTAL, null, t.view()))
        .orElseGet(() -> new StreamSpec(id, endpoints, Mode.REPLAY, ticket.clone(), null));
  }

  private static void checkId(String id, String uri) {
    if (id.isBlank()) {
      throw new IllegalArgumentException(
          "Cannot add stream '" + id + "' at " + uri + ": the stream id is blank");
    }
  }

  /**
   * Parses a server URI into the location of the server, so that two spellings of one server
   * ({@code grpc://} and {@code grpc+tcp://}) share a client.
   *
   * @throws IllegalArgumentException if {@code text} is not {@code grpc://host:port}, {@code
   *     grpc+tcp://host:port} or {@code grpc+tls://host:port}
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
    if (!LocationSchemes.GRPC.equals(scheme) && !LocationSchemes.GRPC_INSECURE.equals(scheme)
        && !LocationSchemes.GRPC_TLS.equals(scheme)) {
      throw new IllegalArgumentException(
          "Cannot use Flight server URI '" + text + "': scheme " + scheme
              + " is not supported (use grpc://host:port, grpc+tcp://host:port or"
              + " grpc+tls://host:port)");
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
    return LocationSchemes.GRPC_TLS.equals(scheme)
        ? Location.forGrpcTls(uri.getHost(), uri.getPort())
        : Location.forGrpcInsecure(uri.getHost(), uri.getPort());
  }

  /** The stream id, stable across restarts; the key of its position. */
  String id() {
    return id;
  }

  /** The first server's URI as configured or discovered, for messages. */
  String uri() {
    return endpoints.get(0).display;
  }

  /** The servers of the stream, in the order to try them. Never empty. */
  List<Endpoint> endpoints() {
    return endpoints;
  }

  Mode mode() {
    return mode;
  }

  /** A new ticket for a {@code DoGet} of a replayed stream. */
  Ticket ticket() {
    return new Ticket(ticket.clone());
  }

  /** The ticket of an incremental read after {@code position} ({@code null}: from the start). */
  Ticket ticketAfter(String position) {
    return (position == null
            ? IncrementalTicket.fromStart(view)
            : IncrementalTicket.after(view, position))
        .toTicket();
  }

  @Override
  public String toString() {
    return id + "@" + uri();
  }
}
