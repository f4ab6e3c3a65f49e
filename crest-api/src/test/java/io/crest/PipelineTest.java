package io.crest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.errors.CommitFailedException;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.SourceException;
import io.crest.errors.ValidationException;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import io.crest.testing.GeneratedSource;
import io.crest.testing.MemorySink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipelineTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if a test leaked a buffer
  }

  private static List<Long> range(long from, long toExclusive) {
    return LongStream.range(from, toExclusive).boxed().toList();
  }

  @Test
  void run_twoStreams_commitsEveryRowOnceWithPositions() throws Exception {
    MemorySink sink = new MemorySink();
    GeneratedSource source =
        new GeneratedSource(allocator, 100).stream("a", 0, 1_000).stream("b", 10_000, 550);
    try (Pipeline p =
        Pipeline.from(source).id("two-streams").batch(BatchPolicy.rows(300)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(1_550);
      assertThat(p.stats().rowsCommitted()).isEqualTo(1_550);
      assertThat(p.stats().batchesIn()).isEqualTo(16);
      assertThat(p.stats().commits()).isEqualTo(sink.commits().size());
    }
    List<Long> expected = new ArrayList<>(range(0, 1_000));
    expected.addAll(range(10_000, 10_550));
    assertThat(sink.committedIds()).containsExactlyInAnyOrderElementsOf(expected);
    MemorySink.Commit last = sink.commits().get(sink.commits().size() - 1);
    Map<String, SourcePosition> end =
        Map.of("a", SourcePosition.ofOffset(1_000), "b", SourcePosition.ofOffset(550));
    assertThat(last.positions()).containsExactlyInAnyOrderEntriesOf(end);
    assertThat(source.lastCommitted()).containsExactlyInAnyOrderEntriesOf(end);
  }

  @Test
  void rowsPolicy_commitsOnceTheLimitIsReached() throws Exception {
    MemorySink sink = new MemorySink();
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 1_000);
    try (Pipeline p =
        Pipeline.from(source).id("rows-policy").batch(BatchPolicy.rows(250)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    // 100-row batches reach 250 rows at 300; the end of the source flushes the last 100.
    assertThat(sink.commits()).extracting(c -> c.ids().size()).containsExactly(300, 300, 300, 100);
  }

  @Test
  void restart_resumesFromCommittedPositions_andAddsOnlyNewRows() throws Exception {
    MemorySink sink = new MemorySink();
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 64).stream("a", 0, 500).stream("b", 1000, 70))
            .id("orders")
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    // The streams grew; a new run of the same pipeline id continues where the last commit ended.
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 64).stream("a", 0, 800).stream("b", 1000, 75))
            .id("orders")
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(305);
    }
    List<Long> expected = new ArrayList<>(range(0, 800));
    expected.addAll(range(1000, 1075));
    assertThat(sink.committedIds()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void timePolicy_commitsAContinuousSourceWithoutReachingOtherLimits() {
    MemorySink sink = new MemorySink();
    GeneratedSource source = new GeneratedSource(allocator, 10).stream("a", 0, 30).continuous();
    try (Pipeline p =
        Pipeline.from(source).id("timed")
            .batch(BatchPolicy.rows(1_000_000).orEvery(Duration.ofMillis(100)))
            .to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 30);
      assertThat(p.state()).isEqualTo(Pipeline.State.RUNNING);
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 30));
  }

  @Test
  void stop_drainsFlushesAndCommitsWhatArrived() throws Exception {
    MemorySink sink = new MemorySink();
    GeneratedSource source = new GeneratedSource(allocator, 10).stream("a", 0, 200).continuous();
    Pipeline p = Pipeline.from(source).id("stopped").batch(BatchPolicy.rows(1_000_000)).to(sink);
    p.start();
    await().atMost(WAIT).until(() -> p.stats().rowsIn() == 200);
    assertThat(sink.commits()).isEmpty();
    p.stop();
    assertThat(p.state()).isEqualTo(Pipeline.State.STOPPED);
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 200));
    p.stop(); // twice is safe
  }

  @Test
  void slowSink_blocksTheSourceInsteadOfBuffering() throws Exception {
    Semaphore writes = new Semaphore(0);
    AtomicLong maxBuffered = new AtomicLong();
    MemorySink sink = new MemorySink().onWrite(b -> writes.acquireUninterruptibly());
    // 100 rows of (long, ~10-char string) are about 2.6 KiB of Arrow buffers.
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 10_000);
    try (Pipeline p =
        Pipeline.from(source)
            .id("bounded")
            .batch(BatchPolicy.rows(500))
            .bufferLimit(DataSize.kib(16))
            .to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> source.emittedBatches() > 2);
      long emittedWhileBlocked = source.emittedBatches();
      // The writer holds one batch; the rest wait within the budget and the reader is blocked.
      await().during(Duration.ofMillis(300)).atMost(WAIT)
          .until(() -> source.emittedBatches() == emittedWhileBlocked);
      assertThat(p.stats().bufferedBytes()).isLessThanOrEqualTo(DataSize.kib(16).toBytes());
      assertThat(emittedWhileBlocked).isLessThan(16);
      while (!p.awaitIdle(Duration.ofMillis(1))) {
        maxBuffered.accumulateAndGet(p.stats().bufferedBytes(), Math::max);
        writes.release(10);
      }
    }
    assertThat(maxBuffered.get()).isLessThanOrEqualTo(DataSize.kib(16).toBytes());
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 10_000));
  }

  @Test
  void writeFailure_failsThePipeline_commitsEarlierFlushes_andLeaksNothing() throws Exception {
    MemorySink sink =
        new MemorySink()
            .onWrite(b -> {
              if (b.positionAfter().asOffset() > 300) {
                throw new ValidationException(
                    "Cannot write batch to memory: column 'id' rejected at offset "
                        + b.positionAfter());
              }
            });
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 1_000);
    Pipeline p = Pipeline.from(source).id("invalid").batch(BatchPolicy.rows(200)).to(sink);
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .hasCauseInstanceOf(ValidationException.class)
        .hasMessageContaining("column 'id' rejected at offset 400");
    await().atMost(WAIT).until(() -> source.pipelineFailure() != null);
    assertThat(source.pipelineFailure()).isSameAs(p.failure().orElseThrow());
    assertThat(p.state()).isEqualTo(Pipeline.State.RUNNING); // told before anyone stops it
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(p.state()).isEqualTo(Pipeline.State.FAILED);
    // The flush of rows 0..199 was prepared before the failure and is committed; 200..299 are not.
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 200));
  }

  @Test
  void commitFailure_abortsItAndEveryLaterCommit() throws Exception {
    Semaphore commits = new Semaphore(0);
    MemorySink sink = new MemorySink().failNextCommits(1).gateCommits(commits);
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 400);
    Pipeline p = Pipeline.from(source).id("failing-commits").batch(BatchPolicy.rows(100)).to(sink);
    p.start();
    commits.release(100);
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .hasCauseInstanceOf(CommitFailedException.class);
    await().atMost(WAIT).until(() -> source.pipelineFailure() != null);
    assertThat(source.pipelineFailure()).isInstanceOf(CommitFailedException.class);
    assertThat(source.lastCommitted()).isEmpty();
    assertThatThrownBy(p::stop).isInstanceOf(PipelineFailedException.class);
    assertThat(sink.commits()).isEmpty();
    assertThat(sink.aborted()).isNotEmpty();
  }

  @Test
  void sourceFailure_commitsWhatArrivedBefore_thenFails() throws Exception {
    MemorySink sink = new MemorySink();
    GeneratedSource source =
        new GeneratedSource(allocator, 50).stream("a", 0, 1_000).failAfter(300);
    Pipeline p =
        Pipeline.from(source).id("failing-source").batch(BatchPolicy.rows(1_000_000)).to(sink);
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .hasCauseInstanceOf(SourceException.class)
        .hasMessageContaining("injected failure at row 300");
    // Told after the commit of what arrived before the failure, not only at close.
    await().atMost(WAIT).until(() -> source.pipelineFailure() != null);
    assertThat(source.pipelineFailure()).isInstanceOf(SourceException.class);
    assertThat(source.lastCommitted()).isEqualTo(Map.of("a", SourcePosition.ofOffset(300)));
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 300));
  }

  @Test
  void rejectedBatch_withDeadLetterDirectory_isReportedToTheSourceOnceTheFileIsWritten(
      @TempDir Path dir) throws Exception {
    MemorySink sink = new MemorySink().onWrite(b -> {
      if (b.positionAfter().asOffset() == 200) {
        throw new ValidationException("Cannot write batch to memory: rejected at offset 200");
      }
    });
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 300).continuous();
    // No commit is due while the pipeline runs: the source hears of the dead letter anyway.
    Pipeline p = Pipeline.from(source).id("dead-letter").batch(BatchPolicy.rows(1_000_000))
        .deadLetter(dir)
        .to(sink);
    p.start();
    try {
      await().atMost(WAIT).until(() -> !source.deadLetters().isEmpty());
      DeadLetterEvent event = source.deadLetters().get(0);
      assertThat(event.stream()).isEqualTo("a");
      assertThat(event.positionAfter()).isEqualTo(SourcePosition.ofOffset(200));
      assertThat(event.rows()).isEqualTo(100);
      assertThat(event.file()).exists().hasParent(dir);
      assertThat(source.lastCommitted()).isEmpty();
    } finally {
      p.stop();
    }
    assertThat(source.deadLetters()).hasSize(1);
    assertThat(source.pipelineFailure()).isNull();
    assertThat(sink.committedIds()).containsExactlyElementsOf(
        LongStream.concat(LongStream.range(0, 100), LongStream.range(200, 300)).boxed().toList());
  }

  @Test
  void listener_seesEveryCommit_andItsExceptionsAreContained() throws Exception {
    List<CommitEvent> events = new CopyOnWriteArrayList<>();
    List<BatchEvent> batches = new CopyOnWriteArrayList<>();
    List<String> errorKinds = new CopyOnWriteArrayList<>();
    CountDownLatch failures = new CountDownLatch(1);
    MemorySink sink = new MemorySink();
    GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 500);
    try (Pipeline p =
        Pipeline.from(source)
            .batch(BatchPolicy.rows(200))
            .listener(new PipelineListener() {
              @Override
              public void onCommit(CommitEvent event) {
                throw new IllegalStateException("listener bug");
              }
            })
            .listener(new PipelineListener() {
              @Override
              public void onCommit(CommitEvent event) {
                events.add(event);
              }

              @Override
              public void onBatch(BatchEvent event) {
                batches.add(event);
              }

              @Override
              public void onError(String kind, Throwable error) {
                errorKinds.add(kind);
              }

              @Override
              public void onFailure(Throwable error) {
                failures.countDown();
              }
            })
            .id("listened")
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().errors()).isEqualTo(events.size());
    }
    assertThat(events).extracting(CommitEvent::rows).containsExactly(200L, 200L, 100L);
    assertThat(events).allSatisfy(e -> {
      assertThat(e.pipelineId()).isEqualTo("listened");
      assertThat(e.sink()).isEqualTo("memory");
      assertThat(e.reference()).startsWith("commit ");
    });
    assertThat(events.get(2).positions()).containsEntry("a", SourcePosition.ofOffset(500));
    assertThat(batches).extracting(BatchEvent::rows).containsOnly(100).hasSize(5);
    assertThat(batches.get(4).positionAfter()).isEqualTo(SourcePosition.ofOffset(500));
    assertThat(errorKinds).containsOnly("listener").hasSize(3); // the first listener threw 3 times
    assertThat(failures.getCount()).isEqualTo(1);
  }

  @Test
  void start_twice_isRejected() throws Exception {
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 10).stream("a", 0, 10))
            .id("started-twice")
            .to(new MemorySink())) {
      p.start();
      assertThatThrownBy(p::start)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("a pipeline starts once");
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  @Test
  void stop_beforeStart_closesTheSource() {
    Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 10).stream("a", 0, 10))
            .id("never-started")
            .to(new MemorySink());
    p.stop();
    assertThat(p.state()).isEqualTo(Pipeline.State.STOPPED);
    assertThatThrownBy(() -> p.awaitIdle(WAIT)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void to_statefulSinkWithoutId_isRejected() {
    GeneratedSource source = new GeneratedSource(allocator, 10).stream("a", 0, 10);
    assertThatThrownBy(() -> Pipeline.from(source).to(new MemorySink()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "Cannot build pipeline from generated[a] to memory: no id (call .id(\"orders\") before"
                + " .to(...); the id is the durable identity under which the sink records its"
                + " positions, so a restart with the same id resumes)");
    source.close(); // no pipeline took it
  }

  @Test
  void to_statelessSinkWithoutId_builds() throws Exception {
    StatelessSink sink = new StatelessSink();
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 10).stream("a", 0, 30)).to(sink)) {
      assertThat(p.id()).startsWith("crest-").hasSize(22);
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(sink.memory.committedIds()).containsExactlyElementsOf(range(0, 30));
  }

  @Test
  void restart_withAStreamAdded_keepsTheIdAndReadsOnlyTheNewStreamFromItsBeginning()
      throws Exception {
    MemorySink sink = new MemorySink();
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 64).stream("a", 0, 500))
            .id("orders")
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    // The source's name changes with its streams; the pipeline's identity does not.
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 64).stream("a", 0, 500).stream("b", 1000, 70))
            .id("orders")
            .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(70);
    }
    List<Long> expected = new ArrayList<>(range(0, 500));
    expected.addAll(range(1000, 1070));
    assertThat(sink.committedIds()).containsExactlyInAnyOrderElementsOf(expected);
  }

  /** A sink that records no positions: it restores nothing, so every run starts over. */
  private static final class StatelessSink implements Sink {
    final MemorySink memory = new MemorySink();

    @Override
    public String name() {
      return "stateless";
    }

    @Override
    public boolean keepsPositions() {
      return false;
    }

    @Override
    public SinkWriter open(SinkContext context) {
      SinkWriter writer = memory.open(context);
      return new SinkWriter() {
        @Override
        public CommittedState restoredState() {
          return CommittedState.empty();
        }

        @Override
        public void write(SourceBatch batch) {
          writer.write(batch);
        }

        @Override
        public Committable prepareCommit(Map<String, SourcePosition> positions) {
          return writer.prepareCommit(positions);
        }

        @Override
        public CommitResult commit(Committable committable) {
          return writer.commit(committable);
        }

        @Override
        public void abort(Committable committable) {
          writer.abort(committable);
        }

        @Override
        public void close() {
          writer.close();
        }
      };
    }
  }

  @Test
  void builder_rejectsBadAndConflictingSettings() {
    GeneratedSource source = new GeneratedSource(allocator, 10);
    Pipeline.Builder b = Pipeline.from(source);
    assertThatThrownBy(() -> b.id(" "))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set pipeline id ' ': it must be 1 to 200 characters, not blank");
    b.id("one");
    assertThatThrownBy(() -> b.id("two"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set pipeline id to 'two': already set to 'one'");
    b.batch(BatchPolicy.rows(10));
    assertThatThrownBy(() -> b.batch(BatchPolicy.rows(20)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set batch policy to BatchPolicy[rows=20]: already set to BatchPolicy[rows=10]");
    assertThatThrownBy(() -> b.bufferLimit(DataSize.bytes(100)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set buffer limit to 100 B: it must be at least 1 KiB");
    b.bufferLimit(DataSize.mib(1));
    assertThatThrownBy(() -> b.bufferLimit(DataSize.mib(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set buffer limit to 2 MiB: already set to 1 MiB");
    assertThatThrownBy(() -> b.to(null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> Pipeline.from(null)).isInstanceOf(NullPointerException.class);
    source.close();
  }
}
