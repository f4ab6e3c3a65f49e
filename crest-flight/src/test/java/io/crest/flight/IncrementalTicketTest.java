package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.apache.arrow.flight.Ticket;
import org.junit.jupiter.api.Test;

class IncrementalTicketTest {

  @Test
  void toTicket_fromStart_hasAnEmptyPositionLine() {
    Ticket ticket = IncrementalTicket.fromStart("orders").toTicket();

    assertThat(new String(ticket.getBytes(), StandardCharsets.UTF_8))
        .isEqualTo("crest:v1\norders\n");
  }

  @Test
  void parse_roundTripsViewAndPosition() {
    IncrementalTicket ticket = IncrementalTicket.after("orders", "lsn:0/16B3748");

    IncrementalTicket parsed = IncrementalTicket.parse(ticket.toTicket()).orElseThrow();

    assertThat(parsed).isEqualTo(ticket);
    assertThat(parsed.view()).isEqualTo("orders");
    assertThat(parsed.position()).contains("lsn:0/16B3748");
    assertThat(IncrementalTicket.parse(IncrementalTicket.fromStart("o").toTicket()).orElseThrow()
        .position()).isEmpty();
  }

  @Test
  void parse_otherTickets_areNotIncremental() {
    assertThat(IncrementalTicket.parse(new Ticket(bytes("orders")))).isEmpty();
    assertThat(IncrementalTicket.parse(new Ticket(bytes("crest:v1\n")))).isEmpty();
    assertThat(IncrementalTicket.parse(new Ticket(bytes("crest:v2\norders\n")))).isEmpty();
  }

  @Test
  void fromStart_viewWithLineFeed_isRejected() {
    assertThatThrownBy(() -> IncrementalTicket.fromStart("a\nb"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot make an incremental ticket for view 'a\nb': a view name must be"
            + " non-empty and have no line feed");
  }

  @Test
  void after_emptyPosition_isRejected() {
    assertThatThrownBy(() -> IncrementalTicket.after("orders", ""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot make an incremental ticket for view orders: the position is empty"
            + " (use fromStart(view) to read from the beginning)");
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
