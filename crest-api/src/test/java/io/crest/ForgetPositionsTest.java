package io.crest;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.spi.Source;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink;
import io.crest.testing.TestBatches;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link SourceContext#forget} keeps the committed positions as large as what a restart needs. */
class ForgetPositionsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final int STREAMS = 10_000;
  private static final int LIVE = 8;

  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if a test leaked a buffer
  }

  /**
   * Streams {@code s0 .. s<n-1>} come and go: at most {@code live} are open at once, each emits
   * one row (id = its number) and ends, and the source forgets each window of ended streams; one
   * long-lived stream {@code keep} (one row, id -1) is never forgotten.
   */
  private static final class ChurningSource implements Source {
    private final BufferAllocator allocator;
    private final int streams;
    private final int live;
    private Thread reader;

    ChurningSource(BufferAllocator parent, int streams, int live) {
      this.allocator = parent.newChildAllocator("churning-source", 0, Long.MAX_VALUE);
      this.streams = streams;
      this.live = live;
    }

    @Override
    public String name() {
      return "churning";
    }

    @Override
    public void start(SourceContext context) {
      reader = new Thread(() -> {
        try {
          if (!context.emit(TestBatches.batch(allocator, "keep", -1, 0, 1))) {
            return;
          }
          // Streams open in windows of `live`; each window's streams end, and are forgotten,
          // before the next window opens.
          for (int first = 0; first < streams; first += live) {
            int end = Math.min(streams, first + live);
            for (int s = first; s < end; s++) {
              if (!context.emit(TestBatches.batch(allocator, "s" + s, s, 0, 1))) {
                return;
              }
            }
            List<String> ended = LongStream.range(first, end).mapToObj(s -> "s" + s).toList();
            context.forget(ended);
          }
          context.complete();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "churning-reader");
      reader.start();
    }

    @Override
    public void close() {
      if (reader != null) {
        reader.interrupt();
        try {
          reader.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      allocator.close();
    }
  }

  @Test
  void streamsThatComeAndGo_andAreForgotten_leaveTheCommittedPositionsBounded() throws Exception {
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(new ChurningSource(allocator, STREAMS, LIVE)).id("churn")
        .batch(BatchPolicy.rows(97)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }

    assertThat(sink.committedIds()).hasSize(STREAMS + 1).doesNotHaveDuplicates();
    assertThat(sink.commits()).hasSizeGreaterThan(100);
    // Each commit carries the long-lived stream and at most the streams still open.
    assertThat(sink.commits()).allSatisfy(
        c -> assertThat(c.positions().size()).isLessThanOrEqualTo(LIVE + 1));
    MemorySink.Commit last = sink.commits().get(sink.commits().size() - 1);
    assertThat(last.positions()).isEqualTo(Map.of("keep", SourcePosition.ofOffset(1)));
  }

  @Test
  void forget_aloneInItsFlush_isCommitted() throws Exception {
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(new ChurningSource(allocator, 3, 3)).id("churn")
        .batch(BatchPolicy.rows(4)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    // rows(4): the four rows (keep, s0, s1, s2) are committed before the forget arrives; the
    // forget alone moves no rows but is committed when the source completes.
    assertThat(sink.commits()).hasSize(2);
    assertThat(sink.commits().get(0).positions()).containsOnlyKeys("keep", "s0", "s1", "s2");
    assertThat(sink.commits().get(1).ids()).isEmpty();
    assertThat(sink.commits().get(1).positions()).containsOnlyKeys("keep");
  }
}
