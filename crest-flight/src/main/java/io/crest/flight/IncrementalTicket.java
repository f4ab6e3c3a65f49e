package io.crest.flight;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import org.apache.arrow.flight.Ticket;

/**
 * The ticket of an incremental read: the view to read and the position after which the server
 * starts, so that a reader that comes back (after an end of stream, a lost connection or a
 * restart) receives only what is new. Both a Crest reader and a server implementing the
 * convention use this class; see {@code docs/flight-tickets.md} for the whole protocol.
 *
 * <p>Wire form: the UTF-8 bytes of {@code crest:v1 LF <view> LF <position>}, where the position is
 * empty for "from the beginning" and otherwise the text the server sent as the application
 * metadata of a batch ("the position after this batch"). The view must not contain a line feed;
 * the position is opaque to Crest.
 *
 * <p>Immutable and thread-safe.
 */
public final class IncrementalTicket {
  /** The first line of every incremental ticket. */
  public static final String PREFIX = "crest:v1";

  private final String view;
  private final String position;

  private IncrementalTicket(String view, String position) {
    this.view = view;
    this.position = position;
  }

  /**
   * Returns the ticket that reads {@code view} from its beginning.
   *
   * @throws IllegalArgumentException if {@code view} is empty or contains a line feed
   */
  public static IncrementalTicket fromStart(String view) {
    return new IncrementalTicket(checkView(view), null);
  }

  /**
   * Returns the ticket that reads {@code view} after {@code position}, a position the server sent.
   *
   * @throws IllegalArgumentException if {@code view} is empty or contains a line feed, or {@code
   *     position} is empty
   */
  public static IncrementalTicket after(String view, String position) {
    Objects.requireNonNull(position, "position");
    if (position.isEmpty()) {
      throw new IllegalArgumentException(
          "Cannot make an incremental ticket for view " + view + ": the position is empty (use"
              + " fromStart(view) to read from the beginning)");
    }
    return new IncrementalTicket(checkView(view), position);
  }

  /**
   * Reads an incremental ticket, or returns empty if {@code ticket} does not follow the
   * convention (it does not start with {@code crest:v1} and a line feed, or has no view).
   */
  public static Optional<IncrementalTicket> parse(Ticket ticket) {
    Objects.requireNonNull(ticket, "ticket");
    return parse(ticket.getBytes());
  }

  static Optional<IncrementalTicket> parse(byte[] bytes) {
    String text = new String(bytes, StandardCharsets.UTF_8);
    if (!text.startsWith(PREFIX + "\n")) {
      return Optional.empty();
    }
    String rest = text.substring(PREFIX.length() + 1);
    int lineEnd = rest.indexOf('\n');
    if (lineEnd <= 0) {
      return Optional.empty();
    }
    String view = rest.substring(0, lineEnd);
    String position = rest.substring(lineEnd + 1);
    return Optional.of(new IncrementalTicket(view, position.isEmpty() ? null : position));
  }

  private static String checkView(String view) {
    Objects.requireNonNull(view, "view");
    if (view.isEmpty() || view.indexOf('\n') >= 0) {
      throw new IllegalArgumentException(
          "Cannot make an incremental ticket for view '" + view + "': a view name must be"
              + " non-empty and have no line feed");
    }
    return view;
  }

  /** The view to read. */
  public String view() {
    return view;
  }

  /** The position after which to read, empty to read from the beginning. */
  public Optional<String> position() {
    return Optional.ofNullable(position);
  }

  /** The ticket with the same view after {@code position}. */
  public IncrementalTicket withPosition(String position) {
    return after(view, position);
  }

  /** The Flight ticket in wire form. */
  public Ticket toTicket() {
    String text = PREFIX + "\n" + view + "\n" + (position == null ? "" : position);
    return new Ticket(text.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof IncrementalTicket
        && ((IncrementalTicket) o).view.equals(view)
        && Objects.equals(((IncrementalTicket) o).position, position);
  }

  @Override
  public int hashCode() {
    return Objects.hash(view, position);
  }

  @Override
  public String toString() {
    return "IncrementalTicket[" + view + " after " + (position == null ? "start" : position) + "]";
  }
}
