package io.crest.iceberg.testing;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseFixedWidthVector;
import org.apache.arrow.vector.BaseLargeVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.Decimal256Vector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float2Vector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeMicroVector;
import org.apache.arrow.vector.TimeMilliVector;
import org.apache.arrow.vector.TimeNanoVector;
import org.apache.arrow.vector.TimeSecVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.UuidVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Builds Arrow batches from plain Java values, written straight into the vectors (never through the
 * code under test). Raw Arrow values: numbers in the vector's own unit (epoch seconds, days,
 * nanoseconds of day, ...), {@code String} for Utf8, {@code byte[]} for binary and fixed, {@code
 * UUID} for {@code arrow.uuid}, {@code BigDecimal} for decimals, {@code List} for lists, {@code
 * Map<String, ?>} for structs (by child name) and {@code Map} for maps; {@code null} is null.
 */
public final class ArrowTestData {
  private ArrowTestData() {}

  /** A root holding one batch; the caller closes it. {@code columns} holds one list per field. */
  public static VectorSchemaRoot batch(BufferAllocator allocator, Schema schema, List<List<?>> columns) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    try {
      root.allocateNew();
      int rows = columns.isEmpty() ? 0 : columns.get(0).size();
      for (int c = 0; c < columns.size(); c++) {
        List<?> values = columns.get(c);
        for (int r = 0; r < rows; r++) {
          write(root.getVector(c), r, values.get(r));
        }
      }
      root.setRowCount(rows);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  /** A list that may hold nulls. */
  public static List<Object> values(Object... values) {
    return Arrays.asList(values);
  }

  /** A struct value or an expected struct: names and values alternating; values may be null. */
  public static Map<String, Object> struct(Object... namesAndValues) {
    Map<String, Object> struct = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      struct.put((String) namesAndValues[i], namesAndValues[i + 1]);
    }
    return struct;
  }

  /** A map value: keys and values alternating; values may be null. */
  public static Map<Object, Object> map(Object... keysAndValues) {
    Map<Object, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      map.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return map;
  }

  public static Field field(String name, boolean nullable, ArrowType type, Field... children) {
    return new Field(name, new FieldType(nullable, type, null), List.of(children));
  }

  public static Field listOf(String name, boolean nullable, Field element) {
    return field(name, nullable, ArrowType.List.INSTANCE, element);
  }

  public static Field structOf(String name, boolean nullable, Field... children) {
    return field(name, nullable, ArrowType.Struct.INSTANCE, children);
  }

  public static Field mapOf(String name, boolean nullable, ArrowType key, Field value) {
    return field(
        name,
        nullable,
        new ArrowType.Map(false),
        field(
            MapVector.DATA_VECTOR_NAME,
            false,
            ArrowType.Struct.INSTANCE,
            field(MapVector.KEY_NAME, false, key),
            value));
  }

  @SuppressWarnings("unchecked")
  public static void write(ValueVector vector, int index, Object value) {
    if (value == null) {
      setNull(vector, index);
    } else if (vector instanceof MapVector) {
      MapVector map = (MapVector) vector;
      Map<Object, Object> entries = (Map<Object, Object>) value;
      int offset = map.startNewValue(index);
      StructVector entryVector = (StructVector) map.getDataVector();
      int j = offset;
      for (Map.Entry<Object, Object> entry : entries.entrySet()) {
        entryVector.setIndexDefined(j);
        write(entryVector.getChildByOrdinal(0), j, entry.getKey());
        write(entryVector.getChildByOrdinal(1), j, entry.getValue());
        j++;
      }
      map.endValue(index, entries.size());
    } else if (vector instanceof ListVector) {
      ListVector list = (ListVector) vector;
      List<Object> elements = (List<Object>) value;
      int offset = list.startNewValue(index);
      for (int j = 0; j < elements.size(); j++) {
        write(list.getDataVector(), offset + j, elements.get(j));
      }
      list.endValue(index, elements.size());
    } else if (vector instanceof LargeListVector) {
      LargeListVector list = (LargeListVector) vector;
      List<Object> elements = (List<Object>) value;
      int offset = Math.toIntExact(list.startNewValue(index));
      for (int j = 0; j < elements.size(); j++) {
        write(list.getDataVector(), offset + j, elements.get(j));
      }
      list.endValue(index, elements.size());
    } else if (vector instanceof FixedSizeListVector) {
      FixedSizeListVector list = (FixedSizeListVector) vector;
      List<Object> elements = (List<Object>) value;
      int offset = list.startNewValue(index);
      for (int j = 0; j < elements.size(); j++) {
        write(list.getDataVector(), offset + j, elements.get(j));
      }
    } else if (vector instanceof StructVector) {
      StructVector struct = (StructVector) vector;
      Map<String, Object> fields = (Map<String, Object>) value;
      struct.setIndexDefined(index);
      for (Map.Entry<String, Object> field : fields.entrySet()) {
        write(struct.getChild(field.getKey()), index, field.getValue());
      }
    } else {
      writePrimitive(vector, index, value);
    }
  }

