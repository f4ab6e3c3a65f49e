package io.crest.iceberg.write;

import io.crest.DataSize;
import io.crest.writer.ParquetWriterBuilder;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.TableProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps an Iceberg table's {@code write.parquet.bloom-filter-*} properties onto Crest's Parquet
 * writer, as {@link ParquetWriterSettings#apply} describes. Stateless.
 */
final class BloomFilterSettings {
  private static final Logger LOG = LoggerFactory.getLogger(BloomFilterSettings.class);
  private static final String ENABLED = TableProperties.PARQUET_BLOOM_FILTER_COLUMN_ENABLED_PREFIX;
  private static final String FPP = TableProperties.PARQUET_BLOOM_FILTER_COLUMN_FPP_PREFIX;
  private static final String NDV = TableProperties.PARQUET_BLOOM_FILTER_COLUMN_NDV_PREFIX;
  private static final String MAX = TableProperties.PARQUET_BLOOM_FILTER_MAX_BYTES;

  private BloomFilterSettings() {}

  static void apply(ParquetWriterBuilder builder, Map<String, String> properties, String table) {
    boolean any = false;
    for (Map.Entry<String, String> e : new TreeMap<>(properties).entrySet()) {
      String key = e.getKey();
      if (!key.startsWith(ENABLED) || !Boolean.parseBoolean(e.getValue().trim())) {
        continue;
      }
      String name = key.substring(ENABLED.length());
      Field field = find(builder.schema().getFields(), name);
      int dot = name.indexOf('.');
      if (field == null && dot > 0
          && find(builder.schema().getFields(), name.substring(0, dot)) != null) {
        throw new IllegalArgumentException("Cannot write table " + table + " with Crest's"
            + " columnar writer: " + key + " is true, and the columnar writer writes no bloom"
            + " filter for a nested column (Iceberg's writer does)");
      }
      if (field == null) {
        LOG.warn("Table {}: {} names no top-level column; writing no bloom filter for it, as"
            + " Iceberg's writer skips it", table, key);
        continue;
      }
      checkType(field, key, table);
      if (properties.containsKey(NDV + name)) {
        // Iceberg's writer parses it as a long: fail as it would; the count is not needed here
        parse(NDV + name, properties.get(NDV + name), table);
      }
      String fppKey = FPP + name;
      String fppText = properties.get(fppKey);
      double fpp = TableProperties.PARQUET_BLOOM_FILTER_COLUMN_FPP_DEFAULT;
      if (fppText != null) {
        try {
          fpp = Double.parseDouble(fppText.trim());
        } catch (NumberFormatException ex) {
          throw new IllegalArgumentException("Cannot write table " + table + ": " + fppKey
              + " is '" + fppText + "', not a number (set it between 0 and 1, e.g. 0.01)", ex);
        }
      }
      if (!(fpp > 0 && fpp < 1)) {
        throw new IllegalArgumentException("Cannot write table " + table + ": " + fppKey
            + " is '" + fppText + "', not between 0 and 1 (exclusive; e.g. 0.01)");
      }
      builder.bloomFilter(field.getName(), fpp);
      any = true;
    }
    String max = properties.get(MAX);
    if (any && max != null) {
      long bytes = parse(MAX, max, table);
      if (bytes < 32 || bytes > 128L << 20) {
        throw new IllegalArgumentException("Cannot write table " + table + " with Crest's"
            + " columnar writer: " + MAX + " is " + bytes + ", outside 32 bytes to 128 MiB"
            + " (set it within, for example 1048576)");
      }
      builder.bloomFilterMaxSize(DataSize.bytes(bytes));
    }
  }

  /** The top-level field named {@code name}, or null. */
  private static Field find(java.util.List<Field> fields, String name) {
    for (Field f : fields) {
      if (f.getName().equals(name)) {
        return f;
      }
    }
    return null;
  }

  /**
   * Refuses the types the columnar writer writes no filter for; it stores the others as ints,
   * longs or byte arrays, which it does write filters for.
   */
  private static void checkType(Field field, String key, String table) {
    ArrowType.ArrowTypeID id = field.getType().getTypeID();
    String why;
    switch (id) {
      case Bool:
        why = "a boolean column";
        break;
      case FloatingPoint:
        why = "a floating-point column (0.0 equals -0.0, whose bits differ)";
        break;
      case Struct:
      case List:
      case LargeList:
      case FixedSizeList:
      case Map:
        why = "a nested column";
        break;
      default:
        return;
    }
    throw new IllegalArgumentException("Cannot write table " + table + " with Crest's columnar"
        + " writer: " + key + " is true, and the columnar writer writes no bloom filter for "
        + why + " (Iceberg's writer does)");
  }

  private static long parse(String key, String value, String table) {
    try {
      return Long.parseLong(value.trim().toLowerCase(Locale.ROOT));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Cannot write table " + table + ": " + key + " is '"
          + value + "', not a whole number", e);
    }
  }
}
