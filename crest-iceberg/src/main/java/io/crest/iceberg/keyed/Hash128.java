package io.crest.iceberg.keyed;

import java.util.Arrays;

/**
 * The 128-bit x64 MurmurHash3 (seed 0) of bytes put one value after another: the hash a wide key
 * ({@link KeyCodec}) is held by. Longs are put as 8 little-endian bytes. Reusable ({@link
 * #reset}); not thread-safe.
 */
final class Hash128 {
  private static final long C1 = 0x87c37b91114253d5L;
  private static final long C2 = 0x4cf5ad432745937fL;

  private byte[] bytes = new byte[64];
  private int length;
  /** The hash's first and second 8 bytes, after {@link #finish}. */
  long h1;
  long h2;

  void reset() {
    length = 0;
  }

  void putLong(long value) {
    ensure(8);
    for (int i = 0; i < 8; i++) {
      bytes[length++] = (byte) (value >>> (8 * i));
    }
  }

  void putInt(int value) {
    ensure(4);
    for (int i = 0; i < 4; i++) {
      bytes[length++] = (byte) (value >>> (8 * i));
    }
  }

  /** Puts the length of {@code value}, then its bytes. */
  void putSized(byte[] value) {
    putInt(value.length);
    ensure(value.length);
    System.arraycopy(value, 0, bytes, length, value.length);
    length += value.length;
  }

  /** Puts the length of the {@code length} bytes of {@code data} from {@code start}, then them. */
  void putSized(org.apache.arrow.memory.ArrowBuf data, long start, int length) {
    putInt(length);
    ensure(length);
    data.getBytes(start, bytes, this.length, length);
    this.length += length;
  }

  private void ensure(int more) {
    if (length + more > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + more));
    }
  }

  /** Computes the hash of the bytes put since the last reset into {@link #h1} and {@link #h2}. */
  void finish() {
    long a = 0;
    long b = 0;
    int blocks = length / 16;
    for (int i = 0; i < blocks; i++) {
      long k1 = littleEndian(i * 16, 8);
      long k2 = littleEndian(i * 16 + 8, 8);
      a ^= mixK1(k1);
      a = Long.rotateLeft(a, 27) + b;
      a = a * 5 + 0x52dce729;
      b ^= mixK2(k2);
      b = Long.rotateLeft(b, 31) + a;
      b = b * 5 + 0x38495ab5;
    }
    int tail = blocks * 16;
    int rest = length - tail;
    if (rest > 8) {
      b ^= mixK2(littleEndian(tail + 8, rest - 8));
    }
    if (rest > 0) {
      a ^= mixK1(littleEndian(tail, Math.min(rest, 8)));
    }
    a ^= length;
    b ^= length;
    a += b;
    b += a;
    a = fmix(a);
    b = fmix(b);
    a += b;
    b += a;
    h1 = a;
    h2 = b;
  }

  private long littleEndian(int at, int count) {
    long v = 0;
    for (int i = count - 1; i >= 0; i--) {
      v = (v << 8) | (bytes[at + i] & 0xffL);
    }
    return v;
  }

  private static long mixK1(long k) {
    k *= C1;
    k = Long.rotateLeft(k, 31);
    return k * C2;
  }

  private static long mixK2(long k) {
    k *= C2;
    k = Long.rotateLeft(k, 33);
    return k * C1;
  }

  private static long fmix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