  private static void writePrimitive(ValueVector vector, int index, Object value) {
    if (vector instanceof BitVector) {
      ((BitVector) vector).setSafe(index, (Boolean) value ? 1 : 0);
    } else if (vector instanceof TinyIntVector) {
      ((TinyIntVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof SmallIntVector) {
      ((SmallIntVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof IntVector) {
      ((IntVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof BigIntVector) {
      ((BigIntVector) vector).setSafe(index, ((Number) value).longValue());
    } else if (vector instanceof UInt1Vector) {
      ((UInt1Vector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof UInt2Vector) {
      ((UInt2Vector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof UInt4Vector) {
      ((UInt4Vector) vector).setSafe(index, (int) ((Number) value).longValue());
    } else if (vector instanceof Float2Vector) {
      ((Float2Vector) vector).setSafeWithPossibleTruncate(index, ((Number) value).floatValue());
    } else if (vector instanceof Float4Vector) {
      ((Float4Vector) vector).setSafe(index, ((Number) value).floatValue());
    } else if (vector instanceof Float8Vector) {
      ((Float8Vector) vector).setSafe(index, ((Number) value).doubleValue());
    } else if (vector instanceof DecimalVector) {
      ((DecimalVector) vector).setSafe(index, (BigDecimal) value);
    } else if (vector instanceof Decimal256Vector) {
      ((Decimal256Vector) vector).setSafe(index, (BigDecimal) value);
    } else if (vector instanceof DateDayVector) {
      ((DateDayVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof DateMilliVector) {
      ((DateMilliVector) vector).setSafe(index, ((Number) value).longValue());
    } else if (vector instanceof TimeSecVector) {
      ((TimeSecVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof TimeMilliVector) {
      ((TimeMilliVector) vector).setSafe(index, ((Number) value).intValue());
    } else if (vector instanceof TimeMicroVector) {
      ((TimeMicroVector) vector).setSafe(index, ((Number) value).longValue());
    } else if (vector instanceof TimeNanoVector) {
      ((TimeNanoVector) vector).setSafe(index, ((Number) value).longValue());
    } else if (vector instanceof TimeStampVector) {
      ((TimeStampVector) vector).setSafe(index, ((Number) value).longValue());
    } else if (vector instanceof UuidVector) {
      ((UuidVector) vector).setSafe(index, (UUID) value);
    } else if (vector instanceof FixedSizeBinaryVector) {
      ((FixedSizeBinaryVector) vector).setSafe(index, (byte[]) value);
    } else if (vector instanceof BaseVariableWidthVector) {
      ((BaseVariableWidthVector) vector).setSafe(index, bytes(value));
    } else if (vector instanceof BaseLargeVariableWidthVector) {
      ((BaseLargeVariableWidthVector) vector).setSafe(index, bytes(value));
    } else if (vector instanceof BaseVariableWidthViewVector) {
      ((BaseVariableWidthViewVector) vector).setSafe(index, bytes(value));
    } else {
      throw new IllegalArgumentException("No test writer for " + vector.getClass());
    }
  }

  private static byte[] bytes(Object value) {
    return value instanceof String
        ? ((String) value).getBytes(StandardCharsets.UTF_8)
        : (byte[]) value;
  }

  private static void setNull(ValueVector vector, int index) {
    if (vector instanceof ListVector) {
      ((ListVector) vector).setNull(index);
    } else if (vector instanceof LargeListVector) {
      ((LargeListVector) vector).setNull(index);
    } else if (vector instanceof FixedSizeListVector) {
      ((FixedSizeListVector) vector).setNull(index);
    } else if (vector instanceof StructVector) {
      ((StructVector) vector).setNull(index);
    } else if (vector instanceof UuidVector) {
      ((UuidVector) vector).getUnderlyingVector().setNull(index);
    } else if (vector instanceof BaseFixedWidthVector) {
      ((BaseFixedWidthVector) vector).setNull(index);
    } else if (vector instanceof BaseVariableWidthVector) {
      ((BaseVariableWidthVector) vector).setNull(index);
    } else if (vector instanceof BaseLargeVariableWidthVector) {
      ((BaseLargeVariableWidthVector) vector).setNull(index);
    } else if (vector instanceof BaseVariableWidthViewVector) {
      ((BaseVariableWidthViewVector) vector).setNull(index);
    } else {
      throw new IllegalArgumentException("No test null writer for " + vector.getClass());
    }
  }

  /** Column values as a list of per-column lists, from rows given as arrays. */
  public static List<List<?>> columns(Object[]... rows) {
    List<List<?>> columns = new ArrayList<>();
    for (int c = 0; c < rows[0].length; c++) {
      List<Object> column = new ArrayList<>();
      for (Object[] row : rows) {
        column.add(row[c]);
      }
      columns.add(column);
    }
    return columns;
  }
}
