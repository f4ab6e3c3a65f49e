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
    return FileWriters.parquet(new Schema(List.of(new Field("a",
        FieldType.nullable(new ArrowType.Int(32, true)), List.of()))), NO_FILES);
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
  void bloomFilterOnAColumn_isRefusedNamingTheProperty_andAFalseOneIsNot() {
    assertThatThrownBy(() -> ParquetWriterSettings.apply(builder(),
            Map.of("write.parquet.bloom-filter-enabled.column.a", "true"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table db.t with Crest's columnar writer:"
            + " write.parquet.bloom-filter-enabled.column.a is true, and the columnar writer"
            + " writes no bloom filters (Iceberg's writer does)");
    ParquetWriterSettings.apply(builder(),
        Map.of("write.parquet.bloom-filter-enabled.column.a", "false"), "db.t").build().close();
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
