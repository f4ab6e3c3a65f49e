package io.crest.writer.internal;

import java.io.IOException;
import java.util.Arrays;
import org.apache.parquet.format.BloomFilterAlgorithm;
import org.apache.parquet.format.BloomFilterCompression;
import org.apache.parquet.format.BloomFilterHash;
import org.apache.parquet.format.BloomFilterHeader;
import org.apache.parquet.format.SplitBlockAlgorithm;
import org.apache.parquet.format.Uncompressed;
import org.apache.parquet.format.Util;
import org.apache.parquet.format.XxHash;

/**
 * Builds the Parquet split-block bloom filter of one column chunk at a time (Parquet's
 * BloomFilter.md: 32-byte blocks of eight 32-bit words, one bit set per word for each value,
 * XXH64 of the value's plain encoding). The filter is sized when the chunk ends, from the number
 * of distinct values the chunk had and the false-positive probability, as parquet-java sizes it
 * from an expected count: the smallest power of two of at least {@code -8 n / ln(1 - fpp^(1/8))}
 * bits, at least 32 bytes and at most the maximum.
 *
 * <p>How the count is known without holding every value: up to {@link #EXACT_LIMIT} distinct
 * hashes are kept in a set; past that, the hashes go straight into a filter of the maximum size,
 * whose share of zero bits tells the count at the end, and which is folded to the size for that
 * count (with a power-of-two number of blocks, halving the blocks ORs block pairs {@code 2i,
 * 2i + 1} into block {@code i}: the very filter the values would have built at half the size).
 * So it holds at most the set (128 KiB) or one maximum-size filter. Not thread-safe; reused
 * chunk after chunk.
 */
final class SplitBlockBloom {
  /** Distinct values a chunk's set holds before the values go into a maximum-size filter. */
  static final int EXACT_LIMIT = 8192;
  static final int MIN_BYTES = 32;
  static final int MAX_BYTES = 128 << 20;
  private static final int[] SALT = {0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
      0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31};

  private final double fpp;
  private final int maxBytes;
  // the set's size at which the values go into a maximum-size filter
  private final int filterFrom;
  // the exact phase: distinct hashes, open addressing; 0 marks a free slot, so hash 0 is a flag
  private long[] set = new long[64];
  private int setSize;
  private boolean hasZero;
  // the filter phase: the maximum-size filter, or null while counting exactly
  private int[] words;
  private boolean filtering;

  /**
   * A builder of filters with false-positive probability {@code fpp} of at most {@code maxBytes}
   * (rounded down to whole 32-byte blocks).
   */
  SplitBlockBloom(double fpp, int maxBytes) {
    this.fpp = fpp;
    this.maxBytes = Math.max(MIN_BYTES, maxBytes & ~31);
    // the fewest distinct values that need the maximum size, if fewer than the set's limit
    int lo = 1;
    int hi = EXACT_LIMIT + 1;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (bytesFor(mid, fpp, this.maxBytes) == this.maxBytes) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    this.filterFrom = lo;
  }

  /** The bytes of a filter for {@code distinct} values: see the class comment. */
  static int bytesFor(long distinct, double fpp, int maxBytes) {
    double bits = -8.0 * distinct / Math.log(1 - Math.pow(fpp, 1.0 / 8));
    double bytes = Math.ceil(bits / 8);
    if (!(bytes < maxBytes)) {
      return maxBytes;
    }
    int b = Math.max(MIN_BYTES, (int) bytes);
    b = Integer.bitCount(b) == 1 ? b : Integer.highestOneBit(b) << 1;
    return Math.min(b, maxBytes);
  }

  /** Adds the value whose plain-encoding hash is {@code hash}. */
  void add(long hash) {
    if (filtering) {
      insert(words, words.length >>> 3, hash);
      return;
    }
    if (hash == 0) {
      hasZero = true;
      return;
    }
    long[] s = set;
    int mask = s.length - 1;
    int i = Dicts.mix(hash) & mask;
    while (true) {
      long k = s[i];
      if (k == hash) {
        return;
      }
      if (k == 0) {
        break;
      }
      i = (i + 1) & mask;
    }
    s[i] = hash;
    setSize++;
    if (setSize >= filterFrom) {
      startFiltering();
    } else if (setSize * 2 > s.length) {
      growSet();
    }
  }

  /**
   * Adds the values of a plain-encoded page body {@code a[off, off + len)} of a column of
   * physical type {@code physical} (fixed-length arrays of {@code typeLength} bytes).
   */
  void addPlain(byte[] a, int off, int len, Node.Physical physical, int typeLength) {
    int end = off + len;
    switch (physical) {
      case INT32:
        for (int p = off; p < end; p += 4) {
          add(XxHash64.hashInt((int) Buf.INT_LE.get(a, p)));
        }
        return;
      case INT64:
        for (int p = off; p < end; p += 8) {
          add(XxHash64.hashLong((long) Buf.LONG_LE.get(a, p)));
        }
        return;
      case FIXED:
        for (int p = off; p < end; p += typeLength) {
          add(XxHash64.hash(a, p, typeLength));
        }
        return;
      case BYTE_ARRAY:
        for (int p = off; p < end; ) {
          int n = (int) Buf.INT_LE.get(a, p);
          add(XxHash64.hash(a, p + 4, n));
          p += 4 + n;
        }
        return;
      default:
        throw new IllegalStateException("Cannot hash " + physical + " values for a bloom filter");
    }
  }

