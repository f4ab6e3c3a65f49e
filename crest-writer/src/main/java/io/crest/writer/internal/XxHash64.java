package io.crest.writer.internal;

/**
 * XXH64 with seed 0, the hash Parquet's bloom filters apply to a value's plain encoding (4 or 8
 * little-endian bytes for int32 and int64, the bytes themselves for byte arrays). Written from the
 * algorithm's description (github.com/Cyan4973/xxHash, doc/xxhash_spec.md). Stateless.
 */
final class XxHash64 {
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;
  private static final long P5 = 0x27D4EB2F165667C5L;

  private XxHash64() {}

  /** The hash of the 4 little-endian bytes of {@code v}. */
  static long hashInt(int v) {
    long h = P5 + 4;
    h ^= (v & 0xFFFFFFFFL) * P1;
    h = Long.rotateLeft(h, 23) * P2 + P3;
    return avalanche(h);
  }

  /** The hash of the 8 little-endian bytes of {@code v}. */
  static long hashLong(long v) {
    long h = P5 + 8;
    h ^= round(0, v);
    h = Long.rotateLeft(h, 27) * P1 + P4;
    return avalanche(h);
  }

  /** The hash of {@code a[off, off + len)}. */
  static long hash(byte[] a, int off, int len) {
    int p = off;
    int end = off + len;
    long h;
    if (len >= 32) {
      long v1 = P1 + P2;
      long v2 = P2;
      long v3 = 0;
      long v4 = -P1;
      int limit = end - 32;
      do {
        v1 = round(v1, (long) Buf.LONG_LE.get(a, p));
        v2 = round(v2, (long) Buf.LONG_LE.get(a, p + 8));
        v3 = round(v3, (long) Buf.LONG_LE.get(a, p + 16));
        v4 = round(v4, (long) Buf.LONG_LE.get(a, p + 24));
        p += 32;
      } while (p <= limit);
      h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12)
          + Long.rotateLeft(v4, 18);
      h = merge(h, v1);
      h = merge(h, v2);
      h = merge(h, v3);
      h = merge(h, v4);
    } else {
      h = P5;
    }
    h += len;
    while (p + 8 <= end) {
      h ^= round(0, (long) Buf.LONG_LE.get(a, p));
      h = Long.rotateLeft(h, 27) * P1 + P4;
      p += 8;
    }
    if (p + 4 <= end) {
      h ^= (((int) Buf.INT_LE.get(a, p)) & 0xFFFFFFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      p += 4;
    }
    while (p < end) {
      h ^= (a[p] & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
      p++;
    }
    return avalanche(h);
  }

  private static long round(long acc, long input) {
    return Long.rotateLeft(acc + input * P2, 31) * P1;
  }

  private static long merge(long acc, long v) {
    return (acc ^ round(0, v)) * P1 + P4;
  }

  private static long avalanche(long h) {
    h ^= h >>> 33;
    h *= P2;
    h ^= h >>> 29;
    h *= P3;
    h ^= h >>> 32;
    return h;
  }
}
