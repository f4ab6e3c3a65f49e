package io.crest.writer.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Min, max, null and NaN counts of one column chunk or file. Not thread-safe. */
final class Stats {
  final Node.Physical physical;
  final boolean signedBytes;
  long values;
  long nulls;
  long nans;
  boolean hasValue;
  long minLong = Long.MAX_VALUE;
  long maxLong = Long.MIN_VALUE;
  double minDouble;
  double maxDouble;
  byte[] minBytes = new byte[16];
  int minLen;
  byte[] maxBytes = new byte[16];
  int maxLen;
  // the first 8 bytes of minBytes and maxBytes as unsigned big-endian numbers, zero-padded
  private long minPrefix;
  private long maxPrefix;

  Stats(Node leaf) {
    this.physical = leaf.physical;
    this.signedBytes = leaf.logical == Node.Logical.DECIMAL && leaf.physical == Node.Physical.FIXED;
  }

  void reset() {
    values = 0;
    nulls = 0;
    nans = 0;
    hasValue = false;
    minLong = Long.MAX_VALUE;
    maxLong = Long.MIN_VALUE;
    minLen = 0;
    maxLen = 0;
  }

  void updateLong(long v) {
    if (v < minLong) {
      minLong = v;
    }
    if (v > maxLong) {
      maxLong = v;
    }
    hasValue = true;
  }

  /** Counts a NaN or folds a value into the bounds. */
  void updateDouble(double d) {
    if (d != d) {
      nans++;
      return;
    }
    if (!hasValue) {
      minDouble = d;
      maxDouble = d;
      hasValue = true;
      return;
    }
    if (Double.compare(d, minDouble) < 0) {
      minDouble = d;
    }
    if (Double.compare(d, maxDouble) > 0) {
      maxDouble = d;
    }
  }

  /**
   * {@link #updateDouble} of {@code n} little-endian floats ({@code single}) or doubles at
   * {@code a[off]}.
   */
  void updateFloating(byte[] a, int off, int n, boolean single) {
    int k = 0;
    for (; k < n && !hasValue; k++) {
      updateDouble(floating(a, off, k, single));
    }
    double min = minDouble;
    double max = maxDouble;
    long nanCount = 0;
    for (; k < n; k++) {
      double d = floating(a, off, k, single);
      if (d != d) {
        nanCount++;
        continue;
      }
      // the numeric test first: Double.compare is needed only where it can differ (signed zeros)
      if (d <= min && Double.compare(d, min) < 0) {
        min = d;
      }
      if (d >= max && Double.compare(d, max) > 0) {
        max = d;
      }
    }
    minDouble = min;
    maxDouble = max;
    nans += nanCount;
  }

  private static double floating(byte[] a, int off, int k, boolean single) {
    return single ? Float.intBitsToFloat((int) Buf.INT_LE.get(a, off + 4 * k))
        : Double.longBitsToDouble((long) Buf.LONG_LE.get(a, off + 8 * k));
  }

  void updateBytes(byte[] a, int off, int len) {
    long prefix = prefix(a, off, len);
    if (!hasValue) {
      minBytes = copy(minBytes, a, off, len);
      minLen = len;
      minPrefix = prefix;
      maxBytes = copy(maxBytes, a, off, len);
      maxLen = len;
      maxPrefix = prefix;
      hasValue = true;
      return;
    }
    if (!signedBytes && Long.compareUnsigned(prefix, minPrefix) > 0
        && Long.compareUnsigned(prefix, maxPrefix) < 0) {
      // a larger prefix is a larger value (a zero pad only ever ties), so strictly inside
      return;
    }
    if (compare(a, off, len, minBytes, 0, minLen) < 0) {
      minBytes = copy(minBytes, a, off, len);
      minLen = len;
      minPrefix = prefix;
    }
    if (compare(a, off, len, maxBytes, 0, maxLen) > 0) {
      maxBytes = copy(maxBytes, a, off, len);
      maxLen = len;
      maxPrefix = prefix;
    }
  }

  /** The first 8 bytes of a value as an unsigned big-endian number, zero-padded when shorter. */
  private static long prefix(byte[] a, int off, int len) {
    if (len >= 8) {
      return (long) LONG_BE.get(a, off);
    }
    long p = 0;
    for (int i = 0; i < len; i++) {
      p |= (a[off + i] & 0xFFL) << (56 - 8 * i);
    }
    return p;
  }

  private static final java.lang.invoke.VarHandle LONG_BE =
      java.lang.invoke.MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  private int compare(byte[] a, int aOff, int aLen, byte[] b, int bOff, int bLen) {
    if (signedBytes) {
      // same-length big-endian two's complement: the sign byte decides first
      int c = Byte.compare(a[aOff], b[bOff]);
      if (c != 0) {
        return c;
      }
    }
    return Arrays.compareUnsigned(a, aOff, aOff + aLen, b, bOff, bOff + bLen);
  }

  private static byte[] copy(byte[] into, byte[] a, int off, int len) {
    byte[] d = into.length >= len ? into : new byte[len];
    System.arraycopy(a, off, d, 0, len);
    return d;
  }

  /** Folds a finished chunk's stats into this file's stats. */
  void merge(Stats o) {
    values += o.values;
    nulls += o.nulls;
    nans += o.nans;
    if (!o.hasValue) {
      return;
    }
    switch (physical) {
      case FLOAT:
      case DOUBLE:
        updateDouble(o.minDouble);
        updateDouble(o.maxDouble);
        break;
      case BYTE_ARRAY:
      case FIXED:
        updateBytes(o.minBytes, 0, o.minLen);
        updateBytes(o.maxBytes, 0, o.maxLen);
        break;
      default:
        updateLong(o.minLong);
        updateLong(o.maxLong);
    }
  }

  /** The bound in the encoding {@link io.crest.spi.ColumnStats} documents, or null. */
  ByteBuffer bound(boolean upper) {
    if (!hasValue) {
      return null;
    }
    ByteBuffer b;
    switch (physical) {
      case BOOLEAN:
        return ByteBuffer.wrap(new byte[] {(byte) (upper ? maxLong : minLong)});
      case INT32:
        b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, (int) (upper ? maxLong : minLong));
        return b;
      case INT64:
        b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, upper ? maxLong : minLong);
        return b;
      case FLOAT:
        b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        b.putFloat(0, (float) (upper ? maxDouble : minDouble));
        return b;
      case DOUBLE:
        b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        b.putDouble(0, upper ? maxDouble : minDouble);
        return b;
      default:
        return upper ? ByteBuffer.wrap(Arrays.copyOf(maxBytes, maxLen))
            : ByteBuffer.wrap(Arrays.copyOf(minBytes, minLen));
    }
  }

  /** The Parquet footer statistics of a column chunk. */
  org.apache.parquet.format.Statistics toThrift() {
    org.apache.parquet.format.Statistics s = new org.apache.parquet.format.Statistics();
    s.setNull_count(nulls);
    if (!hasValue || ((physical == Node.Physical.FLOAT || physical == Node.Physical.DOUBLE)
        && nans > 0)) {
      // with NaNs present, min and max would mislead readers that filter on them
      return s;
    }
    double lo = minDouble;
    double hi = maxDouble;
    if (lo == 0.0) {
      minDouble = -0.0;
    }
    if (hi == 0.0) {
      maxDouble = 0.0;
    }
    ByteBuffer min = bound(false);
    ByteBuffer max = bound(true);
    minDouble = lo;
    maxDouble = hi;
    s.setMin_value(min);
    s.setMax_value(max);
    return s;
  }
}
