package io.crest.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The pre-built Arrow batches every writer in a benchmark run encodes: random data of one of
 * three schemas. The batches belong to the allocator they were built in; {@link #close()} frees
 * them. Not thread-safe.
 */
final class BenchBatches implements AutoCloseable {
  static final int BATCH_ROWS = 16_384;
  /** Rows per benchmark operation, in every schema. */
  static final int ROWS = 8 * BATCH_ROWS;
  private static final char[] ALPHANUM =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".toCharArray();

  final Schema schema;
  final List<VectorSchemaRoot> batches = new ArrayList<>();
  final long rows;
  final long arrowBytes;

  private BenchBatches(Schema schema, long rows, long arrowBytes) {
    this.schema = schema;
    this.rows = rows;
    this.arrowBytes = arrowBytes;
  }

  /** Builds the batches of {@code schemaName}: narrow, wide or nested. */
  static BenchBatches build(String schemaName, BufferAllocator allocator) {
    Schema schema;
    int totalRows;
    switch (schemaName) {
      case "narrow":
        schema = narrow();
        totalRows = ROWS;
        break;
      case "wide":
        schema = wide();
        totalRows = ROWS;
        break;
      case "nested":
        schema = nested();
        totalRows = ROWS;
        break;
      default:
        throw new IllegalArgumentException("Cannot build batches of schema '" + schemaName
            + "' (use narrow, wide or nested)");
    }
    Random random = new Random(42);
    List<VectorSchemaRoot> roots = new ArrayList<>();
    long bytes = 0;
    for (int done = 0; done < totalRows; done += BATCH_ROWS) {
      VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator);
      fill(root, done, random);
      for (FieldVector v : root.getFieldVectors()) {
        bytes += v.getBufferSize();
      }
      roots.add(root);
    }
    BenchBatches b = new BenchBatches(schema, totalRows, bytes);
    b.batches.addAll(roots);
    return b;
  }

  static Field f(String name, boolean nullable, ArrowType type, Field... children) {
    return new Field(name, new FieldType(nullable, type, null), List.of(children));
  }

  static final ArrowType LONG = new ArrowType.Int(64, true);
  static final ArrowType INT = new ArrowType.Int(32, true);
  static final ArrowType DOUBLE = new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
  static final ArrowType STRING = ArrowType.Utf8.INSTANCE;
  static final ArrowType TSTZ = new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");

  /** long, double, 16-character string, timestamptz. */
  static Schema narrow() {
    return new Schema(List.of(f("id", true, LONG), f("value", true, DOUBLE),
        f("name", true, STRING), f("ts", true, TSTZ)));
  }

  /** 50 columns: 12 long, 10 int, 10 double, 10 string, 5 timestamptz, 3 boolean. */
  static Schema wide() {
    List<Field> fields = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ArrowType t = i < 12 ? LONG : i < 22 ? INT : i < 32 ? DOUBLE : i < 42 ? STRING
          : i < 47 ? TSTZ : ArrowType.Bool.INSTANCE;
      fields.add(f("c" + i, i % 3 != 0, t));
    }
    return new Schema(fields);
  }

  /** id, list of strings, map of string to long, struct of two doubles and a string. */
  static Schema nested() {
    return new Schema(List.of(
        f("id", false, LONG),
        f("tags", true, ArrowType.List.INSTANCE, f("element", true, STRING)),
        f("attrs", true, new ArrowType.Map(false),
            f("entries", false, ArrowType.Struct.INSTANCE, f("key", false, STRING),
                f("value", true, LONG))),
        f("point", true, ArrowType.Struct.INSTANCE, f("x", false, DOUBLE),
            f("y", false, DOUBLE), f("label", true, STRING))));
  }

  private static byte[] text(Random r, int length) {
    byte[] b = new byte[length];
    for (int i = 0; i < length; i++) {
      b[i] = (byte) ALPHANUM[r.nextInt(ALPHANUM.length)];
    }
    return b;
  }

  private static void fill(VectorSchemaRoot root, int offset, Random r) {
    int n = BATCH_ROWS;
    for (FieldVector v : root.getFieldVectors()) {
      v.setInitialCapacity(n);
      v.allocateNew();
      boolean nullable = v.getField().isNullable();
      for (int i = 0; i < n; i++) {
        boolean isNull = nullable && r.nextInt(10) == 0 && root.getFieldVectors().size() > 4;
        set(v, i, offset + i, r, isNull);
      }
      v.setValueCount(n);
    }
    root.setRowCount(n);
  }

  private static void set(FieldVector v, int i, long row, Random r, boolean isNull) {
    if (isNull) {
      v.setNull(i);
      return;
    }
    if (v instanceof BigIntVector) {
      ((BigIntVector) v).set(i, r.nextLong());
    } else if (v instanceof IntVector) {
      ((IntVector) v).set(i, r.nextInt(1_000_000));
    } else if (v instanceof Float8Vector) {
      ((Float8Vector) v).set(i, r.nextDouble() * 1000);
    } else if (v instanceof VarCharVector) {
      ((VarCharVector) v).setSafe(i, text(r, 16));
    } else if (v instanceof TimeStampMicroTZVector) {
      ((TimeStampMicroTZVector) v).set(i, 1_700_000_000_000_000L + row * 1000 + r.nextInt(1000));
    } else if (v instanceof BitVector) {
      ((BitVector) v).set(i, r.nextInt(2));
    } else if (v instanceof MapVector) {
      MapVector m = (MapVector) v;
      StructVector entries = (StructVector) m.getDataVector();
      VarCharVector keys = (VarCharVector) entries.getChildByOrdinal(0);
      BigIntVector values = (BigIntVector) entries.getChildByOrdinal(1);
      int start = m.startNewValue(i);
      int k = r.nextInt(4);
      for (int j = 0; j < k; j++) {
        entries.setIndexDefined(start + j);
        keys.setSafe(start + j, ("key" + j).getBytes(StandardCharsets.UTF_8));
        values.setSafe(start + j, r.nextLong());
      }
      entries.setValueCount(start + k);
      keys.setValueCount(start + k);
      values.setValueCount(start + k);
      m.endValue(i, k);
    } else if (v instanceof ListVector) {
      ListVector l = (ListVector) v;
      VarCharVector elements = (VarCharVector) l.getDataVector();
      int start = l.startNewValue(i);
      int k = r.nextInt(6);
      for (int j = 0; j < k; j++) {
        elements.setSafe(start + j, ("tag" + r.nextInt(100)).getBytes(StandardCharsets.UTF_8));
      }
      elements.setValueCount(start + k);
      l.endValue(i, k);
    } else if (v instanceof StructVector) {
      StructVector s = (StructVector) v;
      s.setIndexDefined(i);
      ((Float8Vector) s.getChild("x")).setSafe(i, r.nextDouble());
      ((Float8Vector) s.getChild("y")).setSafe(i, r.nextDouble());
      VarCharVector label = (VarCharVector) s.getChild("label");
      if (r.nextInt(4) == 0) {
        label.setNull(i);
      } else {
        label.setSafe(i, text(r, 8));
      }
      s.getChild("x").setValueCount(i + 1);
      s.getChild("y").setValueCount(i + 1);
      label.setValueCount(i + 1);
    } else {
      throw new IllegalStateException("Cannot fill " + v.getClass().getSimpleName());
    }
  }

  @Override
  public void close() {
    for (VectorSchemaRoot root : batches) {
      root.close();
    }
    batches.clear();
  }
}
