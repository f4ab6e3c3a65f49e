package io.crest.writer;

import static io.crest.writer.Batches.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.nio.file.Path;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

/** The {@link FileWriter} contract, run by every implementation. */
abstract class FileWriterContractTest extends WriterTestBase {
  static final Schema SCHEMA = new Schema(List.of(
      FileWriters.withFieldId(field("id", false, new ArrowType.Int(64, true)), 1),
      FileWriters.withFieldId(field("name", true, ArrowType.Utf8.INSTANCE), 2)));

  abstract FileWriter newWriter();

  abstract String format();

  private void write(FileWriter w, int rows) {
    Object[][] data = new Object[rows][];
    for (int i = 0; i < rows; i++) {
      data[i] = new Object[] {(long) i, i % 3 == 0 ? null : "n" + i};
    }
    List<List<Object>> columns =
        rows == 0 ? List.of(List.of(), List.of()) : Batches.columns(data);
    try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, columns)) {
      w.write(batch);
    }
  }

  @Test
  void finish_afterWrites_describesOneFileWithAllRows() {
    try (FileWriter w = newWriter()) {
      write(w, 10);
      write(w, 5);
      List<WrittenFile> files = w.finish();

      assertThat(files).singleElement().satisfies(f -> {
        assertThat(f.rowCount()).isEqualTo(15);
        assertThat(f.format()).isEqualTo(format());
        assertThat(f.sizeInBytes()).isEqualTo(Path.of(f.location()).toFile().length());
      });
    }
  }

  @Test
  void finish_withNothingWritten_returnsNoFile() {
    try (FileWriter w = newWriter()) {
      write(w, 0);

      assertThat(w.finish()).isEmpty();
      assertThat(files.created()).isEmpty();
    }
  }

  @Test
  void roll_betweenWrites_startsASecondFile_andFinishReturnsBoth() {
    try (FileWriter w = newWriter()) {
      write(w, 3);
      w.roll();
      write(w, 4);

      assertThat(w.finish()).extracting(WrittenFile::rowCount).containsExactly(3L, 4L);
      assertThat(w.finish()).isEmpty();
    }
  }

  @Test
  void openFileBytes_isZeroWithoutOpenFile_andPositiveWhileWriting() {
    try (FileWriter w = newWriter()) {
      assertThat(w.openFileBytes()).isZero();
      write(w, 100);
      assertThat(w.openFileBytes()).isPositive();
      w.finish();
      assertThat(w.openFileBytes()).isZero();
    }
  }

  @Test
  void writerStaysUsableAfterFinish() {
    try (FileWriter w = newWriter()) {
      write(w, 2);
      w.finish();
      write(w, 3);

      assertThat(w.finish()).extracting(WrittenFile::rowCount).containsExactly(3L);
    }
  }

  @Test
  void close_twice_isSafe_andWriteAfterCloseIsRejected() {
    FileWriter w = newWriter();
    write(w, 2);
    w.close();
    w.close();

    assertThatThrownBy(() -> write(w, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("Cannot write batch to ")
        .hasMessageEndingWith("writer is closed");
  }
}
