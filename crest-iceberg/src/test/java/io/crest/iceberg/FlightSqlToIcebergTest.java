package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.SourceException;
import io.crest.flight.FlightSqlSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.apache.iceberg.data.Record;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link FlightSqlSource} against a real Flight SQL server on loopback ({@link SqlTableServer}),
 * through a pipeline into an Iceberg table that is read back with Iceberg's generic reader: every
 * answer spans several endpoints, rows share watermark values across polls and restarts, and the
 * ids in the table must be exactly the expected ones, each once.
 */
class FlightSqlToIcebergTest extends SinkTestBase {
  private static final String INCREMENTAL = "SELECT * FROM events WHERE ts >= ? ORDER BY ts, id";
  private static final Duration POLL = Duration.ofMillis(20);

  private SqlTableServer server;

  @BeforeEach
  void startServer() throws Exception {
    // 3 rows per endpoint, 2 per batch: runs of equal ts cross batches and endpoints.
    server = new SqlTableServer(allocator, 3, 2);
  }

  @AfterEach
  void stopServer() throws Exception {
    server.close();
  }

  private FlightSqlSource.Builder source() {
    return FlightSqlSource.builder(allocator, server.uri())
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(20));
  }

  private Pipeline watching() {
    return Pipeline.from(source().query("events", INCREMENTAL).watermark("ts", 0).watch(POLL)
            .build())
        .id("events").batch(BatchPolicy.rows(1)).to(sink().build());
  }

  private void runToEnd(FlightSqlSource source) throws Exception {
    try (Pipeline p = Pipeline.from(source).id("events").batch(BatchPolicy.rows(1))
        .to(sink().build())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private List<Long> ids() throws Exception {
    if (!catalog.tableExists(TABLE)) {
      return List.of();
    }
    List<Long> ids = new ArrayList<>();
    for (Record r : rows()) {
      ids.add((Long) r.getField("id"));
    }
    return ids;
  }

  private void awaitIds(long... expected) {
    await().atMost(WAIT).untilAsserted(() ->
        assertThat(ids()).containsExactlyInAnyOrder(LongStream.of(expected).boxed()
            .toArray(Long[]::new)));
  }

  private void awaitPolls(int more) {
    int target = server.executions() + more;
    await().atMost(WAIT).until(() -> server.executions() >= target);
  }

  private String lastPosition() {
    return table().currentSnapshot().summary().get("crest.positions");
  }

  @Test
  void incremental_tiesAcrossPollsAndARestart_landExactlyOnce() throws Exception {
    server.append(1, 5, 2, 5);
    try (Pipeline p = watching()) {
      p.start();
      awaitPolls(3);
      server.append(3, 5); // joins the run at ts 5 in a later poll
      awaitPolls(3);
      assertThat(ids()).as("the run at the newest ts waits for a greater one").isEmpty();
      server.append(4, 6);
      awaitIds(1, 2, 3);
      awaitPolls(3);
      assertThat(ids()).containsExactlyInAnyOrder(1L, 2L, 3L);
    }
    assertThat(lastPosition()).contains("5/3");

    server.append(5, 6, 6, 7); // 6 joins the run at ts 6 while the pipeline is down
    try (Pipeline p = watching()) {
      p.start();
      awaitIds(1, 2, 3, 4, 5);
      server.append(7, 7, 8, 8, 9, 7);
      awaitIds(1, 2, 3, 4, 5, 6, 7, 9);
      awaitPolls(3);
    }
    assertThat(ids()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 9L);
    assertThat(lastPosition()).contains("7/3");
  }

  @Test
  void incremental_resumeInsideARunOfEqualValues_readsOnlyTheRowsAfterIt() throws Exception {
    server.append(1, 5, 2, 5);
    // A bounded read emits its last run: the position is ts 5 with 2 rows read.
    runToEnd(source().query("events", INCREMENTAL).watermark("ts", 0).build());
    assertThat(ids()).containsExactlyInAnyOrder(1L, 2L);
    assertThat(lastPosition()).contains("5/2");

    // Ordered by (ts, id), the 2 rows read are the first 2 at ts 5; 3 and 4 follow them there.
    server.append(3, 5, 4, 5, 5, 6, 6, 6, 7, 9);
    try (Pipeline p = watching()) {
      p.start();
      awaitIds(1, 2, 3, 4, 5, 6);
      awaitPolls(3);
    }
    assertThat(ids()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L);
    assertThat(lastPosition()).contains("6/2");
  }

  @Test
  void incremental_transientFailureOfALaterEndpoint_isRetriedWithoutLossOrDuplicates()
      throws Exception {
    for (long id = 1; id <= 9; id++) {
      server.append(id, id * 10);
    }
    server.failLaterEndpoints(2);
    try (Pipeline p = watching()) {
      p.start();
      awaitIds(1, 2, 3, 4, 5, 6, 7, 8); // 9 has the newest ts: held
      awaitPolls(2);
    }
    assertThat(server.failures()).isEqualTo(2);
    assertThat(ids()).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
  }

  @Test
  void snapshot_readsEveryEndpoint_andARestartReadsOnlyTheRowsAdded() throws Exception {
    for (long id = 1; id <= 10; id++) {
      server.append(id, 100);
    }
    runToEnd(source().query("events", "SELECT * FROM events ORDER BY id").build());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(LongStream.rangeClosed(1, 10).boxed()
        .toList());
    assertThat(lastPosition()).contains("10");

    server.append(11, 100, 12, 100);
    runToEnd(source().query("events", "SELECT * FROM events ORDER BY id").build());
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(LongStream.rangeClosed(1, 12).boxed()
        .toList());
  }

  @Test
  void bearerToken_isSentWithEveryCall_andAWrongOneFailsWithUnauthenticated() throws Exception {
    try (SqlTableServer secured = new SqlTableServer(allocator, 2, 2, "s3cret")) {
      secured.append(1, 10, 2, 20, 3, 30);
      runToEnd(FlightSqlSource.builder(allocator, secured.uri()).bearerToken("s3cret")
          .query("events", INCREMENTAL).watermark("ts", 0).build());
      assertThat(ids()).containsExactlyInAnyOrder(1L, 2L, 3L);

      Pipeline p = Pipeline.from(FlightSqlSource.builder(allocator, secured.uri())
              .bearerToken("wrong").query("events", INCREMENTAL).watermark("ts", 0).build())
          .id("events-2").to(sink().build());
      p.start();
      Throwable failure = catchThrowable(() -> p.awaitIdle(WAIT));
      catchThrowable(p::close);
      assertThat(failure).isInstanceOf(PipelineFailedException.class);
      assertThat(failure.getCause()).isInstanceOf(SourceException.class)
          .hasMessageContaining("UNAUTHENTICATED").hasMessageContaining("bearerToken(token)");
      assertThat(((SourceException) failure.getCause()).stream()).contains("events");
    }
  }
}
