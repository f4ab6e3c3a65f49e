package io.crest.sources;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.DeadLetters;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.SourceException;
import io.crest.errors.ValidationException;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink;
import io.crest.testing.TestBatches;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ArrowWriter;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.apache.arrow.vector.compression.CompressionUtil;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArrowFileSourceTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;
  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close(); // throws if a test leaked a buffer
  }

  /** Writes {@code batches} batches of 10 rows, ids from {@code firstId}, in the chosen format. */
  private void write(String name, boolean fileFormat, long firstId, int batches) throws IOException {
    write(name, fileFormat, firstId, batches, Map.of());
  }

  private void write(String name, boolean fileFormat, long firstId, int batches,
      Map<String, String> footer) throws IOException {
    Path temp = dir.resolve(name + ".tmp");
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE);
        VectorSchemaRoot root = VectorSchemaRoot.create(TestBatches.SCHEMA, allocator);
        ArrowWriter writer = fileFormat
            ? new ArrowFileWriter(root, null, channel, footer)
            : new ArrowStreamWriter(root, null, channel)) {
      writer.start();
      for (int b = 0; b < batches; b++) {
        try (VectorSchemaRoot data = TestBatches.root(allocator, firstId + b * 10L, 10)) {
          for (int i = 0; i < data.getFieldVectors().size(); i++) {
            data.getVector(i).makeTransferPair(root.getVector(i)).transfer();
          }
          root.setRowCount(10);
          writer.writeBatch();
        }
      }
      writer.end();
    }
    // Files appear complete, as the source requires.
    Files.move(temp, dir.resolve(name));
  }

  private static List<Long> range(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }

  private static Map<String, SourcePosition> lastPositions(MemorySink sink) {
    List<MemorySink.Commit> commits = sink.commits();
    return commits.get(commits.size() - 1).positions();
  }

  @Test
  void filesOfBothFormats_areReadInNameOrder_withBatchCountsAsPositions() throws Exception {
    write("a.arrow", true, 0, 2);
    write("b.arrow", false, 20, 3);
    write("c.arrow", true, 50, 1);
    Files.writeString(dir.resolve("notes.txt"), "not arrow");
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 60));
    assertThat(lastPositions(sink)).isEqualTo(Map.of(
        "a.arrow", SourcePosition.ofOffset(2),
        "b.arrow", SourcePosition.ofOffset(3),
        "c.arrow", SourcePosition.ofOffset(1)));
    assertThat(dir.resolve("a.arrow")).exists(); // kept by default
  }

  @Test
  void restartMidFile_resumesAfterTheCommittedBatch_andReadsNothingTwice() throws Exception {
    write("a.arrow", true, 0, 3);
    write("b.arrow", false, 30, 3);
    write("c.arrow", true, 60, 3);
    MemorySink sink = new MemorySink().onWrite(b -> {
      if (TestBatches.ids(b.root()).contains(40L)) {
        throw new ValidationException("Cannot write batch: injected at " + b);
      }
    });
    Pipeline first = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink);
    first.start();
    assertThatThrownBy(() -> first.awaitIdle(WAIT)).isInstanceOf(PipelineFailedException.class);
    assertThatThrownBy(first::close).isInstanceOf(PipelineFailedException.class);
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 40));
    assertThat(lastPositions(sink)).containsEntry("b.arrow", SourcePosition.ofOffset(1));

    sink.onWrite(b -> {});
    try (Pipeline second = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      second.start();
      assertThat(second.awaitIdle(WAIT)).isTrue();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 90));
    assertThat(lastPositions(sink)).containsEntry("c.arrow", SourcePosition.ofOffset(3));
  }

  @Test
  void deleteCompleted_removesCommittedFiles_andForgetsTheirPositions() throws Exception {
    write("a.arrow", true, 0, 2);
    write("b.arrow", false, 20, 1);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator)
            .deleteCompleted().watch(Duration.ofMillis(20)).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 30);
      await().atMost(WAIT).until(() -> Files.notExists(dir.resolve("a.arrow"))
          && Files.notExists(dir.resolve("b.arrow")));
      p.stop();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 30));
    assertThat(lastPositions(sink)).isEmpty();
  }

  @Test
  void watch_aRemovedFileAddedAgainUnderTheSameName_isReadFromItsBeginning() throws Exception {
    write("a.arrow", true, 0, 2);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator)
            .deleteCompleted().watch(Duration.ofMillis(20)).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> Files.notExists(dir.resolve("a.arrow")));
      write("a.arrow", false, 20, 1);
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 30);
      await().atMost(WAIT).until(() -> Files.notExists(dir.resolve("a.arrow")));
      p.stop();
    }
    List<Long> expected = new java.util.ArrayList<>(range(0, 20));
    expected.addAll(range(20, 30));
    assertThat(sink.committedIds()).containsExactlyElementsOf(expected);
    assertThat(lastPositions(sink)).isEmpty();
  }

  @Test
  void aFileWithFewerBatchesThanItsCommittedPosition_failsTheSource_andIsKept() throws Exception {
    write("a.arrow", true, 0, 3);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    Files.delete(dir.resolve("a.arrow"));
    write("a.arrow", true, 100, 1);
    Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator).deleteCompleted().build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink);
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .satisfies(e -> assertThat(e.getCause()).isInstanceOf(SourceException.class)
            .hasMessage("Cannot resume Arrow IPC file " + dir.resolve("a.arrow")
                + " at batch 3: it has only 1 batches (was it replaced?)"));
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(dir.resolve("a.arrow")).exists();
  }

  @Test
  void moveCompleted_movesCommittedFilesToDone_andARestartForgetsThem() throws Exception {
    write("a.arrow", true, 0, 2);
    write("b.arrow", false, 20, 1);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator)
            .moveCompleted().build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      await().atMost(WAIT).until(() -> Files.exists(dir.resolve("done/a.arrow"))
          && Files.exists(dir.resolve("done/b.arrow")));
    }
    assertThat(dir.resolve("a.arrow")).doesNotExist();
    assertThat(dir.resolve("b.arrow")).doesNotExist();

    // Whatever the first run's last commit kept, the next run drops the removed files' positions.
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator)
            .moveCompleted().build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 30));
    assertThat(lastPositions(sink)).isEmpty();
  }

  @Test
  void watch_readsAFileAddedLater() throws Exception {
    write("a.arrow", true, 0, 1);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator)
            .watch(Duration.ofMillis(20)).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 10);
      write("b.arrow", false, 10, 2);
      await().atMost(WAIT).until(() -> sink.committedIds().size() == 30);
      assertThat(p.state()).isEqualTo(Pipeline.State.RUNNING);
      p.stop();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 30));
    assertThat(lastPositions(sink)).isEqualTo(Map.of(
        "a.arrow", SourcePosition.ofOffset(1), "b.arrow", SourcePosition.ofOffset(2)));
  }

  @Test
  void aCorruptFile_failsTheSource_namingTheFile() throws Exception {
    write("a.arrow", true, 0, 1);
    Files.write(dir.resolve("b.arrow"), new byte[] {'A', 'R', 'R', 'O', 'W', '1', 0, 0, 1, 2, 3});
    MemorySink sink = new MemorySink();
    Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink);
    p.start();
    assertThatThrownBy(() -> p.awaitIdle(WAIT))
        .isInstanceOf(PipelineFailedException.class)
        .hasRootCauseInstanceOf(Exception.class)
        .satisfies(e -> assertThat(e.getCause()).isInstanceOf(SourceException.class)
            .hasMessageContaining("Cannot read Arrow IPC file " + dir.resolve("b.arrow")));
    assertThatThrownBy(p::close).isInstanceOf(PipelineFailedException.class);
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 10));
  }

  @Test
  void deadLetterReplay_withAPipelineId_readsOnlyThatPipelinesFiles() throws Exception {
    write("a.arrow", true, 0, 1, Map.of(DeadLetters.PIPELINE_ID_KEY, "orders"));
    write("b.arrow", true, 10, 1, Map.of(DeadLetters.PIPELINE_ID_KEY, "other"));
    write("c.arrow", false, 20, 1); // stream format: no footer
    write("d.arrow", true, 30, 1, Map.of(DeadLetters.PIPELINE_ID_KEY, "orders"));
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(DeadLetters.replay(dir, allocator, "orders"))
        .id("orders-replay").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    List<Long> expected = new java.util.ArrayList<>(range(0, 10));
    expected.addAll(range(30, 40));
    assertThat(sink.committedIds()).containsExactlyElementsOf(expected);
  }

  @Test
  void compressedFiles_lz4AndZstd_areRead() throws Exception {
    writeCompressed("a.arrow", true, CompressionUtil.CodecType.LZ4_FRAME, 0);
    writeCompressed("b.arrow", false, CompressionUtil.CodecType.ZSTD, 10);
    MemorySink sink = new MemorySink();
    try (Pipeline p = Pipeline.from(ArrowFileSource.builder(dir, allocator).build())
        .id("files").batch(BatchPolicy.rows(1)).to(sink)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(sink.committedIds()).containsExactlyElementsOf(range(0, 20));
  }

  private void writeCompressed(String name, boolean fileFormat, CompressionUtil.CodecType codec,
      long firstId) throws IOException {
    try (FileChannel channel = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE);
        VectorSchemaRoot root = TestBatches.root(allocator, firstId, 10);
        ArrowWriter writer = fileFormat
            ? new ArrowFileWriter(root, null, channel, Map.of(), IpcOption.DEFAULT,
                CommonsCompressionFactory.INSTANCE, codec)
            : new ArrowStreamWriter(root, null, channel, IpcOption.DEFAULT,
                CommonsCompressionFactory.INSTANCE, codec)) {
      writer.start();
      writer.writeBatch();
      writer.end();
    }
  }

  @Test
  void deleteAndMove_conflict_isRejected() {
    assertThatThrownBy(() -> ArrowFileSource.builder(dir, allocator).deleteCompleted()
        .moveCompleted())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot move completed files to " + dir.resolve("done") + ": already deleted");
  }

  @Test
  void watch_zeroInterval_isRejected() {
    assertThatThrownBy(() -> ArrowFileSource.builder(dir, allocator).watch(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot watch with poll interval PT0S: must be positive");
  }
}
