package io.crest.iceberg.write;

import java.util.Arrays;
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
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * Iceberg's partition transforms (identity, bucket, truncate, year, month, day, hour, void)
 * evaluated on Arrow vectors, a long per row and field: what {@link ArrowPartitioner} groups rows
 * by. Bucket hashes are Iceberg's Murmur3 over the buffers; truncate counts UTF-8 code points of
 * strings. Stateless factory; an evaluator is used by one thread.
 */
final class PartitionEvaluators {
  private static final long MICROS_PER_DAY = 86_400_000_000L;
  private static final long MICROS_PER_HOUR = 3_600_000_000L;
  private static final long MILLIS_PER_DAY = 86_400_000L;

  private PartitionEvaluators() {}

  static Evaluator evaluator(PartitionField pf, Types.NestedField source, Field arrow) {
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
  private enum Transform {
    IDENTITY, BUCKET, TRUNCATE, YEAR, MONTH, DAY, HOUR
  }

  /** One partition field: fills a long per row, and compares rows beyond the long if needed. */
  abstract static class Evaluator {
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
