package io.crest;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.errors.ValidationException;
import io.crest.spi.SourcePosition;
import io.crest.testing.GeneratedSource;
import io.crest.testing.MemorySink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A dead-lettered batch's position is committed, and its file is written once per batch. */
class DeadLetterPositionTest {
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

  /** A sink that rejects the batch ending at stream offset {@code rejected}. */
  private static MemorySink rejectingAt(long rejected) {
    return new MemorySink().onWrite(b -> {
      if (b.positionAfter().asOffset() == rejected) {
        throw new ValidationException(
            "Cannot write batch to memory: rejected at offset " + rejected + " (test)");
      }
    });
  }

  private void runToIdle(MemorySink sink, Path dir) throws Exception {
    GeneratedSource source = new GeneratedSource(allocator, 1).stream("a", 0, 2);
    try (Pipeline p = Pipeline.from(source).id("dl").batch(BatchPolicy.rows(1)).deadLetter(dir)
        .to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private static List<Path> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }

  @Test
  void loneDeadLetteredBatch_itsPositionIsCommitted(@TempDir Path dir) throws Exception {
    MemorySink sink = rejectingAt(2);

    runToIdle(sink, dir);

    MemorySink.Commit last = sink.commits().get(sink.commits().size() - 1);
    assertThat(last.positions()).isEqualTo(Map.of("a", SourcePosition.ofOffset(2)));
    assertThat(last.ids()).isEmpty(); // a commit that only moves the position
    assertThat(sink.committedIds()).containsExactly(0L);
  }

  @Test
  void samePipelineRunTwice_overTheSameSource_leavesOneDeadLetterFile(@TempDir Path dir)
      throws Exception {
    MemorySink sink = rejectingAt(2);

    runToIdle(sink, dir);
    List<Path> first = files(dir);
    runToIdle(sink, dir);

    assertThat(first).hasSize(1);
    assertThat(files(dir)).isEqualTo(first);
    assertThat(sink.committedIds()).containsExactly(0L);
  }

  @Test
  void replayAfterACrash_overwritesTheSameFile(@TempDir Path dir) throws Exception {
    // As after a crash between the dead letter and the commit of its position: the next run
    // reads the batch again (a fresh sink has no commits) and dead-letters it a second time.
    MemorySink sink = rejectingAt(2);
    runToIdle(sink, dir);
    List<Path> first = files(dir);
    MemorySink fresh = rejectingAt(2);

    runToIdle(fresh, dir);

    assertThat(files(dir)).isEqualTo(first).hasSize(1);
    assertThat(fresh.committedIds()).containsExactly(0L);
  }
}
