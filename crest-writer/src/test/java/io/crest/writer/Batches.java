package io.crest.writer;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.Decimal256Vector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeMicroVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.UuidVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Builds Arrow batches from plain Java values: Boolean, Integer (8 to 32-bit ints, dates), Long
 * (64-bit ints, times, timestamps), Float, Double, String (strings; hex for binary and fixed),
 * BigDecimal, UUID, List, Map of String (structs) or Map (maps), null.
 */
final class Batches {
  private Batches() {}

  static Field field(String name, boolean nullable, ArrowType type, Field... children) {
    return new Field(name, new FieldType(nullable, type, null), List.of(children));
  }

  static Field id(int id, Field f) {
    return FileWriters.withFieldId(f, id);
  }

  static Field list(String name, boolean nullable, Field element) {
    return field(name, nullable, ArrowType.List.INSTANCE, element);
  }

  static Field map(String name, boolean nullable, Field key, Field value) {
    Field entries = field("entries", false, ArrowType.Struct.INSTANCE, key, value);
    return field(name, nullable, new ArrowType.Map(false), entries);
  }

  static Field struct(String name, boolean nullable, Field... children) {
    return field(name, nullable, ArrowType.Struct.INSTANCE, children);
  }

  /** A batch of {@code schema} whose column {@code c} holds {@code columns.get(c)}. */
  static VectorSchemaRoot batch(BufferAllocator allocator, Schema schema,
      List<List<Object>> columns) {
    VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
    try {
      fill(root, columns);
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
    return root;
  }

  private static void fill(VectorSchemaRoot root, List<List<Object>> columns) {
    int rows = columns.isEmpty() ? 0 : columns.get(0).size();
    for (int c = 0; c < columns.size(); c++) {
      FieldVector v = root.getVector(c);
      v.setInitialCapacity(rows);
      v.allocateNew();
      for (int r = 0; r < rows; r++) {
        set(v, r, columns.get(c).get(r));
      }
      v.setValueCount(rows);
    }
    root.setRowCount(rows);
  }

  @SuppressWarnings("unchecked")
  static void set(ValueVector v, int i, Object value) {
    if (value == null) {
      if (v instanceof StructVector) {
        ((StructVector) v).setNull(i);
      } else if (v instanceof ListVector) {
        ((ListVector) v).setNull(i);
      } else {
        ((FieldVector) v).setNull(i);
      }
      return;
    }
    if (v instanceof MapVector) {
      MapVector m = (MapVector) v;
      Map<Object, Object> map = (Map<Object, Object>) value;
      int start = m.startNewValue(i);
      StructVector entries = (StructVector) m.getDataVector();
      int k = 0;
      for (Map.Entry<Object, Object> e : map.entrySet()) {
        entries.setIndexDefined(start + k);
        setGrow(entries.getChildByOrdinal(0), start + k, e.getKey());
        setGrow(entries.getChildByOrdinal(1), start + k, e.getValue());
        k++;
      }
      entries.setValueCount(start + k);
      m.endValue(i, k);
      return;
    }
    if (v instanceof ListVector) {
      ListVector l = (ListVector) v;
      List<Object> list = (List<Object>) value;
      int start = l.startNewValue(i);
      for (int k = 0; k < list.size(); k++) {
        setGrow(l.getDataVector(), start + k, list.get(k));
      }
      l.getDataVector().setValueCount(start + list.size());
      l.endValue(i, list.size());
      return;
    }
    if (v instanceof StructVector) {
      StructVector s = (StructVector) v;
      Map<String, Object> struct = (Map<String, Object>) value;
      s.setIndexDefined(i);
      for (String name : s.getChildFieldNames()) {
        setGrow(s.getChild(name), i, struct.get(name));
      }
      return;
    }
    setPrimitive(v, i, value);
  }

  private static void setGrow(ValueVector v, int i, Object value) {
    while (i >= v.getValueCapacity()) {
      v.reAlloc();
    }
    set(v, i, value);
    if (v.getValueCount() <= i) {
      v.setValueCount(i + 1);
    }
  }

  private static void setPrimitive(ValueVector v, int i, Object value) {
    if (v instanceof BitVector) {
      ((BitVector) v).setSafe(i, ((Boolean) value) ? 1 : 0);
    } else if (v instanceof TinyIntVector) {
      ((TinyIntVector) v).setSafe(i, ((Integer) value).byteValue());
    } else if (v instanceof SmallIntVector) {
      ((SmallIntVector) v).setSafe(i, ((Integer) value).shortValue());
    } else if (v instanceof IntVector) {
      ((IntVector) v).setSafe(i, (Integer) value);
    } else if (v instanceof DateDayVector) {
      ((DateDayVector) v).setSafe(i, (Integer) value);
    } else if (v instanceof UInt4Vector) {
      ((UInt4Vector) v).setSafe(i, (int) (long) (Long) value);
    } else if (v instanceof BigIntVector) {
      ((BigIntVector) v).setSafe(i, (Long) value);
    } else if (v instanceof TimeMicroVector) {
      ((TimeMicroVector) v).setSafe(i, (Long) value);
    } else if (v instanceof TimeStampVector) {
      ((TimeStampVector) v).setSafe(i, (Long) value);
    } else if (v instanceof Float4Vector) {
      ((Float4Vector) v).setSafe(i, (Float) value);
    } else if (v instanceof Float8Vector) {
      ((Float8Vector) v).setSafe(i, (Double) value);
    } else if (v instanceof VarCharVector) {
      ((VarCharVector) v).setSafe(i, ((String) value).getBytes(StandardCharsets.UTF_8));
    } else if (v instanceof LargeVarCharVector) {
      ((LargeVarCharVector) v).setSafe(i, ((String) value).getBytes(StandardCharsets.UTF_8));
    } else if (v instanceof VarBinaryVector) {
      ((VarBinaryVector) v).setSafe(i, HexFormat.of().parseHex((String) value));
    } else if (v instanceof UuidVector) {
      UUID u = (UUID) value;
      ByteBuffer b = ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
          .putLong(u.getLeastSignificantBits());
      ((UuidVector) v).getUnderlyingVector().setSafe(i, b.array());
      ((UuidVector) v).getUnderlyingVector().setValueCount(Math.max(i + 1,
          ((UuidVector) v).getUnderlyingVector().getValueCount()));
    } else if (v instanceof FixedSizeBinaryVector) {
      ((FixedSizeBinaryVector) v).setSafe(i, HexFormat.of().parseHex((String) value));
    } else if (v instanceof DecimalVector) {
      ((DecimalVector) v).setSafe(i, (BigDecimal) value);
    } else if (v instanceof Decimal256Vector) {
      ((Decimal256Vector) v).setSafe(i, (BigDecimal) value);
    } else {
      throw new IllegalArgumentException("Cannot set a " + v.getClass().getSimpleName());
    }
  }

  /** Rows to columns. */
  static List<List<Object>> columns(Object[]... rows) {
    int n = rows[0].length;
    List<List<Object>> cols = new java.util.ArrayList<>();
    for (int c = 0; c < n; c++) {
      List<Object> col = new java.util.ArrayList<>();
      for (Object[] row : rows) {
        col.add(row[c]);
      }
      cols.add(col);
    }
    return cols;
  }

  static Map<String, Object> structValue(Object... namesAndValues) {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      m.put((String) namesAndValues[i], namesAndValues[i + 1]);
    }
    return m;
  }

  static Map<Object, Object> mapValue(Object... keysAndValues) {
    Map<Object, Object> m = new java.util.LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  static List<Object> listValue(Object... values) {
    return Arrays.asList(values);
  }

}
