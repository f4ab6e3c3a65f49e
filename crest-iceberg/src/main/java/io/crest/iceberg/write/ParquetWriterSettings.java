package io.crest.iceberg.write;

import io.crest.DataSize;
import io.crest.writer.ParquetCodec;
import io.crest.writer.ParquetWriterBuilder;
import java.util.Locale;
import java.util.Map;
import org.apache.iceberg.TableProperties;

/**
 * Maps an Iceberg table's {@code write.*} properties onto Crest's Parquet writer: target file
 * size, row group, page and dictionary sizes, page row limit, codec and level, and bloom filters
 * ({@code write.parquet.bloom-filter-enabled.column.<col>}, {@code
 * write.parquet.bloom-filter-fpp.column.<col>}, {@code write.parquet.bloom-filter-max-bytes}). A
 * table that asks for something the columnar writer does not write (a codec it lacks, a bloom
 * filter on a nested, boolean or floating-point column) is refused, so that the sink writes it
 * with Iceberg's writer. Stateless.
 */
public final class ParquetWriterSettings {
  private ParquetWriterSettings() {}

  /**
   * Configures {@code builder} from {@code properties}; properties that are absent keep
   * Iceberg's defaults.
   *
   * <p>Bloom filters: a property naming no top-level column is skipped (with a warning), as
   * Iceberg's writer skips one naming no column. Each row group's filter
   * is sized from the distinct values the columnar writer counted in it, so {@code
   * write.parquet.bloom-filter-ndv.column.<col>} and {@code
   * write.parquet.bloom-filter-adaptive-enabled} (ways to size it without that count) are
   * accepted but not needed.
   *
   * @throws IllegalArgumentException if a property is malformed, names a codec the columnar
   *     writer cannot write or enables a bloom filter on a column it writes none for (nested,
   *     boolean, floating-point), naming the table, the property and the value
   */
  public static ParquetWriterBuilder apply(
      ParquetWriterBuilder builder, Map<String, String> properties, String tableName) {
    builder.target("table " + tableName);
    BloomFilterSettings.apply(builder, properties, tableName);
    builder.targetFileSize(DataSize.bytes(longProp(properties,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT, tableName)));
    builder.rowGroupSize(DataSize.bytes(longProp(properties,
        TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES,
        TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT, tableName)));
    builder.pageSize(DataSize.bytes(longProp(properties,
        TableProperties.PARQUET_PAGE_SIZE_BYTES,
        TableProperties.PARQUET_PAGE_SIZE_BYTES_DEFAULT, tableName)));
    builder.pageRowLimit((int) longProp(properties, TableProperties.PARQUET_PAGE_ROW_LIMIT,
        TableProperties.PARQUET_PAGE_ROW_LIMIT_DEFAULT, tableName));
    builder.dictionarySize(DataSize.bytes(longProp(properties,
        TableProperties.PARQUET_DICT_SIZE_BYTES,
        TableProperties.PARQUET_DICT_SIZE_BYTES_DEFAULT, tableName)));
    String codecName = properties.getOrDefault(TableProperties.PARQUET_COMPRESSION,
        TableProperties.PARQUET_COMPRESSION_DEFAULT);
    ParquetCodec codec;
    try {
      codec = ParquetCodec.fromName(codecName);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("Cannot write table " + tableName + ": "
          + TableProperties.PARQUET_COMPRESSION + " is '" + codecName + "', which Crest's"
          + " columnar writer does not support (set it to uncompressed, snappy, gzip, zstd or"
          + " lz4_raw, or use the generic writer)", e);
    }
    builder.codec(codec);
    String level = properties.get(TableProperties.PARQUET_COMPRESSION_LEVEL);
    if (level != null && (codec == ParquetCodec.ZSTD || codec == ParquetCodec.GZIP)) {
      builder.compressionLevel((int) longProp(properties,
          TableProperties.PARQUET_COMPRESSION_LEVEL, 0, tableName));
    }
    return builder;
  }

  private static long longProp(Map<String, String> p, String key, long dflt, String table) {
    String v = p.get(key);
    if (v == null) {
      return dflt;
    }
    try {
      return Long.parseLong(v.trim().toLowerCase(Locale.ROOT));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Cannot write table " + table + ": " + key + " is '"
          + v + "', not a whole number", e);
    }
  }
}
