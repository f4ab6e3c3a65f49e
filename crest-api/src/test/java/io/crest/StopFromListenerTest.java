package io.crest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.crest.errors.PipelineFailedException;
import io.crest.errors.SourceException;
import io.crest.errors.ValidationException;
import io.crest.spi.SourcePosition;
import io.crest.testing.GeneratedSource;
import io.crest.testing.MemorySink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Pipeline#stop} and {@link Pipeline#awaitIdle} called from the pipeline's own threads. */
class StopFromListenerTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final Duration LIMIT = Duration.ofSeconds(60);

  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if a test leaked a buffer
  }

  /** Calls stop() once from a callback and records that it returned, and how. */
  private static final class Stopper {
    final AtomicReference<Pipeline> pipeline = new AtomicReference<>();
    final AtomicBoolean called = new AtomicBoolean();
    final AtomicBoolean returned = new AtomicBoolean();
    final AtomicReference<Throwable> thrown = new AtomicReference<>();

    void stopOnce() {
      if (called.compareAndSet(false, true)) {
        try {
          pipeline.get().stop();
          returned.set(true);
        } catch (RuntimeException e) {
          thrown.set(e);
        }
      }
    }
  }

  private static List<Long> range(long from, long toExclusive) {
    return LongStream.range(from, toExclusive).boxed().toList();
  }

  private static Pipeline build(
      GeneratedSource source, MemorySink sink, BatchPolicy policy, PipelineListener listener,
      Consumer<Pipeline.Builder> more) {
    Pipeline.Builder b = Pipeline.from(source).id("stopper").batch(policy).listener(listener);
    more.accept(b);
    return b.to(sink);
  }

  @Test
  void stop_fromOnCommit_returnsAndThePipelineStopsWithEverythingCommitted() {
    assertTimeoutPreemptively(LIMIT, () -> {
      Stopper stopper = new Stopper();
      MemorySink sink = new MemorySink();
      GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 5_000)
          .continuous();
      Pipeline p = build(source, sink, BatchPolicy.rows(200), new PipelineListener() {
        @Override
        public void onCommit(CommitEvent event) {
          stopper.stopOnce();
        }
      }, b -> {});
      stopper.pipeline.set(p);
      p.start();

      await().atMost(WAIT).until(() -> p.state() == Pipeline.State.STOPPED);
      assertThat(stopper.returned).isTrue();
      assertThat(stopper.thrown.get()).isNull();
      p.close(); // again, from the test thread: returns at once
      long rows = p.stats().rowsIn();
      assertThat(rows).isGreaterThanOrEqualTo(200);
      assertThat(p.stats().rowsCommitted()).isEqualTo(rows);
      assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, rows));
      assertThat(source.lastCommitted()).containsEntry("a", SourcePosition.ofOffset(rows));
    });
  }

  @Test
  void stop_fromOnFailure_returnsAndThePipelineFailsWithEarlierRowsCommitted() {
    assertTimeoutPreemptively(LIMIT, () -> {
      Stopper stopper = new Stopper();
      MemorySink sink = new MemorySink();
      GeneratedSource source =
          new GeneratedSource(allocator, 50).stream("a", 0, 1_000).failAfter(300);
      Pipeline p = build(source, sink, BatchPolicy.rows(100), new PipelineListener() {
        @Override
        public void onFailure(Throwable error) {
          stopper.stopOnce();
        }
      }, b -> {});
      stopper.pipeline.set(p);
      p.start();

      await().atMost(WAIT).until(() -> p.state() == Pipeline.State.FAILED);
      assertThat(stopper.returned).isTrue();
      assertThat(p.failure()).containsInstanceOf(SourceException.class);
      assertThatThrownBy(p::stop).isInstanceOf(PipelineFailedException.class);
      assertThatThrownBy(() -> p.awaitIdle(WAIT)).isInstanceOf(PipelineFailedException.class);
      assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 300));
    });
  }

  @Test
  void stop_fromOnBatch_returnsAndThePipelineStopsWithEverythingCommitted() {
    assertTimeoutPreemptively(LIMIT, () -> {
      Stopper stopper = new Stopper();
      MemorySink sink = new MemorySink();
      GeneratedSource source = new GeneratedSource(allocator, 10).stream("a", 0, 100_000)
          .continuous();
      Pipeline p = build(source, sink, BatchPolicy.rows(1_000_000), new PipelineListener() {
        @Override
        public void onBatch(BatchEvent event) {
          if (event.positionAfter().asOffset() >= 300) { // "stop after N rows"
            stopper.stopOnce();
          }
        }
      }, b -> {});
      stopper.pipeline.set(p);
      p.start();

      await().atMost(WAIT).until(() -> p.state() == Pipeline.State.STOPPED);
      assertThat(stopper.returned).isTrue();
      long rows = p.stats().rowsIn();
      assertThat(rows).isGreaterThanOrEqualTo(300);
      assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, rows));
    });
  }

  @Test
  void stop_fromOnDeadLetter_returnsAndThePipelineStopsWithTheDeadLetterPositionCommitted(
      @TempDir Path dir) {
    assertTimeoutPreemptively(LIMIT, () -> {
      Stopper stopper = new Stopper();
      MemorySink sink = new MemorySink().onWrite(b -> {
        if (b.positionAfter().asOffset() == 200) {
          throw new ValidationException("Cannot write batch to memory: rejected at 200 (test)");
        }
      });
      GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 100_000)
          .continuous();
      Pipeline p = build(source, sink, BatchPolicy.rows(1_000_000), new PipelineListener() {
        @Override
        public void onDeadLetter(DeadLetterEvent event) {
          stopper.stopOnce();
        }
      }, b -> b.deadLetter(dir));
      stopper.pipeline.set(p);
      p.start();

      await().atMost(WAIT).until(() -> p.state() == Pipeline.State.STOPPED);
      assertThat(stopper.returned).isTrue();
      long end = sink.commits().get(sink.commits().size() - 1).positions().get("a").asOffset();
      assertThat(end).isGreaterThanOrEqualTo(200);
      assertThat(sink.committedIds()).containsExactlyElementsOf(
          LongStream.concat(LongStream.range(0, 100), LongStream.range(200, end)).boxed()
              .toList());
    });
  }

  @Test
  void awaitIdle_fromACallback_failsAtOnceInsteadOfWaitingForItself() {
    assertTimeoutPreemptively(LIMIT, () -> {
      AtomicReference<Pipeline> pipeline = new AtomicReference<>();
      AtomicReference<Throwable> thrown = new AtomicReference<>();
      MemorySink sink = new MemorySink();
      GeneratedSource source = new GeneratedSource(allocator, 100).stream("a", 0, 500);
      Pipeline p = build(source, sink, BatchPolicy.rows(200), new PipelineListener() {
        @Override
        public void onCommit(CommitEvent event) {
          try {
            pipeline.get().awaitIdle(Duration.ofDays(1));
          } catch (Throwable e) {
            thrown.compareAndSet(null, e);
          }
        }
      }, b -> {});
      pipeline.set(p);
      try (p) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertThat(thrown.get())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageStartingWith("Cannot await pipeline " + p.id()
              + ": called on its own committer thread");
      assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 500));
    });
  }

  @Test
  void stop_fromTheSourcesOwnReaderThread_returnsAndThePipelineStops() {
    assertTimeoutPreemptively(LIMIT, () -> {
      Stopper stopper = new Stopper();
      MemorySink sink = new MemorySink();
      GeneratedSource generated = new GeneratedSource(allocator, 100).stream("a", 0, 5_000)
          .continuous();
      // Stops the pipeline from the reader thread after its third batch; the source's close
      // joins that thread, as a source that owns its readers does.
      java.util.Set<Thread> readers = java.util.concurrent.ConcurrentHashMap.newKeySet();
      io.crest.spi.Source source = new io.crest.spi.Source() {
        @Override
        public String name() {
          return generated.name();
        }

        @Override
        public void start(io.crest.spi.SourceContext context) {
          java.util.concurrent.atomic.AtomicInteger emitted =
              new java.util.concurrent.atomic.AtomicInteger();
          generated.start(new io.crest.spi.SourceContext() {
            @Override
            public String pipelineId() {
              return context.pipelineId();
            }

            @Override
            public java.util.Map<String, SourcePosition> resumePositions() {
              return context.resumePositions();
            }

            @Override
            public boolean emit(io.crest.spi.SourceBatch batch) throws InterruptedException {
              readers.add(Thread.currentThread());
              boolean accepted = context.emit(batch);
              if (accepted && emitted.incrementAndGet() == 3) {
                stopper.stopOnce();
              }
              return accepted;
            }

            @Override
            public void complete() {
              context.complete();
            }

            @Override
            public void fail(Throwable error) {
              context.fail(error);
            }

            @Override
            public boolean isStopping() {
              return context.isStopping();
            }
          });
        }

        @Override
        public void close() {
          for (Thread reader : readers) { // each ends once the pipeline refuses its batches
            try {
              reader.join();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          generated.close();
        }
      };
      Pipeline p = Pipeline.from(source).id("stopper").batch(BatchPolicy.rows(200)).to(sink);
      stopper.pipeline.set(p);
      p.start();

      await().atMost(WAIT).until(() -> p.state() == Pipeline.State.STOPPED);
      assertThat(stopper.returned).isTrue();
      assertThat(stopper.thrown.get()).isNull();
      long rows = p.stats().rowsIn();
      assertThat(rows).isGreaterThanOrEqualTo(300);
      assertThat(p.stats().rowsCommitted()).isEqualTo(rows);
      assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, rows));
    });
  }
}
