package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.DataSize;
import io.crest.errors.ValidationException;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ArrowIpcFileWriterTest extends WriterTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)),
      field("name", true, ArrowType.Utf8.INSTANCE),
      list("tags", true, field("element", true, ArrowType.Utf8.INSTANCE))));

  private static List<List<Object>> columns(int rows, int offset) {
    List<Object[]> out = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      int v = offset + i;
      out.add(new Object[] {(long) v, v % 5 == 0 ? null : "name-" + v,
          v % 7 == 0 ? null : Batches.listValue("a" + v, null, "")});
    }
    return Batches.columns(out.toArray(new Object[0][]));
  }

  /** Every row of the Arrow files, as strings of the vectors' values. */
  private List<String> read(List<WrittenFile> written) throws Exception {
    List<String> rows = new ArrayList<>();
    for (WrittenFile f : written) {
      try (FileChannel ch = FileChannel.open(Path.of(f.location()), StandardOpenOption.READ);
          ArrowFileReader reader =
              new ArrowFileReader(ch, allocator, CommonsCompressionFactory.INSTANCE)) {
        while (reader.loadNextBatch()) {
          VectorSchemaRoot root = reader.getVectorSchemaRoot();
          for (int r = 0; r < root.getRowCount(); r++) {
            rows.add(root.getVector(0).getObject(r) + "|" + root.getVector(1).getObject(r) + "|"
                + root.getVector(2).getObject(r));
          }
        }
      }
    }
    return rows;
  }

  private List<String> expected(List<List<Object>> columns) {
    List<String> rows = new ArrayList<>();
    for (int r = 0; r < columns.get(0).size(); r++) {
      Object tags = columns.get(2).get(r);
      rows.add(columns.get(0).get(r) + "|" + columns.get(1).get(r) + "|"
          + (tags == null ? null : json((List<?>) tags)));
    }
    return rows;
  }

  private static String json(List<?> values) {
    List<String> parts = new ArrayList<>();
    for (Object v : values) {
      parts.add(v == null ? "null" : "\"" + v + "\"");
    }
    return "[" + String.join(",", parts) + "]";
  }

  @ParameterizedTest
  @EnumSource(ArrowIpcCompression.class)
  void everyCompression_roundTrip_arrowReaderReadsSameRows(ArrowIpcCompression compression)
      throws Exception {
    List<List<Object>> first = columns(1000, 0);
    List<List<Object>> second = columns(500, 1000);
    List<WrittenFile> written;
    try (FileWriter w = FileWriters.arrowIpc(SCHEMA, files, allocator)
        .compression(compression).build()) {
      for (List<List<Object>> c : List.of(first, second)) {
        try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, c)) {
          w.write(batch);
        }
      }
      written = w.finish();
    }

    assertThat(written).singleElement().satisfies(f -> {
      assertThat(f.format()).isEqualTo("arrow");
      assertThat(f.rowCount()).isEqualTo(1500);
      assertThat(f.sizeInBytes()).isEqualTo(Path.of(f.location()).toFile().length());
    });
    List<String> expected = new ArrayList<>(expected(first));
    expected.addAll(expected(second));
    assertThat(read(written)).isEqualTo(expected);
  }

  @Test
  void compressedFiles_areSmallerThanUncompressed() {
    long[] sizes = new long[2];
    int k = 0;
    for (ArrowIpcCompression c : List.of(ArrowIpcCompression.NONE, ArrowIpcCompression.ZSTD)) {
      try (FileWriter w = FileWriters.arrowIpc(SCHEMA, files, allocator).compression(c).build();
          VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, columns(5000, 0))) {
        w.write(batch);
        sizes[k++] = w.finish().get(0).sizeInBytes();
      }
    }
    assertThat(sizes[1]).isLessThan(sizes[0]);
  }

  @Test
  void targetFileSize_rollsBetweenBatches() throws Exception {
    List<WrittenFile> written;
    List<String> expected = new ArrayList<>();
    try (FileWriter w = FileWriters.arrowIpc(SCHEMA, files, allocator)
        .targetFileSize(DataSize.kib(20)).build()) {
      for (int b = 0; b < 5; b++) {
        List<List<Object>> c = columns(1000, b * 1000);
        expected.addAll(expected(c));
        try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, c)) {
          w.write(batch);
        }
      }
      written = w.finish();
    }

    assertThat(written).hasSize(5);
    assertThat(read(written)).isEqualTo(expected);
  }

  @Test
  void batchOfAnotherSchema_isRejectedNamingBothSchemas() {
    Schema other = new Schema(List.of(field("id", false, new ArrowType.Int(32, true))));
    try (FileWriter w = FileWriters.arrowIpc(SCHEMA, files, allocator).target("dead letters")
            .build();
        VectorSchemaRoot batch = Batches.batch(allocator, other,
            Batches.columns(new Object[] {1}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessageStartingWith("Cannot write batch to dead letters: its schema Schema<id:"
              + " Int(32, true) not null> differs from the file schema")
          .hasMessageEndingWith("(send batches of one schema per writer)");
    }
  }

  @Test
  void close_withoutFinish_releasesEveryBuffer() {
    FileWriter w = FileWriters.arrowIpc(SCHEMA, files, allocator).build();
    try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA, columns(100, 0))) {
      w.write(batch);
    }
    w.close();
    w.close();

    assertThat(allocator.getAllocatedMemory()).isZero();
    assertThatThrownBy(() -> w.write(null))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot write batch to arrow files: the Arrow IPC writer is closed");
  }
}
