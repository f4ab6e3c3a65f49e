package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchEvent;
import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Discovered streams that end and that the server stops listing leave the committed state, while
 * restarts read nothing twice: a real pipeline over an in-process Flight server on loopback whose
 * endpoint list changes between runs.
 */
@Timeout(120)
class DiscoveryPositionsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final FlightDescriptor SALES = FlightDescriptor.path("sales");

  private BufferAllocator allocator;
  private TestFlightServer server;
  private final AtomicReference<List<String>> listed = new AtomicReference<>(List.of());

  @BeforeEach
  void startServer() throws Exception {
    allocator = new RootAllocator();
    server = TestFlightServer.start(allocator)
        .serve("e1", TestFlightServer.rows(2, 4))
        .serve("e2", TestFlightServer.rows(1, 4))
        .serve("e3", TestFlightServer.rows(1, 5));
    server.describe(SALES, descriptor -> new FlightInfo(
        TestFlightServer.ROWS_SCHEMA, descriptor,
        listed.get().stream()
            .map(t -> new FlightEndpoint(new Ticket(t.getBytes(StandardCharsets.UTF_8))))
            .toList(),
        -1, -1));
  }

  @AfterEach
  void closeServer() {
    try {
      server.close();
    } finally {
      allocator.close();
    }
  }

  /** Runs the pipeline to idle; returns the streams it received batches of. */
  private Set<String> run(MemorySink sink, Pipeline.State[] end, long[] rowsIn)
      throws InterruptedException {
    Set<String> streams = new ConcurrentSkipListSet<>();
    FlightSource source = FlightSource.builder(allocator).discover("d", server.uri(), SALES)
        .build();
    Pipeline pipeline = Pipeline.from(source).id("discovered").batch(BatchPolicy.rows(3))
        .listener(new PipelineListener() {
          @Override
          public void onBatch(BatchEvent event) {
            streams.add(event.stream());
          }
        })
        .to(sink);
    try (pipeline) {
      pipeline.start();
      assertThat(pipeline.awaitIdle(WAIT)).isTrue();
      rowsIn[0] = pipeline.stats().rowsIn();
    }
    end[0] = pipeline.state();
    return streams;
  }

  private static Map<String, SourcePosition> lastPositions(MemorySink sink) {
    List<MemorySink.Commit> commits = sink.commits();
    return commits.get(commits.size() - 1).positions();
  }

  @Test
  void endedStreamsTheServerNoLongerLists_leaveTheState_andRestartsReadNothingTwice()
      throws Exception {
    MemorySink sink = new MemorySink();
    Pipeline.State[] end = new Pipeline.State[1];
    long[] rowsIn = new long[1];

    listed.set(List.of("e1", "e2"));
    assertThat(run(sink, end, rowsIn)).containsExactly("d/e1", "d/e2");
    assertThat(rowsIn[0]).isEqualTo(12);
    assertThat(lastPositions(sink)).isEqualTo(
        Map.of("d/e1", SourcePosition.ofOffset(8), "d/e2", SourcePosition.ofOffset(4)));

    // e1 ended and is no longer listed; e2 ended and is still listed; e3 is new.
    listed.set(List.of("e2", "e3"));
    assertThat(run(sink, end, rowsIn)).containsExactly("d/e3");
    assertThat(rowsIn[0]).isEqualTo(5);
    assertThat(lastPositions(sink)).isEqualTo(
        Map.of("d/e2", SourcePosition.ofOffset(4), "d/e3", SourcePosition.ofOffset(5)));

    // Only e3 is listed: no rows at all, and the state shrinks by a commit without files.
    listed.set(List.of("e3"));
    assertThat(run(sink, end, rowsIn)).isEmpty();
    assertThat(rowsIn[0]).isZero();
    assertThat(end[0]).isEqualTo(Pipeline.State.STOPPED);
    MemorySink.Commit last = sink.commits().get(sink.commits().size() - 1);
    assertThat(last.ids()).isEmpty();
    assertThat(last.positions()).isEqualTo(Map.of("d/e3", SourcePosition.ofOffset(5)));

    // Every row of every stream was committed exactly once: 8 + 4 + 5.
    assertThat(sink.committedIds()).hasSize(17);
  }
}
