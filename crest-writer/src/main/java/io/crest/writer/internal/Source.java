package io.crest.writer.internal;

import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;

/**
 * How a leaf reads the values of one Arrow input type: the kind of conversion to the column's
 * stored type, the input's value width and a scale factor. Immutable.
 */
final class Source {
  static final int I8 = 1;
  static final int I16 = 2;
  static final int I32 = 3;
  static final int I64 = 4;
  static final int U8 = 5;
  static final int U16 = 6;
  static final int U32 = 7;
  static final int DATE_MS = 8;
  static final int MUL32 = 9; // int32 input times factor, to int64
  static final int MUL64 = 10; // int64 input times factor
  static final int DIV64 = 11; // int64 input floor-divided by factor
  static final int DEC128 = 12;
  static final int DEC256 = 13;
  static final int F16 = 14;
  static final int F32 = 15;
  static final int F64 = 16;
  static final int F32_TO_F64 = 17;
  static final int BIT = 18;
  static final int VAR = 19;
  static final int LARGE_VAR = 20;
  static final int FIXED = 21;
  static final int VIEW = 22; // Utf8View / BinaryView: 16-byte views into data buffers

  final int kind;
  /** Bytes per input value for fixed-width inputs; 0 for bits and variable width. */
  final int width;
  final long factor;

  private Source(int kind, int width, long factor) {
    this.kind = kind;
    this.width = width;
    this.factor = factor;
  }

  /** Whether plain encoding is a byte copy of the input's data buffer. */
  boolean direct(Node leaf) {
    switch (leaf.physical) {
      case INT32:
        return kind == I32;
      case INT64:
        return kind == I64;
      case FLOAT:
        return kind == F32;
      case DOUBLE:
        return kind == F64;
      default:
        return false;
    }
  }

  /**
   * The source for input {@code input} of leaf {@code leaf}, or null when the input cannot be
   * written to it without loss.
   */
  static Source of(Node leaf, Field input) {
    ArrowType in = input.getType();
    ArrowType target = leaf.field.getType();
    switch (leaf.logical) {
      case UUID:
        if (in instanceof UuidType) {
          return new Source(FIXED, 16, 1);
        }
        return in instanceof ArrowType.FixedSizeBinary
            && ((ArrowType.FixedSizeBinary) in).getByteWidth() == 16 ? new Source(FIXED, 16, 1)
            : null;
      case STRING:
        return in.getTypeID() == ArrowType.ArrowTypeID.Utf8 ? new Source(VAR, 0, 1)
            : in.getTypeID() == ArrowType.ArrowTypeID.LargeUtf8 ? new Source(LARGE_VAR, 0, 1)
            : in.getTypeID() == ArrowType.ArrowTypeID.Utf8View ? new Source(VIEW, 16, 1)
            : null;
      case DATE:
        if (!(in instanceof ArrowType.Date)) {
          return null;
        }
        return ((ArrowType.Date) in).getUnit() == DateUnit.DAY ? new Source(I32, 4, 1)
            : new Source(DATE_MS, 8, 86_400_000L);
      case TIME:
        {
          if (!(in instanceof ArrowType.Time)) {
            return null;
          }
          long targetNanos = nanos(((ArrowType.Time) target).getUnit());
          long inNanos = nanos(((ArrowType.Time) in).getUnit());
          int width = ((ArrowType.Time) in).getBitWidth() / 8;
          if (inNanos >= targetNanos) {
            long f = inNanos / targetNanos;
            return width == 4 ? new Source(MUL32, 4, f)
                : f == 1 ? new Source(I64, 8, 1) : new Source(MUL64, 8, f);
          }
          // finer input than the column: drop the extra digits, as Iceberg's own path does
          return new Source(DIV64, 8, targetNanos / inNanos);
        }
      case TIMESTAMP:
        {
          if (!(in instanceof ArrowType.Timestamp)) {
            return null;
          }
          ArrowType.Timestamp t = (ArrowType.Timestamp) target;
          ArrowType.Timestamp i = (ArrowType.Timestamp) in;
          if ((t.getTimezone() == null) != (i.getTimezone() == null)) {
            return null;
          }
          long targetNanos = nanos(t.getUnit());
          long inNanos = nanos(i.getUnit());
          if (inNanos < targetNanos) {
            return null;
          }
          long f = inNanos / targetNanos;
          return f == 1 ? new Source(I64, 8, 1) : new Source(MUL64, 8, f);
        }
      case DECIMAL:
        {
          if (!(in instanceof ArrowType.Decimal)) {
            return null;
          }
          ArrowType.Decimal t = (ArrowType.Decimal) target;
          ArrowType.Decimal i = (ArrowType.Decimal) in;
          if (i.getScale() != t.getScale() || i.getPrecision() > t.getPrecision()) {
            return null;
          }
          return i.getBitWidth() == 128 ? new Source(DEC128, 16, 1) : new Source(DEC256, 32, 1);
        }
      default:
        break;
    }
    switch (leaf.physical) {
      case BOOLEAN:
        return in instanceof ArrowType.Bool ? new Source(BIT, 0, 1) : null;
      case INT32:
      case INT64:
        {
          if (!(in instanceof ArrowType.Int)) {
            return null;
          }
          ArrowType.Int i = (ArrowType.Int) in;
          int targetBits = ((ArrowType.Int) target).getBitWidth();
          int bits = i.getBitWidth();
          if (i.getIsSigned()) {
            if (bits > targetBits) {
              return null;
            }
            return new Source(bits == 8 ? I8 : bits == 16 ? I16 : bits == 32 ? I32 : I64,
                bits / 8, 1);
          }
          if (bits >= targetBits) {
            return null;
          }
          return new Source(bits == 8 ? U8 : bits == 16 ? U16 : U32, bits / 8, 1);
        }
      case FLOAT:
        if (in instanceof ArrowType.FloatingPoint) {
          FloatingPointPrecision p = ((ArrowType.FloatingPoint) in).getPrecision();
          return p == FloatingPointPrecision.HALF ? new Source(F16, 2, 1)
              : p == FloatingPointPrecision.SINGLE ? new Source(F32, 4, 1) : null;
        }
        return null;
      case DOUBLE:
        if (in instanceof ArrowType.FloatingPoint) {
          FloatingPointPrecision p = ((ArrowType.FloatingPoint) in).getPrecision();
          return p == FloatingPointPrecision.DOUBLE ? new Source(F64, 8, 1)
              : p == FloatingPointPrecision.SINGLE ? new Source(F32_TO_F64, 4, 1) : null;
        }
        return null;
      case BYTE_ARRAY:
        return in.getTypeID() == ArrowType.ArrowTypeID.Binary ? new Source(VAR, 0, 1)
            : in.getTypeID() == ArrowType.ArrowTypeID.LargeBinary ? new Source(LARGE_VAR, 0, 1)
            : in.getTypeID() == ArrowType.ArrowTypeID.BinaryView ? new Source(VIEW, 16, 1)
            : null;
      case FIXED:
        return in instanceof ArrowType.FixedSizeBinary
            && ((ArrowType.FixedSizeBinary) in).getByteWidth() == leaf.typeLength
            ? new Source(FIXED, leaf.typeLength, 1) : null;
      default:
        return null;
    }
  }

  private static long nanos(TimeUnit unit) {
    switch (unit) {
      case SECOND:
        return 1_000_000_000L;
      case MILLISECOND:
        return 1_000_000L;
      case MICROSECOND:
        return 1_000L;
      default:
        return 1L;
    }
  }
}
