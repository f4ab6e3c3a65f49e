package io.crest.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.BatchEvent;
import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.ValidationException;
import io.crest.testing.GeneratedSource;
import io.crest.testing.MemorySink;
import io.crest.testing.TestBatches;
import io.micrometer.core.instrument.search.RequiredSearch;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The meters of real pipelines (test source, in-memory sink). */
class CrestMetricsPipelineTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if a test leaked a buffer
  }

  private RequiredSearch meter(String name, Pipeline p) {
    return registry.get(name).tags("pipeline", p.id(), "table", "memory");
  }

  @Test
  void run_twoStreams_countsRowsBatchesBytesCommitsAndEndsWithoutLag() throws Exception {
    MemorySink sink = new MemorySink();
    GeneratedSource source =
        new GeneratedSource(allocator, 100).stream("a", 0, 1_000).stream("b", 10_000, 550);
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);
    try (Pipeline p =
        Pipeline.from(source).id("orders").batch(BatchPolicy.rows(300)).listener(metrics)
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();

      int commits = sink.commits().size();
      assertThat(commits).isGreaterThanOrEqualTo(5);
      assertThat(meter(CrestMetrics.RECORDS_WRITTEN, p).counter().count()).isEqualTo(1_550.0);
      assertThat(meter(CrestMetrics.BATCHES_COMMITTED, p).counter().count()).isEqualTo(commits);
      // MemorySink reports 8 bytes per row.
      assertThat(meter(CrestMetrics.BYTES_WRITTEN, p).counter().count()).isEqualTo(1_550.0 * 8);
      assertThat(meter(CrestMetrics.COMMIT_DURATION, p).timer().count()).isEqualTo(commits);
      assertThat(meter(CrestMetrics.RECORDS_PER_BATCH, p).summary().count()).isEqualTo(16);
      assertThat(meter(CrestMetrics.RECORDS_PER_BATCH, p).summary().totalAmount())
          .isEqualTo(1_550.0);
      assertThat(meter(CrestMetrics.RECORDS_PER_BATCH, p).summary().max()).isEqualTo(100.0);
      assertThat(meter(CrestMetrics.SOURCE_LAG, p).tag("stream", "a").gauge().value()).isZero();
      assertThat(meter(CrestMetrics.SOURCE_LAG, p).tag("stream", "b").gauge().value()).isZero();
      assertThat(meter(CrestMetrics.ERRORS, p).tag("kind", "fatal").counter().count()).isZero();
      assertThat(p.id()).isEqualTo("orders");
    }
  }

  @Test
  void sourceFailure_countsOneFatalError() {
    MemorySink sink = new MemorySink();
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 1_000)
        .failAfter(300);
    CrestMetrics metrics = CrestMetrics.builder(registry).table("memory").build();
    Pipeline p =
        Pipeline.from(source).id("failing").batch(BatchPolicy.rows(10_000)).listener(metrics)
            .to(sink);
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT)).isInstanceOf(PipelineFailedException.class);
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);

    // onFailure may run just after the failure became visible to awaitIdle.
    await().atMost(WAIT).untilAsserted(() ->
        assertThat(meter(CrestMetrics.ERRORS, p).tag("kind", "fatal").counter().count())
            .isEqualTo(1.0));
    assertThat(meter(CrestMetrics.RECORDS_PER_BATCH, p).summary().count()).isEqualTo(3);
  }

  private double meterLag(Pipeline p) {
    return meter(CrestMetrics.SOURCE_LAG, p).tag("stream", "a").gauge().value();
  }

  @Test
  void rejectedBatch_withDeadLetterDirectory_countsADeadLetterError(@TempDir Path dir)
      throws Exception {
    MemorySink sink = new MemorySink().onWrite(b -> {
      if (TestBatches.ids(b.root()).get(0) == 200L) {
        throw new ValidationException("Cannot write batch to memory: id 200 is bad (test)");
      }
    });
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 500);
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);
    try (Pipeline p =
        Pipeline.from(source).id("dead").batch(BatchPolicy.rows(10_000)).deadLetter(dir)
            .listener(metrics).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();

      assertThat(meter(CrestMetrics.ERRORS, p).tag("kind", "dead-letter").counter().count())
          .isEqualTo(1.0);
      assertThat(meter(CrestMetrics.RECORDS_WRITTEN, p).counter().count()).isEqualTo(400.0);
      assertThat(meter(CrestMetrics.RECORDS_PER_BATCH, p).summary().count()).isEqualTo(4);
      assertThat(meterLag(p)).isZero();
    }
  }

  @Test
  void throwingListener_countsListenerErrorsByKind() throws Exception {
    PipelineListener broken = new PipelineListener() {
      @Override
      public void onBatch(BatchEvent event) {
        throw new IllegalStateException("Cannot count batch: broken listener (test)");
      }
    };
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 300);
    CrestMetrics metrics = CrestMetrics.forRegistry(registry);
    try (Pipeline p = Pipeline.from(source).id("noisy").listener(broken).listener(metrics)
        .to(new MemorySink())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();

      assertThat(meter(CrestMetrics.ERRORS, p).tag("kind", "listener").counter().count())
          .isEqualTo(3.0);
      assertThat(meter(CrestMetrics.RECORDS_WRITTEN, p).counter().count()).isEqualTo(300.0);
    }
  }
}
