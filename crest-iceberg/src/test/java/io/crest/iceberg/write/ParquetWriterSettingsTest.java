package io.crest.iceberg.write;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.spi.FileOutputFactory;
import io.crest.writer.FileWriters;
import io.crest.writer.ParquetWriterBuilder;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

class ParquetWriterSettingsTest {
  private static final FileOutputFactory NO_FILES = () -> {
    throw new AssertionError("no file should be opened");
  };

  private static ParquetWriterBuilder builder() {
    return FileWriters.parquet(new Schema(List.of(
        new Field("a", FieldType.nullable(new ArrowType.Int(32, true)), List.of()),
        new Field("d", FieldType.nullable(new ArrowType.FloatingPoint(
            org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)), List.of()),
        new Field("s", FieldType.nullable(ArrowType.Struct.INSTANCE), List.of(new Field("x",
            FieldType.nullable(new ArrowType.Int(32, true)), List.of()))))), NO_FILES);
  }

  @Test
  void malformedPageRowLimit_isRejectedNamingTableAndProperty() {
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(),
            Map.of("write.parquet.page-row-limit", "lots"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t: write.parquet.page-row-limit is 'lots', not a whole"
            + " number");
  }

  @Test
  void bloomFilterOnAnIntColumn_isMappedOntoTheBuilder_withItsFppAndMaxBytes() {
    ParquetWriterBuilder b = ParquetWriterSettings.apply(builder(), Map.of(
        "write.parquet.bloom-filter-enabled.column.a", "true",
        "write.parquet.bloom-filter-fpp.column.a", "0.05",
        "write.parquet.bloom-filter-max-bytes", "4096",
        "write.parquet.bloom-filter-ndv.column.a", "1000",
        "write.parquet.bloom-filter-enabled.column.gone", "true"), "db.t");
    // each was set once: setting one again names the value the properties gave
    assertThatThrownBy(() -> b.bloomFilter("a", 0.01))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("it was already set to 0.05");
    assertThatThrownBy(() -> b.bloomFilterMaxSize(io.crest.DataSize.bytes(64)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageEndingWith("it was already set to " + io.crest.DataSize.bytes(4096));
    b.build().close(); // the column that is gone was skipped, as Iceberg's writer skips it
    ParquetWriterSettings.apply(builder(),
        Map.of("write.parquet.bloom-filter-enabled.column.a", "false"), "db.t")
        .bloomFilter("a", 0.01); // a false one sets nothing
  }

  @Test
  void bloomFilterOnAColumnTheColumnarWriterWritesNoneFor_isRefusedNamingTheProperty() {
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(),
            Map.of("write.parquet.bloom-filter-enabled.column.d", "true"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t with Crest's columnar writer:"
            + " write.parquet.bloom-filter-enabled.column.d is true, and the columnar writer"
            + " writes no bloom filter for a floating-point column (0.0 equals -0.0, whose bits"
            + " differ) (Iceberg's writer does)");
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(),
            Map.of("write.parquet.bloom-filter-enabled.column.s.x", "true"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t with Crest's columnar writer:"
            + " write.parquet.bloom-filter-enabled.column.s.x is true, and the columnar writer"
            + " writes no bloom filter for a nested column (Iceberg's writer does)");
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(), Map.of(
            "write.parquet.bloom-filter-enabled.column.a", "true",
            "write.parquet.bloom-filter-fpp.column.a", "1.5"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t: write.parquet.bloom-filter-fpp.column.a is '1.5',"
            + " not between 0 and 1 (exclusive; e.g. 0.01)");
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(), Map.of(
            "write.parquet.bloom-filter-enabled.column.a", "true",
            "write.parquet.bloom-filter-max-bytes", "16"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t with Crest's columnar writer:"
            + " write.parquet.bloom-filter-max-bytes is 16, outside 32 bytes to 128 MiB (set it"
            + " within, for example 1048576)");
  }

  @Test
  void zstdLevelOutOfRange_isRejectedWhenBuilding() {
    ParquetWriterBuilder b = ParquetWriterSettings.apply(builder(),
        Map.of("write.parquet.compression-codec", "zstd",
            "write.parquet.compression-level", "25"), "db.t");

    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build Parquet writer: zstd level 25 is outside 1..22");
  }

  @Test
  void levelForSnappy_isIgnoredLikeIcebergDoes() {
    ParquetWriterBuilder b = ParquetWriterSettings.apply(builder(),
        Map.of("write.parquet.compression-codec", "snappy",
            "write.parquet.compression-level", "5"), "db.t");

    b.build().close();
  }

  @Test
  void zeroTargetFileSize_isRejected() {
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(),
            Map.of("write.target-file-size-bytes", "0"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set targetFileSize to 0 B: it must be positive");
  }
}
