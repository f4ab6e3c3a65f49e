package io.crest.iceberg.write;

import io.crest.DataSize;
import io.crest.writer.ParquetCodec;
import io.crest.writer.ParquetWriterBuilder;
import java.util.Locale;
import java.util.Map;
import org.apache.iceberg.TableProperties;

/**
 * Maps an Iceberg table's {@code write.*} properties onto Crest's Parquet writer: target file
 * size, row group, page and dictionary sizes, page row limit, codec and level. A table that asks
 * for something the columnar writer does not write (a bloom filter on a column) is refused, so
 * that the sink writes it with Iceberg's writer. Stateless.
 */
public final class ParquetWriterSettings {
  private ParquetWriterSettings() {}

  /**
   * Configures {@code builder} from {@code properties}; properties that are absent keep
   * Iceberg's defaults.
   *
   * @throws IllegalArgumentException if a property is malformed, names a codec the columnar
   *     writer cannot write or enables a bloom filter, naming the table, the property and the
   *     value
   */
  public static ParquetWriterBuilder apply(
      ParquetWriterBuilder builder, Map<String, String> properties, String tableName) {
    for (Map.Entry<String, String> e : new java.util.TreeMap<>(properties).entrySet()) {
      if (e.getKey().startsWith(TableProperties.PARQUET_BLOOM_FILTER_COLUMN_ENABLED_PREFIX)
          && Boolean.parseBoolean(e.getValue().trim())) {
        // Iceberg's writer writes them: files without them would lose the table's promise
        throw new IllegalArgumentException("Cannot write table " + tableName + " with Crest's"
            + " columnar writer: " + e.getKey() + " is true, and the columnar writer writes no"
            + " bloom filters (Iceberg's writer does)");
      }
    }
    builder.target("table " + tableName);
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
