package io.crest.writer;

import static io.crest.writer.Batches.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.crest.errors.ValidationException;
import io.crest.spi.FileOutput;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import io.crest.writer.internal.ParquetColumnarWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

/**
 * The Parquet writer with {@code encoderThreads(n > 1)}: batches encoded on the writer's threads.
 * The allocator's leak check also catches a buffer reference a thread kept.
 */
class ParallelParquetWriterTest extends WriterTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      FileWriters.withFieldId(field("id", false, new ArrowType.Int(64, true)), 1),
      FileWriters.withFieldId(field("name", true, ArrowType.Utf8.INSTANCE), 2)));

  private FileWriter parallel(int threads, FileOutputFactory outputs) {
    return FileWriters.parquet(SCHEMA, outputs).target("db.t").codec(ParquetCodec.SNAPPY)
        .encoderThreads(threads).build();
  }

  /** Writes rows {@code first .. first + rows - 1} and closes the batch at once. */
  private void write(FileWriter w, long first, int rows) {
    Object[][] data = new Object[rows][];
    for (int i = 0; i < rows; i++) {
      long id = first + i;
      data[i] = new Object[] {id, id % 7 == 0 ? null : "name-" + id};
    }
    try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, Batches.columns(data))) {
      w.write(batch);
    }
  }

  private static List<List<Object>> expectedRows(long from, long to) {
    List<List<Object>> rows = new ArrayList<>();
    for (long id = from; id < to; id++) {
      rows.add(java.util.Arrays.asList(id, id % 7 == 0 ? null : "name-" + id));
    }
    return rows;
  }

  private static List<List<Object>> readAll(List<WrittenFile> written) throws IOException {
    List<List<Object>> rows = new ArrayList<>();
    for (WrittenFile f : written) {
      List<List<Object>> fileRows = TestFiles.readRows(Path.of(f.location()));
      assertThat(fileRows).hasSize((int) f.rowCount());
      assertThat(f.sizeInBytes()).isEqualTo(Files.size(Path.of(f.location())));
      rows.addAll(fileRows);
    }
    return rows;
  }

  @Test
  void manyBatches_onThreeThreads_everyRowIsInExactlyOneFile() throws Exception {
    try (FileWriter w = parallel(3, files)) {
      for (int b = 0; b < 40; b++) {
        write(w, b * 1000L, 1000);
      }
      List<WrittenFile> written = w.finish();

      assertThat(written).hasSizeBetween(1, 3);
      assertThat(written).extracting(WrittenFile::rowCount).allMatch(r -> r % 1000 == 0);
      assertThat(written.stream().mapToLong(WrittenFile::rowCount).sum()).isEqualTo(40_000);
      assertThat(files.created()).hasSameSizeAs(written);
      List<List<Object>> rows = readAll(written);
      rows.sort(java.util.Comparator.comparingLong(r -> (Long) r.get(0)));
      assertThat(rows).containsExactlyElementsOf(expectedRows(0, 40_000));
    }
  }

  @Test
  void finish_waitsForQueuedBatches_andWriterStaysUsable() throws Exception {
    try (FileWriter w = parallel(2, files)) {
      write(w, 0, 500);
      write(w, 500, 500);
      List<WrittenFile> first = w.finish();
      assertThat(w.openFileBytes()).isZero();
      write(w, 1000, 300);
      List<WrittenFile> second = w.finish();

      assertThat(readAll(first)).containsExactlyInAnyOrderElementsOf(expectedRows(0, 1000));
      assertThat(second).singleElement().extracting(WrittenFile::rowCount).isEqualTo(300L);
      assertThat(readAll(second)).containsExactlyInAnyOrderElementsOf(expectedRows(1000, 1300));
      assertThat(w.finish()).isEmpty();
    }
  }

  @Test
  void roll_endsEveryThreadsFile_andFinishReturnsThemAll() throws Exception {
    try (FileWriter w = parallel(2, files)) {
      write(w, 0, 100);
      w.roll();
      assertThat(w.openFileBytes()).isZero();
      write(w, 100, 100);
      List<WrittenFile> written = w.finish();

      assertThat(written).extracting(WrittenFile::rowCount).containsExactly(100L, 100L);
      assertThat(readAll(written)).containsExactlyInAnyOrderElementsOf(expectedRows(0, 200));
    }
  }

  @Test
  void nullInRequiredColumn_onAThread_failsTheNextCallWithTheOriginalCause() {
    Schema input = new Schema(List.of(field("id", true, new ArrowType.Int(64, true)),
        field("name", true, ArrowType.Utf8.INSTANCE)));
    FileWriter w = parallel(2, files);
    try (VectorSchemaRoot bad = Batches.batch(allocator, input,
        Batches.columns(new Object[] {1L, "a"}, new Object[] {null, "b"}))) {
      w.write(bad); // the columns fit: the null is found on a thread
    }

    assertThatThrownBy(w::finish)
        .isInstanceOf(ValidationException.class)
        .hasMessageStartingWith("Cannot finish files for db.t: encoder thread"
            + " crest-parquet-encoder-db.t-")
        .hasMessageEndingWith("failed on an earlier batch (Cannot write batch to db.t: column 'id'"
            + " is required but value 1 of the batch's vector is null (fill the value, or make the"
            + " column optional)); close this writer and discard its files")
        .cause()
        .isInstanceOf(ValidationException.class)
        .hasMessage("Cannot write batch to db.t: column 'id' is required but value 1 of the"
            + " batch's vector is null (fill the value, or make the column optional)");
    assertThatThrownBy(() -> write(w, 0, 10))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot write batch to db.t: encoder thread")
        .cause()
        .isInstanceOf(ValidationException.class);
    w.close(); // the failure was reported: close only releases
  }

  @Test
  void ioFailure_onAThread_surfacesAsUncheckedIoOnTheNextWrite() {
    FileOutputFactory broken = () -> new FileOutput() {
      @Override
      public String location() {
        return "broken://file";
      }

      @Override
      public OutputStream create() {
        throw new UncheckedIOException(new IOException("disk full"));
      }
    };
    FileWriter w = parallel(2, broken);
    write(w, 0, 10);

    await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
        assertThatThrownBy(() -> write(w, 10, 10))
            .isInstanceOf(UncheckedIOException.class)
            .hasMessageContaining("failed on an earlier batch (java.io.IOException: disk full)")
            .cause()
            .isInstanceOf(IOException.class)
            .hasMessage("disk full"));
    w.close();
  }

  @Test
  void unreportedFailure_isThrownByClose() throws Exception {
    CountDownLatch opened = new CountDownLatch(1);
    FileWriter w = parallel(2, () -> {
      opened.countDown();
      throw new UncheckedIOException(new IOException("no such bucket"));
    });
    write(w, 0, 10);
    // a thread took the batch: close() waits for it instead of dropping it
    assertThat(opened.await(10, TimeUnit.SECONDS)).isTrue();

    assertThatThrownBy(w::close)
        .isInstanceOf(UncheckedIOException.class)
        .hasMessageStartingWith("Cannot close db.t: encoder thread")
        .cause()
        .isInstanceOf(IOException.class)
        .hasMessage("no such bucket");
    w.close(); // twice is safe
  }

  @Test
  void unknownColumn_isRejectedByWriteItself_andTheWriterStaysUsable() throws Exception {
    Schema input = new Schema(List.of(field("id", false, new ArrowType.Int(64, true)),
        field("extra", true, ArrowType.Utf8.INSTANCE)));
    try (FileWriter w = parallel(2, files);
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {1L, "x"}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to db.t: the batch has columns [extra] that the file"
              + " schema lacks (drop them, or add them to the table first)");

      write(w, 0, 5);
      assertThat(readAll(w.finish())).containsExactlyInAnyOrderElementsOf(expectedRows(0, 5));
    }
  }

  @Test
  void close_withBatchesQueued_releasesThem_stopsThreads_andDeletesNothing() throws Exception {
    CountDownLatch opening = new CountDownLatch(2);
    CountDownLatch proceed = new CountDownLatch(1);
    FileOutputFactory slow = () -> {
      FileOutput out = files.newOutput();
      return new FileOutput() {
        @Override
        public String location() {
          return out.location();
        }

        @Override
        public OutputStream create() {
          opening.countDown();
          try {
            proceed.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return out.create();
        }
      };
    };
    FileWriter w = parallel(2, slow);
    write(w, 0, 100);
    write(w, 100, 100);
    assertThat(opening.await(10, TimeUnit.SECONDS)).isTrue(); // both threads hold a batch
    long twoHeld = w.openFileBytes();
    write(w, 200, 100);
    write(w, 300, 100); // the queue (one per thread) is full now
    assertThat(w.openFileBytes()).isGreaterThan(twoHeld);

    CompletableFuture<Void> closing = CompletableFuture.runAsync(w::close);
    // close() drops the queued batches first, then waits for the two being encoded
    await().atMost(Duration.ofSeconds(10)).until(() -> w.openFileBytes() == twoHeld);
    proceed.countDown();
    closing.get(30, TimeUnit.SECONDS);

    assertThat(files.created()).hasSize(2);
    assertThat(files.created()).allMatch(Files::exists); // unfinished, but not ours to delete
    assertThat(Thread.getAllStackTraces().keySet()).noneMatch(
        t -> t.getName().startsWith("crest-parquet-encoder-db.t-"));
    assertThatThrownBy(() -> write(w, 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot write batch to db.t: the Parquet writer is closed");
  }

  /** What a held-bytes listener was told: the running sum and the lowest it ever was. */
  private static final class Held implements java.util.function.LongConsumer {
    final java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong lowest =
        new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicInteger calls =
        new java.util.concurrent.atomic.AtomicInteger();

    @Override
    public void accept(long delta) {
      calls.incrementAndGet();
      lowest.accumulateAndGet(now.addAndGet(delta), Math::min);
    }
  }

  private FileWriter parallel(int threads, FileOutputFactory outputs, Held held) {
    return FileWriters.parquet(SCHEMA, outputs).target("db.t").codec(ParquetCodec.SNAPPY)
        .encoderThreads(threads).heldBytesListener(held).build();
  }

  /** The bytes the pipeline counts for the batch {@link #write} makes of these rows. */
  private long batchBytes(long first, int rows) {
    Object[][] data = new Object[rows][];
    for (int i = 0; i < rows; i++) {
      long id = first + i;
      data[i] = new Object[] {id, id % 7 == 0 ? null : "name-" + id};
    }
    try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, Batches.columns(data))) {
      return batch.getFieldVectors().stream().mapToLong(v -> v.getBufferSize()).sum();
    }
  }

  /** An output factory whose files open only once {@code proceed} is counted down. */
  private FileOutputFactory gated(CountDownLatch opening, CountDownLatch proceed) {
    return () -> {
      FileOutput out = files.newOutput();
      return new FileOutput() {
        @Override
        public String location() {
          return out.location();
        }

        @Override
        public OutputStream create() {
          opening.countDown();
          try {
            proceed.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return out.create();
        }
      };
    };
  }

  @Test
  void heldBytes_countTheBatchesWaitingForThreads_untilFinishReleasesThem() throws Exception {
    Held held = new Held();
    CountDownLatch opening = new CountDownLatch(2);
    CountDownLatch proceed = new CountDownLatch(1);
    try (FileWriter w = parallel(2, gated(opening, proceed), held)) {
      long expected = 0;
      for (int b = 0; b < 4; b++) {
        write(w, b * 100L, 100); // the caller closed each batch: the threads hold the buffers
        expected += batchBytes(b * 100L, 100);
      }
      assertThat(opening.await(10, TimeUnit.SECONDS)).isTrue(); // two encoding, two queued
      assertThat(held.now.get()).isEqualTo(expected).isPositive();

      proceed.countDown();
      assertThat(readAll(w.finish())).containsExactlyInAnyOrderElementsOf(expectedRows(0, 400));
      assertThat(held.now.get()).isZero();

      write(w, 400, 100); // usable again, and released again
      assertThat(w.finish()).isNotEmpty();
      assertThat(held.now.get()).isZero();
    }
    assertThat(held.lowest.get()).isZero();
    assertThat(held.calls.get()).isEqualTo(10);
  }

  @Test
  void heldBytes_ofAnAbandonedWriter_areReleasedByClose() throws Exception {
    Held held = new Held();
    CountDownLatch opening = new CountDownLatch(2);
    CountDownLatch proceed = new CountDownLatch(1);
    FileWriter w = parallel(2, gated(opening, proceed), held);
    for (int b = 0; b < 4; b++) {
      write(w, b * 100L, 100);
    }
    assertThat(opening.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(held.now.get()).isPositive();

    CompletableFuture<Void> closing = CompletableFuture.runAsync(w::close);
    // the queued batches are dropped at once; the two being encoded are held until they end
    await().atMost(Duration.ofSeconds(10)).until(
        () -> held.now.get() == batchBytes(0, 100) + batchBytes(100, 100));
    proceed.countDown();
    closing.get(30, TimeUnit.SECONDS);

    assertThat(held.now.get()).isZero();
    assertThat(held.lowest.get()).isZero();
    w.close();
    assertThat(held.now.get()).isZero();
  }

  @Test
  void heldBytes_afterAnEncoderFailure_areReleased() {
    Held held = new Held();
    Schema input = new Schema(List.of(field("id", true, new ArrowType.Int(64, true)),
        field("name", true, ArrowType.Utf8.INSTANCE)));
    FileWriter w = parallel(2, files, held);
    try (VectorSchemaRoot bad = Batches.batch(allocator, input,
        Batches.columns(new Object[] {1L, "a"}, new Object[] {null, "b"}))) {
      w.write(bad); // the null is found on a thread
    }
    for (int b = 0; b < 6; b++) {
      try {
        write(w, b * 100L, 100); // queued behind the failure, or refused once it is known
      } catch (RuntimeException expected) {
        break;
      }
    }

    // a ValidationException, or an IllegalStateException if a write reported it first
    assertThatThrownBy(w::finish).hasMessageContaining("column 'id' is required");
    assertThat(held.now.get()).isZero();
    w.close();
    assertThat(held.now.get()).isZero();
    assertThat(held.lowest.get()).isZero();
    assertThat(held.calls.get()).isPositive().isEven();
  }

  @Test
  void heldBytes_ofOneThread_areNeverReported() throws Exception {
    Held held = new Held();
    try (FileWriter w = parallel(1, files, held)) {
      write(w, 0, 100);
      assertThat(w.finish()).hasSize(1);
    }
    assertThat(held.calls.get()).isZero();
  }

  @Test
  void heldBytesListener_setTwice_isRejectedNamingTheEarlierValue() {
    Held first = new Held();
    ParquetWriterBuilder b = FileWriters.parquet(SCHEMA, files).heldBytesListener(first);
    assertThatThrownBy(() -> b.heldBytesListener(new Held()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot set heldBytesListener to ")
        .hasMessageContaining(": it was already set to ");
  }

  @Test
  void oneThread_isTheSingleThreadWriter() {
    try (FileWriter w = FileWriters.parquet(SCHEMA, files).encoderThreads(1).build()) {
      assertThat(w).isInstanceOf(ParquetColumnarWriter.class);
    }
  }

  @Test
  void encoderThreads_lessThanOne_isRejected() {
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).encoderThreads(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set encoderThreads to 0: it must be at least 1");
  }

  @Test
  void encoderThreads_setTwice_isRejectedNamingTheEarlierValue() {
    ParquetWriterBuilder b = FileWriters.parquet(SCHEMA, files).encoderThreads(2);
    assertThatThrownBy(() -> b.encoderThreads(4))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set encoderThreads to 4: it was already set to 2");
  }
}
