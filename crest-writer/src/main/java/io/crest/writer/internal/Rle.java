package io.crest.writer.internal;

/**
 * The Parquet RLE / bit-packing hybrid encoding of small unsigned integers (levels and dictionary
 * indices). Stateless.
 */
final class Rle {
  private static final int MAX_GROUPS = 63;

  private Rle() {}

  /** Bits needed for values up to {@code max}. */
  static int bitWidth(int max) {
    return 32 - Integer.numberOfLeadingZeros(max);
  }

  /** Appends {@code count} values to {@code out}, without a length prefix. */
  static void encode(int[] values, int count, int bitWidth, Buf out) {
    int litStart = 0;
    int litCount = 0;
    int i = 0;
    while (i < count) {
      int v = values[i];
      int j = i + 1;
      while (j < count && values[j] == v) {
        j++;
      }
      int run = j - i;
      if (run >= 8) {
        if (litCount > 0) {
          int fill = (8 - (litCount & 7)) & 7;
          // Literal groups hold 8 values: lend the run enough values to close the last group.
          litCount += fill;
          i += fill;
          run -= fill;
          if (run >= 8) {
            bitPack(values, litStart, litCount, bitWidth, out);
            litCount = 0;
          } else {
            litCount += run;
            i += run;
            continue;
          }
        }
        rleRun(v, run, bitWidth, out);
        i += run;
        litStart = i;
      } else {
        if (litCount == 0) {
          litStart = i;
        }
        litCount += run;
        i += run;
        if (litCount >= MAX_GROUPS * 8) {
          bitPack(values, litStart, MAX_GROUPS * 8, bitWidth, out);
          litStart += MAX_GROUPS * 8;
          litCount -= MAX_GROUPS * 8;
        }
      }
    }
    if (litCount > 0) {
      bitPack(values, litStart, litCount, bitWidth, out);
    }
  }

  /** Appends a run of {@code count} copies of {@code value}. */
  static void rleRun(int value, int count, int bitWidth, Buf out) {
    out.putUnsignedVarInt(count << 1);
    int bytes = (bitWidth + 7) >>> 3;
    out.ensure(bytes);
    for (int b = 0; b < bytes; b++) {
      out.data[out.size++] = (byte) (value >>> (8 * b));
    }
  }

  /** Bit-packs values, zero-padding the last group of 8 (only the last group of a stream). */
  private static void bitPack(int[] values, int start, int count, int bitWidth, Buf out) {
    int groups = (count + 7) >>> 3;
    out.putUnsignedVarInt((groups << 1) | 1);
    out.ensure(groups * bitWidth);
    long acc = 0;
    int bits = 0;
    int end = start + count;
    int total = groups * 8;
    byte[] d = out.data;
    int pos = out.size;
    for (int k = 0; k < total; k++) {
      int idx = start + k;
      long v = idx < end ? values[idx] & 0xFFFFFFFFL : 0;
      acc |= v << bits;
      bits += bitWidth;
      while (bits >= 8) {
        d[pos++] = (byte) acc;
        acc >>>= 8;
        bits -= 8;
      }
    }
    out.size = pos;
  }
}
