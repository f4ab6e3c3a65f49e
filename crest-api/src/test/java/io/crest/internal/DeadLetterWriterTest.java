package io.crest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import io.crest.testing.TestBatches;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeadLetterWriterTest {
  private BufferAllocator allocator;

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    allocator.close();
  }

  @Test
  void fileName_isTheSameForTheSameTriple_andDiffersOtherwise() {
    String name = DeadLetterWriter.fileName("p1", "a/b", SourcePosition.of("42"));
    assertThat(DeadLetterWriter.fileName("p1", "a/b", SourcePosition.of("42"))).isEqualTo(name);
    assertThat(name).matches("a_b-42-[0-9a-f]{16}\\.arrow");
    assertThat(DeadLetterWriter.fileName("p2", "a/b", SourcePosition.of("42"))).isNotEqualTo(name);
    assertThat(DeadLetterWriter.fileName("p1", "a_b", SourcePosition.of("42"))).isNotEqualTo(name);
    assertThat(DeadLetterWriter.fileName("p1", "a/b", SourcePosition.of("43"))).isNotEqualTo(name);
  }

  @Test
  void fileName_ofLongAndOddTexts_isSafeAndBounded() {
    String name = DeadLetterWriter.fileName(
        "p".repeat(200), "stream with spaces/and é".repeat(20), SourcePosition.of("x".repeat(500)));
    assertThat(name).matches("[A-Za-z0-9._=-]+").hasSizeLessThanOrEqualTo(120);
  }

  @Test
  void write_twice_replacesTheFile(@TempDir Path dir) throws Exception {
    DeadLetterWriter writer = new DeadLetterWriter(dir, "p1", "memory");
    Path first;
    try (SourceBatch batch = TestBatches.batch(allocator, "a", 0, 0, 3)) {
      first = writer.write(batch, "first");
    }
    Path second;
    try (SourceBatch batch = TestBatches.batch(allocator, "a", 0, 0, 3)) {
      second = writer.write(batch, "second");
    }
    assertThat(second).isEqualTo(first);
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(first);
    }
  }

  @Test
  void write_removesTheTemporaryFilesARunKilledWhileWritingItLeft(@TempDir Path dir)
      throws Exception {
    DeadLetterWriter writer = new DeadLetterWriter(dir, "p1", "memory");
    try (SourceBatch batch = TestBatches.batch(allocator, "a", 0, 0, 3)) {
      String name = DeadLetterWriter.fileName("p1", "a", batch.positionAfter());
      Path stale = Files.write(dir.resolve("." + name + ".0badf00d.tmp"), new byte[7]);
      Path otherBatch = Files.write(dir.resolve(".other-1-abc.arrow.12345678.tmp"), new byte[7]);
      Path file = writer.write(batch, "again");
      try (var files = Files.list(dir)) {
        assertThat(files).containsExactlyInAnyOrder(file, otherBatch);
      }
      assertThat(stale).doesNotExist();
    }
  }
}
