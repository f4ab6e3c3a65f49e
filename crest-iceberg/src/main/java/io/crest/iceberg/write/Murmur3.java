package io.crest.iceberg.write;

import org.apache.arrow.memory.ArrowBuf;

/**
 * The 32-bit x86 MurmurHash3 with seed 0, the hash the Iceberg spec prescribes for {@code
 * bucket[N]}, computed on primitives and on bytes in an Arrow buffer, without allocating. {@link
 * #hashLong} equals the spec's hash of an int, long, date, time or timestamp value; {@link
 * #hashBytes} the hash of a string's UTF-8 bytes or a binary value.
 */
final class Murmur3 {
  private static final int C1 = 0xcc9e2d51;
  private static final int C2 = 0x1b873593;

  private Murmur3() {}

  /** The hash of the 8 little-endian bytes of {@code value}. */
  static int hashLong(long value) {
    int h = mixH1(0, mixK1((int) value));
    h = mixH1(h, mixK1((int) (value >>> 32)));
    return fmix(h, 8);
  }

  /** The hash of the {@code length} bytes of {@code buf} from {@code start}. */
  static int hashBytes(ArrowBuf buf, long start, int length) {
    int h = 0;
    int blocks = length & ~3;
    for (int i = 0; i < blocks; i += 4) {
      h = mixH1(h, mixK1(buf.getInt(start + i))); // Arrow buffers are little-endian
    }
    int k = 0;
    switch (length & 3) {
      case 3:
        k ^= (buf.getByte(start + blocks + 2) & 0xff) << 16;
        // fall through
      case 2:
        k ^= (buf.getByte(start + blocks + 1) & 0xff) << 8;
        // fall through
      case 1:
        k ^= buf.getByte(start + blocks) & 0xff;
        h ^= mixK1(k);
        break;
      default:
        break;
    }
    return fmix(h, length);
  }

  /** Iceberg's bucket of a hash: {@code (hash & Integer.MAX_VALUE) % buckets}. */
  static int bucket(int hash, int buckets) {
    return (hash & Integer.MAX_VALUE) % buckets;
  }

  private static int mixK1(int k) {
    return Integer.rotateLeft(k * C1, 15) * C2;
  }

  private static int mixH1(int h, int k) {
    return Integer.rotateLeft(h ^ k, 13) * 5 + 0xe6546b64;
  }

  private static int fmix(int h, int length) {
    h ^= length;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}