  private void growSet() {
    long[] old = set;
    long[] s = new long[old.length * 2];
    int mask = s.length - 1;
    for (long k : old) {
      if (k != 0) {
        int i = Dicts.mix(k) & mask;
        while (s[i] != 0) {
          i = (i + 1) & mask;
        }
        s[i] = k;
      }
    }
    set = s;
  }

  private void startFiltering() {
    if (words == null || words.length != maxBytes >>> 2) {
      words = new int[maxBytes >>> 2];
    }
    int blocks = words.length >>> 3;
    for (long k : set) {
      if (k != 0) {
        insert(words, blocks, k);
      }
    }
    if (hasZero) {
      insert(words, blocks, 0);
    }
    clearSet();
    filtering = true;
  }

  private static void insert(int[] w, int blocks, long hash) {
    int base = (int) (((hash >>> 32) * blocks) >>> 32) << 3;
    int key = (int) hash;
    for (int i = 0; i < 8; i++) {
      w[base + i] |= 1 << ((key * SALT[i]) >>> 27);
    }
  }

  /** Whether the filter {@code w} may hold the value of {@code hash}. */
  static boolean mightContain(int[] w, int words, long hash) {
    int blocks = words >>> 3;
    int base = (int) (((hash >>> 32) * blocks) >>> 32) << 3;
    int key = (int) hash;
    for (int i = 0; i < 8; i++) {
      if ((w[base + i] & (1 << ((key * SALT[i]) >>> 27))) == 0) {
        return false;
      }
    }
    return true;
  }

  /**
   * Ends the chunk: returns its filter as Parquet stores it (the {@code BloomFilterHeader}, then
   * the bitset) and starts the next chunk empty.
   */
  byte[] finish() {
    int[] w;
    int used;
    if (filtering) {
      w = words;
      used = fold(w, bytesFor(estimateDistinct(w), fpp, maxBytes) >>> 2);
    } else {
      long distinct = setSize + (hasZero ? 1 : 0);
      used = bytesFor(distinct, fpp, maxBytes) >>> 2;
      w = new int[used];
      int blocks = used >>> 3;
      for (long k : set) {
        if (k != 0) {
          insert(w, blocks, k);
        }
      }
      if (hasZero) {
        insert(w, blocks, 0);
      }
    }
    byte[] out = serialize(w, used);
    reset();
    return out;
  }

  /**
   * Folds {@code w} to {@code target} words while its block count is a power of two larger than
   * needed; returns the words in use.
   */
  private static int fold(int[] w, int target) {
    int used = w.length;
    while (used > target && used >= 16 && Integer.bitCount(used) == 1) {
      int half = used >>> 1;
      for (int b = 0; b < half >>> 3; b++) {
        for (int i = 0; i < 8; i++) {
          w[(b << 3) + i] = w[(b << 4) + i] | w[(b << 4) + 8 + i];
        }
      }
      used = half;
    }
    return used;
  }

  /**
   * The distinct values a filter holds, from its share of zero bits: each value sets one bit of
   * each word of one block, so a word of a block that took {@code k} values has {@code
   * (31/32)^k} of its bits clear, on average.
   */
  static long estimateDistinct(int[] w) {
    long zeros = 0;
    for (int x : w) {
      zeros += 32 - Integer.bitCount(x);
    }
    if (zeros == 0) {
      return Long.MAX_VALUE;
    }
    double clear = zeros / (32.0 * w.length);
    double perBlock = Math.log(clear) / Math.log(31.0 / 32.0);
    return Math.round(perBlock * (w.length >>> 3));
  }

  private static byte[] serialize(int[] w, int used) {
    Buf out = new Buf(used * 4 + 32);
    BloomFilterHeader header = new BloomFilterHeader(used * 4,
        BloomFilterAlgorithm.BLOCK(new SplitBlockAlgorithm()),
        BloomFilterHash.XXHASH(new XxHash()),
        BloomFilterCompression.UNCOMPRESSED(new Uncompressed()));
    try {
      Util.writeBloomFilterHeader(header, out);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot encode a bloom filter header: " + e.getMessage(), e);
    }
    out.ensure(used * 4);
    for (int i = 0; i < used; i++) {
      Buf.INT_LE.set(out.data, out.size + 4 * i, w[i]);
    }
    out.size += used * 4;
    return Arrays.copyOf(out.data, out.size);
  }

  /** Forgets the open chunk's values. */
  void reset() {
    if (filtering) {
      Arrays.fill(words, 0);
      filtering = false;
    }
    clearSet();
  }

  private void clearSet() {
    if (setSize > 0 || hasZero) {
      Arrays.fill(set, 0);
      setSize = 0;
      hasZero = false;
    }
  }

  /** Heap bytes its set and filter hold between chunks. */
  long retainedBytes() {
    return 8L * set.length + (words == null ? 0 : 4L * words.length);
  }
}
