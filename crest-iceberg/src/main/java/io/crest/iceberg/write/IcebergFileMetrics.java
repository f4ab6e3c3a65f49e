package io.crest.iceberg.write;

import io.crest.spi.ColumnStats;
import io.crest.spi.WrittenFile;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.apache.iceberg.Metrics;
import org.apache.iceberg.MetricsConfig;
import org.apache.iceberg.MetricsModes;
import org.apache.iceberg.MetricsUtil;
import org.apache.iceberg.Schema;
import org.apache.iceberg.expressions.Literal;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.BinaryUtil;
import org.apache.iceberg.util.UnicodeUtil;

/**
 * Turns the column stats of a file Crest wrote into Iceberg {@link Metrics}, honouring the
 * table's metrics config ({@code write.metadata.metrics.*}) the way Iceberg's own Parquet writer
 * does: no metrics for mode {@code none}, counts only for {@code counts}, bounds truncated for
 * {@code truncate(n)} (strings by code point, binary by byte), full bounds for {@code full}.
 * Stateless.
 */
public final class IcebergFileMetrics {
  private IcebergFileMetrics() {}

  /** The metrics of {@code file}, a file of {@code schema}'s columns. */
  public static Metrics of(WrittenFile file, Schema schema, MetricsConfig config) {
    Map<Integer, Long> sizes = new HashMap<>();
    Map<Integer, Long> values = new HashMap<>();
    Map<Integer, Long> nulls = new HashMap<>();
    Map<Integer, Long> nans = new HashMap<>();
    Map<Integer, ByteBuffer> lower = new HashMap<>();
    Map<Integer, ByteBuffer> upper = new HashMap<>();
    Map<Integer, Integer> parents = TypeUtil.indexParents(schema.asStruct());
    for (ColumnStats c : file.columns()) {
      int id = c.fieldId();
      Types.NestedField field = id < 0 ? null : schema.findField(id);
      if (field == null) {
        continue;
      }
      MetricsModes.MetricsMode mode = MetricsUtil.metricsMode(schema, config, id);
      if (mode == MetricsModes.None.get()) {
        continue;
      }
      sizes.put(id, c.sizeInBytes());
      if (isRepeated(schema, parents, id)) {
        // Iceberg keeps only sizes for columns inside lists and maps: their counts are per
        // element, not per row
        continue;
      }
      values.put(id, c.valueCount());
      nulls.put(id, c.nullCount());
      if (c.nanCount() >= 0) {
        nans.put(id, c.nanCount());
      }
      if (mode == MetricsModes.Counts.get() || c.lowerBound().isEmpty()) {
        continue;
      }
      Type type = field.type();
      ByteBuffer lo = toIceberg(type, c.lowerBound().get());
      ByteBuffer hi = toIceberg(type, c.upperBound().get());
      if (mode instanceof MetricsModes.Truncate) {
        int length = ((MetricsModes.Truncate) mode).length();
        switch (type.typeId()) {
          case STRING:
            {
              CharSequence loS = StandardCharsets.UTF_8.decode(lo).toString();
              CharSequence hiS = StandardCharsets.UTF_8.decode(hi).toString();
              lo = Conversions.toByteBuffer(type,
                  UnicodeUtil.truncateStringMin(Literal.of(loS), length).value());
              Literal<CharSequence> max = UnicodeUtil.truncateStringMax(Literal.of(hiS), length);
              hi = max == null ? null : Conversions.toByteBuffer(type, max.value());
              break;
            }
          case BINARY:
          case FIXED:
            {
              lo = BinaryUtil.truncateBinaryMin(Literal.of(lo), length).value();
              Literal<ByteBuffer> max = BinaryUtil.truncateBinaryMax(Literal.of(hi), length);
              hi = max == null ? null : max.value();
              break;
            }
          default:
            break;
        }
      }
      lower.put(id, lo);
      if (hi != null) {
        upper.put(id, hi);
      }
    }
    return new Metrics(file.rowCount(), sizes, values, nulls, nans, lower, upper);
  }

  /** Whether field {@code id} is inside a list or map, where Iceberg keeps no bounds. */
  private static boolean isRepeated(Schema schema, Map<Integer, Integer> parents, int id) {
    Integer p = parents.get(id);
    while (p != null) {
      Type t = schema.findType(p);
      if (t.isListType() || t.isMapType()) {
        return true;
      }
      p = parents.get(p);
    }
    return false;
  }

  /** A bound in Crest's physical encoding to Iceberg's single-value serialization. */
  private static ByteBuffer toIceberg(Type type, ByteBuffer bound) {
    ByteBuffer b = bound.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    switch (type.typeId()) {
      case DECIMAL:
        {
          int scale = ((Types.DecimalType) type).scale();
          BigInteger unscaled;
          if (b.remaining() == 4 && ((Types.DecimalType) type).precision() <= 9) {
            unscaled = BigInteger.valueOf(b.getInt(0));
          } else if (b.remaining() == 8 && ((Types.DecimalType) type).precision() <= 18) {
            unscaled = BigInteger.valueOf(b.getLong(0));
          } else {
            byte[] bytes = new byte[b.remaining()];
            b.duplicate().get(bytes);
            unscaled = new BigInteger(bytes);
          }
          return Conversions.toByteBuffer(type, new BigDecimal(unscaled, scale));
        }
      default:
        // booleans, ints, longs, floats, doubles, dates, times, timestamps are little-endian in
        // both; strings, binary, fixed and uuid are their raw bytes in both
        return b;
    }
  }
}
