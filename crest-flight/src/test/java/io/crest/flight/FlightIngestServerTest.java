package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.ValidationException;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink;
import io.crest.testing.TestBatches;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Push ingest with real Flight clients on loopback, into a real pipeline with a {@link MemorySink}:
 * acknowledgements after commits and dead letters, concurrent producers, back-pressure, and a failed
 * commit between put and acknowledgement ({@link FlightIngestCrashTest} kills the process instead).
 */
@Timeout(120)
class FlightIngestServerTest extends FlightTestSupport {
  private static final String TABLE = "shop.orders";
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String PASSWORD = "ingest-Pa55word";

  @Test
  void put_withProducerId_isAcknowledgedOnlyOnceCommitted() throws Exception {
    FlightIngestServer server = ingestServer();
    MemorySink sink = new MemorySink();
    Semaphore commits = new Semaphore(0);
    sink.gateCommits(commits);
    Pipeline pipeline = pipeline(server, sink, BatchPolicy.rows(3));
    FlightClient client = client(server);

    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 3, 3);
    await().atMost(WAIT).until(() -> pipeline.stats().rowsIn() == 9);

    assertThat(put.acks).isEmpty();
    assertThat(put.done).isNotDone();
    commits.release(100);
    put.done.get(30, TimeUnit.SECONDS);
    assertThat(put.acks).containsExactly("1", "2", "3");
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 3, 3));
    assertThat(sink.commits().get(sink.commits().size() - 1).positions())
        .isEqualTo(Map.of("p1", SourcePosition.ofOffset(3)));
    pipeline.stop();
  }

  @Test
  void put_unknownTable_failsWithNotFound() throws Exception {
    FlightIngestServer server = ingestServer();
    FlightClient client = client(server);

    TestProducer.Put put = TestProducer.start(client, allocator, "shop.refunds", "p1", 0, 1, 1, 1);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.NOT_FOUND);
          assertThat(e.status().description()).isEqualTo(
              "Cannot ingest into table shop.refunds: this server ingests only [shop.orders]");
        });
  }

  @Test
  void put_knownTableWithoutRunningPipeline_failsWithUnavailable() throws Exception {
    FlightIngestServer server = ingestServer();
    FlightClient client = client(server);

    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 1, 1);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAVAILABLE);
          assertThat(e.status().description()).isEqualTo("Cannot ingest into table shop.orders:"
              + " no pipeline is reading it now (retry later)");
        });
  }

  @Test
  void put_producerIdWithSlash_failsWithInvalidArgument() throws Exception {
    FlightIngestServer server = ingestServer();
    Pipeline pipeline = pipeline(server, new MemorySink(), BatchPolicy.rows(1));
    FlightClient client = client(server);

    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "a b", 0, 1, 1, 1);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.INVALID_ARGUMENT);
          assertThat(e.status().description()).isEqualTo("Cannot ingest into table shop.orders:"
              + " producer id 'a b' must be 1 to 128 of A-Z a-z 0-9 . _ : @ -");
        });
    pipeline.stop();
  }

  @Test
  void concurrentProducers_everyRowCommittedOnceAndEveryBatchAcknowledged() throws Exception {
    FlightIngestServer server = ingestServer();
    MemorySink sink = new MemorySink();
    Pipeline pipeline = pipeline(server, sink,
        BatchPolicy.rows(50).orEvery(Duration.ofMillis(20)));
    List<TestProducer.Put> puts = new ArrayList<>();
    List<Long> expected = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      FlightClient client = client(server);
      puts.add(TestProducer.start(client, allocator, TABLE, "producer-" + p, p * 1_000_000L,
          1, 20, 7));
      expected.addAll(TestProducer.ids(p * 1_000_000L, 1, 20, 7));
    }
    TestProducer.Put anonymous = TestProducer.start(
        client(server), allocator, TABLE, null, 9_000_000L, 1, 5, 3);
    expected.addAll(TestProducer.ids(9_000_000L, 1, 5, 3));

    for (TestProducer.Put put : puts) {
      put.done.get(30, TimeUnit.SECONDS);
      assertThat(put.acks).hasSize(20).startsWith("1", "2").endsWith("20");
    }
    anonymous.done.get(30, TimeUnit.SECONDS);

    assertThat(sink.committedIds()).containsExactlyInAnyOrderElementsOf(expected);
    Map<String, SourcePosition> last = sink.commits().get(sink.commits().size() - 1).positions();
    assertThat(last).containsEntry("producer-0", SourcePosition.ofOffset(20))
        .containsEntry("producer-3", SourcePosition.ofOffset(20))
        .containsEntry("~anonymous", SourcePosition.ofOffset(5));
    pipeline.stop();
  }

  @Test
  void commitFailsBetweenPutAndCommit_producerResendsToRestartedServer_everyRowExactlyOnce()
      throws Exception {
    MemorySink sink = new MemorySink();
    FlightIngestServer first = FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE).build();
    Pipeline before = Pipeline.from(first.source(TABLE)).id("ingest-orders")
        .batch(BatchPolicy.rows(2)).to(sink);
    before.start();
    FlightClient client = register(FlightClient.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", first.port())).build());
    TestProducer.Put committed = TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 2, 2);
    committed.done.get(30, TimeUnit.SECONDS);
    assertThat(committed.acks).containsExactly("1", "2");

    // The next commit fails: the pipeline fails before batches 3 and 4 are durable, and the put
    // learns it before anyone closes the pipeline.
    sink.failNextCommits(1);
    TestProducer.Put lost = TestProducer.start(client, allocator, TABLE, "p1", 0, 3, 4, 2);
    assertThatThrownBy(() -> lost.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          // Batch 4 was either emitted (then the failure reaches the waiting put) or refused by
          // the failed pipeline: either way the producer is told to re-send.
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAVAILABLE);
          assertThat(e.status().description()).satisfiesAnyOf(
              d -> assertThat(d).startsWith("Cannot acknowledge the batches put to table"
                  + " shop.orders: its pipeline failed before committing them (Cannot commit "),
              d -> assertThat(d).isEqualTo("Cannot ingest into table shop.orders: its pipeline"
                  + " is stopping (re-send every batch without an acknowledgement)"));
        });
    assertThat(before.failure()).isPresent();
    assertThatThrownBy(before::close).isInstanceOf(PipelineFailedException.class);
    assertThat(lost.acks).isEmpty();
    client.close();
    first.close();

    // The application restarts: a new server, a new pipeline with the same id. The producer
    // re-sends from batch 1, as if it had lost every acknowledgement.
    FlightIngestServer second = ingestServer();
    Pipeline after = pipeline(second, sink, BatchPolicy.rows(2));
    TestProducer.Put resent = TestProducer.start(
        client(second), allocator, TABLE, "p1", 0, 1, 4, 2);
    resent.done.get(30, TimeUnit.SECONDS);

    assertThat(resent.acks).containsExactly("1", "2", "3", "4");
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 4, 2));
    assertThat(sink.commits().get(sink.commits().size() - 1).positions())
        .isEqualTo(Map.of("p1", SourcePosition.ofOffset(4)));
    after.stop();
  }

  @Test
  void backPressure_sinkBehind_holdsTheProducerBack() throws Exception {
    FlightIngestServer server = ingestServer();
    CountDownLatch writes = new CountDownLatch(1);
    MemorySink sink = new MemorySink();
    Pipeline pipeline = smallBufferPipelineWritingAfter(writes, server, sink);
    int batches = 600;

    TestProducer.Put put = TestProducer.start(
        client(server), allocator, TABLE, "bulk", 0, 1, batches, 500);

    // The writer is stuck on its first batch: the producer cannot send everything.
    await().atMost(WAIT).until(() -> put.sent.get() > 10);
    await().during(Duration.ofMillis(500)).atMost(WAIT)
        .until(() -> put.sent.get() < batches && !put.done.isDone());
    writes.countDown();
    put.done.get(60, TimeUnit.SECONDS);
    assertThat(put.acks).hasSize(batches);
    assertThat(sink.committedIds()).hasSize(batches * 500);
  }

  @Test
  void put_batchTheSinkRejects_isAcknowledgedAsDeadLetteredWithoutAnyCommit(@TempDir Path dir)
      throws Exception {
    FlightIngestServer server = ingestServer();
    MemorySink sink = new MemorySink().onWrite(FlightIngestServerTest::rejectIdsFrom300);
    // No commit is due before the pipeline stops: only the dead letter can acknowledge the put.
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(BatchPolicy.rows(1_000_000)).deadLetter(dir.resolve("dead")).to(sink);
    register(pipeline::stop);
    pipeline.start();

    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 101,
        101, 3);

    put.done.get(30, TimeUnit.SECONDS);
    assertThat(sink.commits()).isEmpty();
    List<Path> files;
    try (Stream<Path> listing = Files.list(dir.resolve("dead"))) {
      files = listing.collect(Collectors.toList());
    }
    assertThat(files).hasSize(1);
    Path file = files.get(0);
    assertThat(put.acks).containsExactly("dead-letter " + file.getFileName() + " 101");
    try (ArrowFileReader reader =
        new ArrowFileReader(Files.newByteChannel(file), allocator)) {
      assertThat(reader.loadNextBatch()).isTrue();
      assertThat(TestBatches.ids(reader.getVectorSchemaRoot())).containsExactly(300L, 301L, 302L);
      assertThat(reader.getMetaData()).containsEntry("crest.stream", "p1")
          .containsEntry("crest.position", "101")
          .containsEntry("crest.reason", "Cannot write ids from 300: rejected by the test");
    }
  }

  @Test
  void put_withARejectedBatch_acknowledgesEveryBatchInOrderOnceDurable(@TempDir Path dir)
      throws Exception {
    FlightIngestServer server = ingestServer();
    MemorySink sink = new MemorySink().onWrite(FlightIngestServerTest::rejectIdsFrom300);
    Semaphore commits = new Semaphore(0);
    sink.gateCommits(commits);
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(BatchPolicy.rows(3)).deadLetter(dir).to(sink);
    register(pipeline::stop);
    resources.push(() -> commits.release(100)); // a failed assertion must not block the stop
    pipeline.start();

    // Batch 100 holds ids 297..299, batch 101 ids 300..302 (rejected), batch 102 ids 303..305.
    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 100,
        102, 3);
    await().atMost(WAIT).until(() -> pipeline.stats().deadLettered() == 1
        && pipeline.stats().rowsIn() == 6);

    // The dead letter is durable, but batch 100 before it waits for its commit: no ack yet.
    assertThat(put.acks).isEmpty();
    commits.release(100);
    put.done.get(30, TimeUnit.SECONDS);
    String deadLetter;
    try (Stream<Path> listing = Files.list(dir)) {
      deadLetter = listing.map(f -> f.getFileName().toString()).collect(Collectors.joining());
    }
    assertThat(put.acks).containsExactly("100", "dead-letter " + deadLetter + " 101", "102");
    assertThat(sink.committedIds()).containsExactly(297L, 298L, 299L, 303L, 304L, 305L);
    assertThat(sink.commits().get(sink.commits().size() - 1).positions())
        .isEqualTo(Map.of("p1", SourcePosition.ofOffset(102)));
  }

  @Test
  void commitFails_waitingPutFailsWithUnavailableAtOnce_notWhenThePipelineIsClosed()
      throws Exception {
    MemorySink sink = new MemorySink().failNextCommits(1);

    assertPutsFailWhileTheFailedPipelineIsOpen(sink, BatchPolicy.rows(3), 1, "(Cannot commit ");
    assertThat(sink.commits()).isEmpty();
  }

  @Test
  void writeFails_waitingPutFailsWithUnavailableAtOnce_notWhenThePipelineIsClosed()
      throws Exception {
    MemorySink sink = new MemorySink().onWrite(batch -> {
      if (TestBatches.ids(batch.root()).contains(3L)) {
        throw new IllegalStateException("disk full while writing ids from 3");
      }
    });

    assertPutsFailWhileTheFailedPipelineIsOpen(sink, BatchPolicy.rows(1_000_000), 2,
        "(disk full while writing ids from 3)");
    assertThat(sink.commits()).isEmpty();
  }

  @Test
  void commitFails_putKeptOpenByItsProducer_failsWithUnavailableAtOnce() throws Exception {
    FlightIngestServer server = ingestServer();
    MemorySink sink = new MemorySink().failNextCommits(1);
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(BatchPolicy.rows(3)).to(sink);
    pipeline.start();
    try {
      // The producer sends batch 1 and then nothing, without ending the put: the server's put
      // thread waits for its next message when the failure comes.
      TestProducer.Put put = TestProducer.startStayingOpen(client(server), allocator, TABLE,
          "p1", 0, 1, 1, 3);

      assertPipelineFailureReached(put, "(Cannot commit ");
      assertThat(pipeline.state()).isEqualTo(Pipeline.State.RUNNING);
    } finally {
      assertThatThrownBy(pipeline::close).isInstanceOf(PipelineFailedException.class);
    }
  }

  /**
   * Puts batches 1..{@code batches} of 3 rows into a pipeline that fails on them, and asserts that
   * the put, and a put after it, fail with {@code cause} while the pipeline is still open.
   */
  private void assertPutsFailWhileTheFailedPipelineIsOpen(
      MemorySink sink, BatchPolicy policy, long batches, String cause) throws Exception {
    FlightIngestServer server = ingestServer();
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(policy).to(sink);
    pipeline.start();
    try {
      TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1,
          batches, 3);

      // Long before anyone closes the pipeline, which stays open until the finally block.
      assertPipelineFailureReached(put, cause);
      assertThat(pipeline.state()).isEqualTo(Pipeline.State.RUNNING);
      assertThat(pipeline.failure()).isPresent();
      assertThat(put.acks).isEmpty();

      // A put that arrives after the failure is turned away at once too.
      TestProducer.Put later = TestProducer.start(client(server), allocator, TABLE, "p2", 0, 1,
          1, 3);
      assertPipelineFailureReached(later, cause);
    } finally {
      assertThatThrownBy(pipeline::close).isInstanceOf(PipelineFailedException.class);
    }
  }

  /** Asserts the put fails within seconds with the status that names table and failure. */
  private static void assertPipelineFailureReached(TestProducer.Put put, String cause) {
    assertThatThrownBy(() -> put.done.get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAVAILABLE);
          assertThat(e.status().description())
              .startsWith("Cannot acknowledge the batches put to table shop.orders: its pipeline"
                  + " failed before committing them ")
              .contains(cause)
              .endsWith("; re-send every batch without an acknowledgement once the pipeline"
                  + " runs again");
        });
  }

  @Test
  void backPressure_severalProducersAndASlowSink_everyPutWaitsAndNothingPilesUp()
      throws Exception {
    FlightIngestServer server = ingestServer();
    CountDownLatch writes = new CountDownLatch(1);
    MemorySink sink = new MemorySink();
    Pipeline pipeline = smallBufferPipelineWritingAfter(writes, server, sink);
    int batches = 400;
    List<TestProducer.Put> puts = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      puts.add(TestProducer.start(client(server), allocator, TABLE, "bulk-" + p,
          p * 1_000_000L, 1, batches, 500));
    }

    // About 14 MB are on offer; while the writer is stuck every producer stays held back, the
    // pipeline's buffer within its limit and the memory of the whole test (servers, clients)
    // small.
    await().atMost(WAIT).until(() -> puts.stream().allMatch(put -> put.sent.get() > 0));
    await().during(Duration.ofMillis(700)).atMost(WAIT).until(() ->
        puts.stream().allMatch(put -> put.sent.get() < batches && !put.done.isDone())
            && pipeline.stats().bufferedBytes() <= DataSize.kib(64).toBytes()
            && allocator.getAllocatedMemory() < 8L * 1024 * 1024);
    long sentWhileStuck = puts.stream().mapToLong(put -> put.sent.get()).sum();
    assertThat(sentWhileStuck).isLessThan(4L * batches / 2);
    writes.countDown();
    for (TestProducer.Put put : puts) {
      put.done.get(60, TimeUnit.SECONDS);
      assertThat(put.acks).hasSize(batches);
    }
    assertThat(sink.committedIds()).hasSize(4 * batches * 500).doesNotHaveDuplicates();
  }

  @Test
  void put_overMutualTlsWithBasicAuth_isAcknowledged(@TempDir Path dir) throws Exception {
    TestCertificates certificates = TestCertificates.generate(dir, "ingest");
    FlightIngestServer server = register(
        FlightIngestServer.builder(allocator, "grpc+tls://127.0.0.1:0")
            .table(TABLE)
            .certificate(certificates.serverCertificate, certificates.serverKey)
            .requireClientCertificates(certificates.caCertificate)
            .user("producer", PASSWORD)
            .build());
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(4));
    FlightClient client = tlsClient(server, certificates);
    CredentialCallOption token = client.authenticateBasicToken("producer", PASSWORD).orElseThrow();

    TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 2, 4, token);

    put.done.get(30, TimeUnit.SECONDS);
    assertThat(server.uri()).startsWith("grpc+tls://127.0.0.1:");
    assertThat(put.acks).containsExactly("1", "2");
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 2, 4));
  }

  @Test
  void put_wrongPassword_failsWithUnauthenticatedWithoutTheSecret(@TempDir Path dir)
      throws Exception {
    TestCertificates certificates = TestCertificates.generate(dir, "ingest");
    FlightIngestServer server = register(
        FlightIngestServer.builder(allocator, "grpc+tls://127.0.0.1:0")
            .table(TABLE)
            .certificate(certificates.serverCertificate, certificates.serverKey)
            .user("producer", PASSWORD)
            .bearerToken("static-token-1")
            .build());
    FlightClient client = tlsClient(server, certificates);

    assertThatThrownBy(() -> client.authenticateBasicToken("producer", "not-" + PASSWORD))
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAUTHENTICATED);
          assertThat(e.status().description())
              .isEqualTo("Unknown user or wrong password for user producer");
        });
    TestProducer.Put unauthenticated =
        TestProducer.start(client, allocator, TABLE, "p1", 0, 1, 1, 1);
    assertThatThrownBy(() -> unauthenticated.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e ->
            assertThat(e.status().code()).isEqualTo(FlightStatusCode.UNAUTHENTICATED));
  }

  @Test
  void put_withStaticBearerToken_reachesTheTable() throws Exception {
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE).bearerToken("static-token-1").build());
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(1));
    CredentialCallOption token =
        new CredentialCallOption(new BearerCredentialWriter("static-token-1"));

    TestProducer.Put put =
        TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1, 1, 3, token);

    put.done.get(30, TimeUnit.SECONDS);
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 1, 3));
  }

  @Test
  void close_whileAPipelineReads_failsItsPutsAndKeepsTheAllocatorUntilClosedAgain()
      throws Exception {
    FlightIngestServer server = FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE).build();
    MemorySink sink = new MemorySink();
    Semaphore commits = new Semaphore(0);
    sink.gateCommits(commits);
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(BatchPolicy.rows(1)).to(sink);
    pipeline.start();
    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1, 1, 2);
    await().atMost(WAIT).until(() -> pipeline.stats().rowsIn() == 2);

    assertThatThrownBy(server::close)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("completely: tables [shop.orders] are still read by pipelines (stop"
            + " those pipelines, then close the server again to release its allocator)");
    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e ->
            assertThat(e.status().code()).isIn(
                FlightStatusCode.UNAVAILABLE, FlightStatusCode.CANCELLED));
    commits.release(100);
    pipeline.stop();
    server.close();
    assertThat(allocator.getChildAllocators()).extracting(a -> a.getName())
        .doesNotContain("crest-flight-ingest-server");
  }

  @Test
  void put_schemaOtherThanTheTables_failsWithInvalidArgumentBeforeThePipeline()
      throws Exception {
    Schema table = new Schema(List.of(
        Field.notNullable("id", new ArrowType.Int(32, true)),
        Field.nullable("name", ArrowType.Utf8.INSTANCE)));
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE, table).build());
    MemorySink sink = new MemorySink();
    Pipeline pipeline = pipeline(server, sink, BatchPolicy.rows(1));

    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1, 2, 3);

    assertThatThrownBy(() -> put.done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(FlightRuntimeException.class, e -> {
          assertThat(e.status().code()).isEqualTo(FlightStatusCode.INVALID_ARGUMENT);
          assertThat(e.status().description()).isEqualTo("Cannot ingest the put of producer p1"
              + " to table shop.orders: its schema does not match the table's: field id is"
              + " Int(64, true), expected Int(32, true)");
        });
    assertThat(pipeline.state()).isEqualTo(Pipeline.State.RUNNING);
    assertThat(pipeline.stats().rowsIn()).isZero();
  }

  @Test
  void put_schemaOfTheTable_isAccepted() throws Exception {
    FlightIngestServer server = register(FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE, TestBatches.SCHEMA).build());
    MemorySink sink = new MemorySink();
    pipeline(server, sink, BatchPolicy.rows(1));

    TestProducer.Put put = TestProducer.start(client(server), allocator, TABLE, "p1", 0, 1, 2, 3);

    put.done.get(30, TimeUnit.SECONDS);
    assertThat(sink.committedIds()).isEqualTo(TestProducer.ids(0, 1, 2, 3));
  }

  @Test
  void source_tableNotServed_isRejected() throws Exception {
    FlightIngestServer server = ingestServer();

    assertThatThrownBy(() -> server.source("shop.refunds"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot make a source for table shop.refunds: the server was built for tables"
            + " [shop.orders] (add it with table(name))");
  }

  @Test
  void source_secondWhileTheFirstIsOpen_isRejected() throws Exception {
    FlightIngestServer server = ingestServer();
    Source first = register(server.source(TABLE));

    assertThatThrownBy(() -> server.source(TABLE))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot make a source for table shop.orders: flight-ingest[shop.orders] is"
            + " still open (close the pipeline that reads it first)");
    first.close();
    register(server.source(TABLE));
  }

  @Test
  void build_withoutTables_isRejected() {
    assertThatThrownBy(() -> FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightIngestServer at grpc://127.0.0.1:0: it has no tables (add"
            + " table(name))");
  }

  @Test
  void build_tlsUriWithoutCertificate_isRejected() {
    assertThatThrownBy(() -> FlightIngestServer.builder(allocator, "grpc+tls://127.0.0.1:0")
            .table(TABLE).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build FlightIngestServer at grpc+tls://127.0.0.1:0: a grpc+tls URI"
            + " needs certificate(chain, key)");
  }

  @Test
  void table_addedTwice_isRejected() {
    FlightIngestServer.Builder builder =
        FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0").table(TABLE);

    assertThatThrownBy(() -> builder.table(TABLE))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot add table shop.orders: it was added before");
  }

  @Test
  void builder_toString_hidesPasswordsAndTokens() {
    FlightIngestServer.Builder builder = FlightIngestServer.builder(allocator, "grpc://h:1")
        .table(TABLE).user("producer", "pw-123456").bearerToken("tok-987654");

    assertThat(builder.toString()).isEqualTo("FlightIngestServer.Builder[grpc://h:1,"
        + " tables=[shop.orders], users=[producer], bearerTokens=1]");
  }

  /**
   * A started pipeline with a 64 KiB buffer whose sink writes nothing until {@code writes} is
   * counted down (at the latest before the pipeline stops after the test).
   */
  private Pipeline smallBufferPipelineWritingAfter(
      CountDownLatch writes, FlightIngestServer server, MemorySink sink) {
    sink.onWrite(batch -> {
      try {
        writes.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .bufferLimit(DataSize.kib(64)).batch(BatchPolicy.rows(10_000)).to(sink);
    register(pipeline::stop);
    resources.push(writes::countDown); // runs before the pipeline stops if an assertion fails
    pipeline.start();
    return pipeline;
  }

  /** A write hook that rejects, like a sink's schema check, every batch with an id from 300 to 302. */
  private static void rejectIdsFrom300(SourceBatch batch) {
    if (TestBatches.ids(batch.root()).get(0) == 300L) {
      throw new ValidationException("Cannot write ids from 300: rejected by the test");
    }
  }

    private FlightIngestServer ingestServer() {
    return register(FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table(TABLE).build());
  }

  /** A started pipeline reading {@code server}'s table, stopped after the test. */
  private Pipeline pipeline(FlightIngestServer server, MemorySink sink, BatchPolicy policy) {
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("ingest-orders")
        .batch(policy).to(sink);
    register(pipeline::stop);
    pipeline.start();
    return pipeline;
  }

  private FlightClient tlsClient(FlightIngestServer server, TestCertificates certificates)
      throws Exception {
    return register(FlightClient.builder(
            allocator, Location.forGrpcTls("127.0.0.1", server.port()))
        .trustedCertificates(FlightSourceSecurityTest.read(certificates.caCertificate))
        .clientCertificate(FlightSourceSecurityTest.read(certificates.clientCertificate),
            FlightSourceSecurityTest.read(certificates.clientKey))
        .build());
  }

  private FlightClient client(FlightIngestServer server) {
    return register(FlightClient.builder(
        allocator, Location.forGrpcInsecure("127.0.0.1", server.port())).build());
  }
}
