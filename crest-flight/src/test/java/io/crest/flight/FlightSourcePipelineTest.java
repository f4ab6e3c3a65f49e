package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs a {@link FlightSource} inside the real pipeline engine, which owns and closes the source.
 * The root allocator is closed after the server, so a batch left open fails the test.
 */
@Timeout(120)
class FlightSourcePipelineTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private BufferAllocator allocator;
  private TestFlightServer server;

  @BeforeEach
  void startServer() throws Exception {
    allocator = new RootAllocator();
    server = TestFlightServer.start(allocator);
  }

  @AfterEach
  void closeServer() {
    try {
      server.close();
    } finally {
      allocator.close();
    }
  }

  @Test
  void pipeline_restartedAfterTheViewGrew_commitsOnlyTheNewRows() throws Exception {
    MemorySink sink = new MemorySink();
    server.serve("orders", TestFlightServer.rows(2, 4));
    run(sink);
    assertThat(sink.committedIds()).isEqualTo(ids(0, 8));
    assertThat(lastPositions(sink)).isEqualTo(Map.of("orders", SourcePosition.ofOffset(8)));

    // The append-only view grew to 15 rows, now sent in batches of 5: the committed offset 8
    // falls inside the second batch.
    server.serve("orders", TestFlightServer.rows(3, 5));
    run(sink);

    assertThat(sink.committedIds()).isEqualTo(ids(0, 15));
    assertThat(lastPositions(sink)).isEqualTo(Map.of("orders", SourcePosition.ofOffset(15)));
  }

  @Test
  void pipeline_viewShorterThanCommittedOffset_failsWithSourceException() throws Exception {
    MemorySink sink = new MemorySink();
    server.serve("orders", TestFlightServer.rows(3, 4));
    run(sink);

    server.serve("orders", TestFlightServer.rows(1, 4));
    Pipeline pipeline = pipeline(sink);
    pipeline.start();

    assertThatThrownBy(() -> pipeline.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .cause()
        .isInstanceOf(SourceException.class)
        .hasMessage(
            "Cannot resume stream orders at row 12: the server sent only 4 rows (the view was"
                + " reset or is not append-only; read it again from the start under a new"
                + " pipeline id)");
    assertThatThrownBy(pipeline::close).isInstanceOf(PipelineFailedException.class);
    assertThat(sink.committedIds()).isEqualTo(ids(0, 12));
  }

  @Test
  void pipeline_liveStreamKeptOpen_commitsWhileTheCallIsOpenAndStopsCleanly() throws Exception {
    CountDownLatch more = new CountDownLatch(1);
    CountDownLatch end = new CountDownLatch(1);
    server.serve("orders", TestFlightServer.live(2, 3, 2, more, end));
    MemorySink sink = new MemorySink();
    try {
      // A commit per batch: every batch is committed while the call is still open.
      Pipeline pipeline = Pipeline.from(
              FlightSource.builder(allocator).endpoint(server.uri(), "orders").build())
          .id("orders-to-memory").batch(BatchPolicy.rows(2)).to(sink);
      pipeline.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 4);
      more.countDown();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 10);

      pipeline.stop();

      assertThat(pipeline.state()).isEqualTo(Pipeline.State.STOPPED);
      assertThat(sink.committedIds()).isEqualTo(ids(0, 10));
      assertThat(lastPositions(sink)).isEqualTo(Map.of("orders", SourcePosition.ofOffset(10)));
    } finally {
      end.countDown();
    }
  }

  @Test
  void pipeline_incrementalStreamRestarted_commitsEveryRowOnceWithoutReplaying()
      throws Exception {
    TestFlightServer.IncrementalView view = new TestFlightServer.IncrementalView("orders", 3);
    server.serveIncremental(view.grow(7));
    MemorySink sink = new MemorySink();
    try (Pipeline pipeline = incrementalPipeline(sink)) {
      pipeline.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 7);
    }
    view.grow(5);

    try (Pipeline pipeline = incrementalPipeline(sink)) {
      pipeline.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 12);
    }

    assertThat(sink.committedIds()).isEqualTo(ids(0, 12));
    assertThat(lastPositions(sink)).isEqualTo(Map.of("orders", SourcePosition.of("12")));
    // The restarted pipeline asked for what follows the committed position, never from the start.
    assertThat(view.positionsAsked.stream().filter(String::isEmpty)).hasSize(1);
    assertThat(view.positionsAsked).contains("7");
  }

  @Test
  void pipeline_streamCutTwiceByUnavailable_commitsEveryRowOnce() throws Exception {
    server.serve("orders", TestFlightServer.firstCalls(
        2,
        TestFlightServer.rowsThenError(2, 3, CallStatus.UNAVAILABLE.withDescription("failover")),
        TestFlightServer.rows(5, 3)));
    MemorySink sink = new MemorySink();
    FlightSource source = FlightSource.builder(allocator)
        .endpoint(server.uri(), "orders")
        .reconnectBackoff(Duration.ofMillis(1), Duration.ofMillis(5))
        .build();

    try (Pipeline pipeline =
        Pipeline.from(source).id("orders-to-memory").batch(BatchPolicy.rows(4)).to(sink)) {
      pipeline.start();
      assertThat(pipeline.awaitIdle(WAIT)).isTrue();
    }

    assertThat(server.calls("orders")).isEqualTo(3);
    assertThat(sink.committedIds()).isEqualTo(ids(0, 15));
    assertThat(lastPositions(sink)).isEqualTo(Map.of("orders", SourcePosition.ofOffset(15)));
  }

  private Pipeline incrementalPipeline(MemorySink sink) {
    FlightSource source = FlightSource.builder(allocator)
        .incremental("orders", server.uri(), "orders")
        .pollInterval(Duration.ofMillis(5))
        .build();
    return Pipeline.from(source).id("orders-to-memory").batch(BatchPolicy.rows(1)).to(sink);
  }

  private void run(MemorySink sink) throws InterruptedException {
    try (Pipeline pipeline = pipeline(sink)) {
      pipeline.start();
      assertThat(pipeline.awaitIdle(WAIT)).isTrue();
    }
  }

  private Pipeline pipeline(MemorySink sink) {
    FlightSource source = FlightSource.builder(allocator).endpoint(server.uri(), "orders").build();
    return Pipeline.from(source).id("orders-to-memory").batch(BatchPolicy.rows(3)).to(sink);
  }

  private static Map<String, SourcePosition> lastPositions(MemorySink sink) {
    List<MemorySink.Commit> commits = sink.commits();
    return commits.get(commits.size() - 1).positions();
  }

  private static List<Long> ids(long from, long to) {
    return LongStream.range(from, to).boxed().collect(Collectors.toList());
  }
}
