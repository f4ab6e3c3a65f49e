package io.crest.iceberg.write;

import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.util.ByteFunctionHelpers;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.BitVectorHelper;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.TimeMicroVector;
import org.apache.arrow.vector.TimeMilliVector;
import org.apache.arrow.vector.TimeNanoVector;
import org.apache.arrow.vector.TimeSecVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * Groups the rows of an Arrow batch by their partition under an Iceberg {@link PartitionSpec},
 * evaluating the spec's transforms ({@code identity}, {@code bucket[N]}, {@code truncate[W]},
 * {@code year}, {@code month}, {@code day}, {@code hour}, {@code void}) on the vectors with
 * Iceberg's semantics, without an object per row: each field becomes a {@code long} per row (a
 * transform result, or a hash of a string or binary value that is compared byte by byte), and a
 * hash table over those assigns each row the ordinal of its partition. The partition tuple itself
 * is computed once per partition, by the caller, from a {@link #representative} row.
 *
 * <p>Supports partition source columns at the top level of these Iceberg types, read from the
 * Arrow vectors the sink maps to them: int, long, date, time, timestamp and timestamptz (not
 * nanosecond precision), boolean, float, double (identity only), string, binary and fixed.
 * {@link #create} names what else it meets; the sink then writes through Iceberg's generic path.
 *
 * <p>Not thread-safe; the results of {@link #partition} are valid until its next call.
 */
public final class ArrowPartitioner {
  private static final long MICROS_PER_DAY = 86_400_000_000L;
  private static final long MICROS_PER_HOUR = 3_600_000_000L;
  private static final long MILLIS_PER_DAY = 86_400_000L;

  private final Evaluator[] fields;
  private long[][] values = new long[0][];
  private boolean[][] nulls = new boolean[0][];
  private int[] rowPartition = new int[0];
  private int[] representatives = new int[16];
  private int[] slots = new int[64]; // partition ordinal + 1; 0 is empty
  private int[] order = new int[0];
  private int[] starts = new int[17];
  private int partitions;
  private boolean clustered;

  private ArrowPartitioner(Evaluator[] fields) {
    this.fields = fields;
  }

  /**
   * A partitioner for {@code spec} of a table with {@code schema}, for batches with {@code
   * arrowSchema} (columns matched by name; a partition source column the batch lacks is null in
   * every row).
   *
   * @throws IllegalArgumentException naming the partition field and why, if a transform, source
   *     type or Arrow type is one this class does not evaluate
   */
  public static ArrowPartitioner create(
      org.apache.iceberg.Schema schema, PartitionSpec spec, Schema arrowSchema) {
    List<PartitionField> specFields = spec.fields();
    Evaluator[] evaluators = new Evaluator[specFields.size()];
    for (int i = 0; i < evaluators.length; i++) {
      PartitionField pf = specFields.get(i);
      Types.NestedField source = schema.findField(pf.sourceId());
      String name = schema.findColumnName(pf.sourceId());
      if (source == null || !schema.columns().contains(source)) {
        throw new IllegalArgumentException("partition field " + pf.name()
            + " comes from a nested column (" + name + ")");
      }
      Field arrow = arrowSchema.getFields().stream()
          .filter(f -> f.getName().equals(source.name())).findFirst().orElse(null);
      evaluators[i] = evaluator(pf, source, arrow);
    }
    return new ArrowPartitioner(evaluators);
  }

  private static Evaluator evaluator(PartitionField pf, Types.NestedField source, Field arrow) {
    String transform = pf.transform().toString();
    if (transform.equals("void")) {
      return new VoidEvaluator(source.name());
    }
    Type.PrimitiveType type = source.type().asPrimitiveType();
    int argument = -1;
    String kind = transform;
    int bracket = transform.indexOf('[');
    if (bracket > 0 && transform.endsWith("]")) {
      kind = transform.substring(0, bracket);
      argument = Integer.parseInt(transform.substring(bracket + 1, transform.length() - 1));
    }
    Transform t;
    switch (kind) {
      case "identity":
        t = Transform.IDENTITY;
        break;
      case "bucket":
        t = Transform.BUCKET;
        break;
      case "truncate":
        t = Transform.TRUNCATE;
        break;
      case "year":
        t = Transform.YEAR;
        break;
      case "month":
        t = Transform.MONTH;
        break;
      case "day":
        t = Transform.DAY;
        break;
      case "hour":
        t = Transform.HOUR;
        break;
      default:
        throw unsupported(pf, "its transform " + transform);
    }
    ArrowType arrowType = arrow == null ? null : arrow.getType();
    switch (type.typeId()) {
      case STRING:
      case BINARY:
      case FIXED:
        if (t != Transform.IDENTITY && t != Transform.BUCKET && t != Transform.TRUNCATE) {
          throw unsupported(pf, "its transform " + transform + " of a " + type);
        }
        if (arrowType != null && !(arrowType instanceof ArrowType.Utf8
            || arrowType instanceof ArrowType.LargeUtf8 || arrowType instanceof ArrowType.Binary
            || arrowType instanceof ArrowType.LargeBinary
            || arrowType instanceof ArrowType.FixedSizeBinary)) {
          throw unsupported(pf, "its Arrow type " + arrowType);
        }
        return new BytesEvaluator(source.name(), t, argument, type.typeId() == Type.TypeID.STRING);
      case INTEGER:
      case LONG:
      case DATE:
      case TIME:
      case TIMESTAMP:
      case BOOLEAN:
      case FLOAT:
      case DOUBLE:
        checkLongTransform(pf, t, type);
        checkLongArrowType(pf, type, arrowType);
        return new LongEvaluator(source.name(), t, argument, type.typeId());
      default:
        throw unsupported(pf, "its source type " + type);
    }
  }

  private static void checkLongTransform(PartitionField pf, Transform t, Type.PrimitiveType type) {
    boolean ok;
    switch (t) {
      case IDENTITY:
        ok = true;
        break;
      case BUCKET:
        ok = type.typeId() != Type.TypeID.BOOLEAN && type.typeId() != Type.TypeID.FLOAT
            && type.typeId() != Type.TypeID.DOUBLE;
        break;
      case TRUNCATE:
        ok = type.typeId() == Type.TypeID.INTEGER || type.typeId() == Type.TypeID.LONG;
        break;
      case HOUR:
        ok = type.typeId() == Type.TypeID.TIMESTAMP;
        break;
      default:
        ok = type.typeId() == Type.TypeID.DATE || type.typeId() == Type.TypeID.TIMESTAMP;
        break;
    }
    if (!ok) {
      throw unsupported(pf, "its transform " + pf.transform() + " of a " + type);
    }
  }

  private static void checkLongArrowType(
      PartitionField pf, Type.PrimitiveType type, ArrowType arrowType) {
    if (arrowType == null) {
      return;
    }
    boolean ok;
    switch (type.typeId()) {
      case INTEGER:
      case LONG:
        ok = arrowType instanceof ArrowType.Int
            && (((ArrowType.Int) arrowType).getIsSigned()
                || ((ArrowType.Int) arrowType).getBitWidth() < 64);
        break;
      case DATE:
        ok = arrowType instanceof ArrowType.Date;
        break;
      case TIME:
        ok = arrowType instanceof ArrowType.Time;
        break;
      case TIMESTAMP:
        ok = arrowType instanceof ArrowType.Timestamp
            && ((ArrowType.Timestamp) arrowType).getUnit()
                != org.apache.arrow.vector.types.TimeUnit.NANOSECOND;
        break;
      case BOOLEAN:
        ok = arrowType instanceof ArrowType.Bool;
        break;
      default: // FLOAT, DOUBLE
        ok = arrowType instanceof ArrowType.FloatingPoint
            && ((ArrowType.FloatingPoint) arrowType).getPrecision() != FloatingPointPrecision.HALF;
        break;
    }
    if (!ok) {
      throw unsupported(pf, "its Arrow type " + arrowType + " for a " + type + " column");
    }
  }

  private static IllegalArgumentException unsupported(PartitionField pf, String what) {
    return new IllegalArgumentException(
        "partition field " + pf.name() + " is not evaluated on Arrow vectors: " + what);
  }

  /**
   * Assigns every row of {@code batch} the ordinal of its partition, ordinals from 0 in the order
   * partitions first appear.
   *
   * @return the number of distinct partitions in the batch
   */
  public int partition(VectorSchemaRoot batch) {
    int rows = batch.getRowCount();
    if (values.length != fields.length || (fields.length > 0 && values[0].length < rows)) {
      values = new long[fields.length][rows];
      nulls = new boolean[fields.length][rows];
    }
    if (rowPartition.length < rows) {
      rowPartition = new int[rows];
      order = new int[rows];
    }
    for (int f = 0; f < fields.length; f++) {
      fields[f].eval(batch.getVector(fields[f].column), rows, values[f], nulls[f]);
    }
    Arrays.fill(slots, 0);
    partitions = 0;
    clustered = true;
    int mask = slots.length - 1;
    for (int row = 0; row < rows; row++) {
      int h = hash(row);
      int slot = h & mask;
      int found = -1;
      while (slots[slot] != 0) {
        int p = slots[slot] - 1;
        if (same(representatives[p], row)) {
          found = p;
          break;
        }
        slot = (slot + 1) & mask;
      }
      if (found < 0) {
        found = partitions++;
        if (found == representatives.length) {
          representatives = Arrays.copyOf(representatives, found * 2);
        }
        representatives[found] = row;
        slots[slot] = found + 1;
        if (partitions * 2 > slots.length) {
          rehash(slots.length * 2);
          mask = slots.length - 1;
        }
      }
      if (row > 0 && found < rowPartition[row - 1]) {
        clustered = false;
      }
      rowPartition[row] = found;
    }
    groupRows(rows);
    return partitions;
  }

  /** The ordinal of the partition of {@code row} in the last batch. */
  public int partitionOf(int row) {
    return rowPartition[row];
  }

  /** The first row of partition {@code ordinal} in the last batch. */
  public int representative(int ordinal) {
    return representatives[ordinal];
  }

  /**
   * The rows of the last batch grouped by partition, in row order within each: the rows of
   * partition {@code p} are {@code rowOrder()[start(p)]} up to, excluding, {@code
   * rowOrder()[start(p + 1)]}.
   */
  public int[] rowOrder() {
    return order;
  }

  /** Where partition {@code ordinal} starts in {@link #rowOrder()}; {@code start(count)} ends. */
  public int start(int ordinal) {
    return starts[ordinal];
  }

  /** Whether the rows of each partition of the last batch were contiguous in the batch. */
  public boolean contiguous() {
    return clustered;
  }

  private void groupRows(int rows) {
    if (starts.length < partitions + 1) {
      starts = new int[partitions + 1];
    }
    Arrays.fill(starts, 0, partitions + 1, 0);
    for (int row = 0; row < rows; row++) {
      starts[rowPartition[row] + 1]++;
    }
    for (int p = 0; p < partitions; p++) {
      starts[p + 1] += starts[p];
    }
    // starts[p] is used as the fill cursor, then shifted back
    for (int row = 0; row < rows; row++) {
      order[starts[rowPartition[row]]++] = row;
    }
    for (int p = partitions; p > 0; p--) {
      starts[p] = starts[p - 1];
    }
    starts[0] = 0;
  }

  private void rehash(int size) {
    slots = new int[size];
    int mask = size - 1;
    for (int p = 0; p < partitions; p++) {
      int slot = hash(representatives[p]) & mask;
      while (slots[slot] != 0) {
        slot = (slot + 1) & mask;
      }
      slots[slot] = p + 1;
    }
  }

  private int hash(int row) {
    long h = 0x9E3779B97F4A7C15L;
    for (int f = 0; f < fields.length; f++) {
      long v = nulls[f][row] ? 0x5851F42D4C957F2DL : values[f][row];
      h = (h ^ v) * 0xBF58476D1CE4E5B9L;
      h ^= h >>> 31;
    }
    return (int) (h ^ (h >>> 32));
  }

  private boolean same(int a, int b) {
    for (int f = 0; f < fields.length; f++) {
      boolean nullA = nulls[f][a];
      if (nullA != nulls[f][b]) {
        return false;
      }
      if (!nullA && (values[f][a] != values[f][b] || !fields[f].sameBytes(a, b))) {
        return false;
      }
    }
    return true;
  }

  private enum Transform {
    IDENTITY, BUCKET, TRUNCATE, YEAR, MONTH, DAY, HOUR
  }

  /** One partition field: fills a long per row, and compares rows beyond the long if needed. */
  private abstract static class Evaluator {
    final String column;

    Evaluator(String column) {
      this.column = column;
    }

    /** Fills {@code out} and {@code isNull} for the first {@code rows} rows; vector may be null. */
    abstract void eval(FieldVector vector, int rows, long[] out, boolean[] isNull);

    /** Whether two rows with equal longs also have equal values (for hashed values). */
    boolean sameBytes(int a, int b) {
      return true;
    }
  }

  private static final class VoidEvaluator extends Evaluator {
    VoidEvaluator(String column) {
      super(column);
    }

    @Override
    void eval(FieldVector vector, int rows, long[] out, boolean[] isNull) {
      Arrays.fill(isNull, 0, rows, true);
    }
  }

  private static final class LongEvaluator extends Evaluator {
    private final Transform transform;
    private final int argument;
    private final Type.TypeID type;

    LongEvaluator(String column, Transform transform, int argument, Type.TypeID type) {
      super(column);
      this.transform = transform;
      this.argument = argument;
      this.type = type;
    }

    @Override
    void eval(FieldVector vector, int rows, long[] out, boolean[] isNull) {
      if (vector == null) {
        Arrays.fill(isNull, 0, rows, true);
        return;
      }
      read(vector, rows, out);
      if (vector.getNullCount() == 0) {
        Arrays.fill(isNull, 0, rows, false);
      } else {
        for (int i = 0; i < rows; i++) {
          isNull[i] = vector.isNull(i);
        }
      }
      apply(rows, out);
    }

    /** Reads each row in the Iceberg type's own unit: days, microseconds, or float bits. */
    private void read(FieldVector vector, int rows, long[] out) {
      if (vector instanceof BaseIntVector) {
        readInts(vector, rows, out);
      } else if (vector instanceof DateDayVector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          out[i] = data.getInt((long) i * DateDayVector.TYPE_WIDTH);
        }
      } else if (vector instanceof DateMilliVector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          out[i] = Math.floorDiv(data.getLong((long) i * 8), MILLIS_PER_DAY);
        }
      } else if (vector instanceof TimeStampVector) {
        long factor = microsPerUnit(((ArrowType.Timestamp) vector.getField().getType()).getUnit());
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          // An overflow is rejected by the writer; any value will do for the row's group.
          out[i] = data.getLong((long) i * 8) * factor;
        }
      } else if (vector instanceof BitVector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          out[i] = BitVectorHelper.get(data, i);
        }
      } else if (vector instanceof Float4Vector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          float f = data.getFloat((long) i * 4);
          // Equal as Iceberg compares them (Float.compare): NaNs alike, -0.0 apart from 0.0.
          out[i] = type == Type.TypeID.DOUBLE
              ? Double.doubleToLongBits(f) : Float.floatToIntBits(f);
        }
      } else if (vector instanceof Float8Vector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          out[i] = Double.doubleToLongBits(data.getDouble((long) i * 8));
        }
      } else {
        readTime(vector, rows, out);
      }
    }

    /** Integers of any width, read from the buffer (null slots hold anything). */
    private static void readInts(FieldVector vector, int rows, long[] out) {
      ArrowType.Int type = (ArrowType.Int) vector.getField().getType();
      ArrowBuf data = vector.getDataBuffer();
      boolean signed = type.getIsSigned();
      switch (type.getBitWidth()) {
        case 8:
          for (int i = 0; i < rows; i++) {
            byte v = data.getByte(i);
            out[i] = signed ? v : v & 0xFFL;
          }
          break;
        case 16:
          for (int i = 0; i < rows; i++) {
            short v = data.getShort((long) i * 2);
            out[i] = signed ? v : v & 0xFFFFL;
          }
          break;
        case 32:
          for (int i = 0; i < rows; i++) {
            int v = data.getInt((long) i * 4);
            out[i] = signed ? v : v & 0xFFFF_FFFFL;
          }
          break;
        default:
          for (int i = 0; i < rows; i++) {
            out[i] = data.getLong((long) i * 8);
          }
          break;
      }
    }

    private static void readTime(FieldVector vector, int rows, long[] out) {
      long factor;
      int width;
      if (vector instanceof TimeSecVector) {
        factor = 1_000_000L;
        width = 4;
      } else if (vector instanceof TimeMilliVector) {
        factor = 1_000L;
        width = 4;
      } else if (vector instanceof TimeMicroVector) {
        factor = 1L;
        width = 8;
      } else if (vector instanceof TimeNanoVector) {
        ArrowBuf data = vector.getDataBuffer();
        for (int i = 0; i < rows; i++) {
          out[i] = Math.floorDiv(data.getLong((long) i * 8), 1_000L);
        }
        return;
      } else {
        throw new IllegalStateException(
            "Cannot partition by column '" + vector.getName() + "': unexpected "
                + vector.getClass().getSimpleName());
      }
      ArrowBuf data = vector.getDataBuffer();
      for (int i = 0; i < rows; i++) {
        out[i] = (width == 4 ? data.getInt((long) i * 4) : data.getLong((long) i * 8)) * factor;
      }
    }

    private static long microsPerUnit(org.apache.arrow.vector.types.TimeUnit unit) {
      switch (unit) {
        case SECOND:
          return 1_000_000L;
        case MILLISECOND:
          return 1_000L;
        default:
          return 1L;
      }
    }

    private void apply(int rows, long[] out) {
      boolean dates = type == Type.TypeID.DATE;
      switch (transform) {
        case BUCKET:
          for (int i = 0; i < rows; i++) {
            out[i] = Murmur3.bucket(Murmur3.hashLong(out[i]), argument);
          }
          break;
        case TRUNCATE:
          for (int i = 0; i < rows; i++) {
            out[i] -= Math.floorMod(out[i], (long) argument);
          }
          break;
        case YEAR:
          for (int i = 0; i < rows; i++) {
            out[i] = CivilDays.year(dates ? out[i] : Math.floorDiv(out[i], MICROS_PER_DAY)) - 1970;
          }
          break;
        case MONTH:
          for (int i = 0; i < rows; i++) {
            out[i] = CivilDays.monthsSinceEpoch(
                dates ? out[i] : Math.floorDiv(out[i], MICROS_PER_DAY));
          }
          break;
        case DAY:
          if (!dates) {
            for (int i = 0; i < rows; i++) {
              out[i] = Math.floorDiv(out[i], MICROS_PER_DAY);
            }
          }
          break;
        case HOUR:
          for (int i = 0; i < rows; i++) {
            out[i] = Math.floorDiv(out[i], MICROS_PER_HOUR);
          }
          break;
        default: // IDENTITY
          break;
      }
    }
  }

  /** Strings, binary and fixed: values by offset and length into the vector's data buffer. */
  private static final class BytesEvaluator extends Evaluator {
    private final Transform transform;
    private final int argument;
    private final boolean utf8;
    private long[] begin = new long[0];
    private int[] length = new int[0];
    private ArrowBuf data;

    BytesEvaluator(String column, Transform transform, int argument, boolean utf8) {
      super(column);
      this.transform = transform;
      this.argument = argument;
      this.utf8 = utf8;
    }

    @Override
    void eval(FieldVector vector, int rows, long[] out, boolean[] isNull) {
      data = null;
      if (vector == null) {
        Arrays.fill(isNull, 0, rows, true);
        return;
      }
      if (begin.length < rows) {
        begin = new long[rows];
        length = new int[rows];
      }
      offsets(vector, rows);
      data = vector.getDataBuffer();
      for (int i = 0; i < rows; i++) {
        isNull[i] = vector.isNull(i);
        if (isNull[i]) {
          continue;
        }
        if (transform == Transform.TRUNCATE) {
          length[i] = utf8 ? codePointPrefix(data, begin[i], length[i], argument)
              : Math.min(length[i], argument);
        }
        int hash = Murmur3.hashBytes(data, begin[i], length[i]);
        out[i] = transform == Transform.BUCKET ? Murmur3.bucket(hash, argument) : hash;
      }
    }

    private void offsets(FieldVector vector, int rows) {
      if (vector instanceof VarCharVector || vector instanceof VarBinaryVector) {
        ArrowBuf offsets = vector.getOffsetBuffer();
        for (int i = 0; i < rows; i++) {
          int start = offsets.getInt((long) i * 4);
          begin[i] = start;
          length[i] = offsets.getInt((long) (i + 1) * 4) - start;
        }
      } else if (vector instanceof LargeVarCharVector || vector instanceof LargeVarBinaryVector) {
        ArrowBuf offsets = vector.getOffsetBuffer();
        for (int i = 0; i < rows; i++) {
          long start = offsets.getLong((long) i * 8);
          begin[i] = start;
          length[i] = (int) (offsets.getLong((long) (i + 1) * 8) - start);
        }
      } else if (vector instanceof FixedSizeBinaryVector) {
        int width = ((FixedSizeBinaryVector) vector).getByteWidth();
        for (int i = 0; i < rows; i++) {
          begin[i] = (long) i * width;
          length[i] = width;
        }
      } else {
        throw new IllegalStateException(
            "Cannot partition by column '" + vector.getName() + "': unexpected "
                + vector.getClass().getSimpleName());
      }
    }

    /** The bytes of the first {@code codePoints} code points of a UTF-8 value. */
    private static int codePointPrefix(ArrowBuf buf, long start, int bytes, int codePoints) {
      int seen = 0;
      for (int i = 0; i < bytes; i++) {
        if ((buf.getByte(start + i) & 0xC0) != 0x80) { // the first byte of a code point
          if (seen == codePoints) {
            return i;
          }
          seen++;
        }
      }
      return bytes;
    }

    @Override
    boolean sameBytes(int a, int b) {
      if (transform == Transform.BUCKET) {
        return true; // the bucket number is the value
      }
      return length[a] == length[b]
          && ByteFunctionHelpers.equal(data, begin[a], begin[a] + length[a],
              data, begin[b], begin[b] + length[b]) == 1;
    }
  }

  /** Calendar arithmetic on days since 1970-01-01 (proleptic Gregorian), without objects. */
  static final class CivilDays {
    private CivilDays() {}

    /** The year of a day. */
    static long year(long epochDay) {
      return yearMonth(epochDay) >> 4;
    }

    /** Months since 1970-01 of a day. */
    static long monthsSinceEpoch(long epochDay) {
      long ym = yearMonth(epochDay);
      return ((ym >> 4) - 1970) * 12 + (ym & 15) - 1;
    }

    /** {@code year << 4 | month} (month 1 to 12), after H. Hinnant's civil_from_days. */
    private static long yearMonth(long epochDay) {
      long z = epochDay + 719_468;
      long era = Math.floorDiv(z, 146_097);
      long doe = z - era * 146_097;
      long yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
      long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      long mp = (5 * doy + 2) / 153;
      long month = mp < 10 ? mp + 3 : mp - 9;
      long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
      return year << 4 | month;
    }
  }
}
