package io.crest.writer.internal;

import java.util.Arrays;

/** Open-addressing dictionaries for fixed-width and byte-array values. Not thread-safe. */
final class Dicts {
  private Dicts() {}

  static int mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (int) h;
  }

  /** Distinct 64-bit values (raw bits for floats), ids in insertion order. */
  static final class Longs {
    long[] values = new long[1024];
    int size;
    private long[] keys = new long[2048];
    private int[] slots = new int[2048]; // id + 1, 0 = empty
    private int mask = 2047;

    void clear() {
      if (size > 0) {
        Arrays.fill(slots, 0);
        size = 0;
      }
    }

    long retainedBytes() {
      return 8L * (values.length + keys.length) + 4L * slots.length;
    }

    /** The id of {@code v}, added when new; {@link #size} tells whether it grew. */
    int add(long v) {
      int i = mix(v) & mask;
      while (true) {
        int s = slots[i];
        if (s == 0) {
          break;
        }
        if (keys[i] == v) {
          return s - 1;
        }
        i = (i + 1) & mask;
      }
      int id = size++;
      if (id == values.length) {
        values = Arrays.copyOf(values, id * 2);
      }
      values[id] = v;
      keys[i] = v;
      slots[i] = id + 1;
      if (size * 2 > mask) {
        rehash();
      }
      return id;
    }

    private void rehash() {
      int cap = (mask + 1) * 2;
      keys = new long[cap];
      slots = new int[cap];
      mask = cap - 1;
      for (int id = 0; id < size; id++) {
        long v = values[id];
        int i = mix(v) & mask;
        while (slots[i] != 0) {
          i = (i + 1) & mask;
        }
        keys[i] = v;
        slots[i] = id + 1;
      }
    }
  }

  /** Distinct byte strings, kept in Parquet plain encoding, ids in insertion order. */
  static final class Bytes {
    final Buf plain = new Buf(1 << 16);
    final boolean lengthPrefixed;
    int[] starts = new int[1024]; // of the value bytes in plain
    int[] lens = new int[1024];
    int size;
    private int[] slots = new int[2048];
    private int[] hashes = new int[2048];
    private int mask = 2047;

    Bytes(boolean lengthPrefixed) {
      this.lengthPrefixed = lengthPrefixed;
    }

    void clear() {
      if (size > 0) {
        Arrays.fill(slots, 0);
        size = 0;
        plain.reset();
      }
    }

    long retainedBytes() {
      return plain.data.length + 4L * (starts.length + lens.length + slots.length + hashes.length);
    }

    static int hash(byte[] a, int off, int len) {
      long h = len;
      int i = 0;
      for (; i + 8 <= len; i += 8) {
        h = (h ^ (long) Buf.LONG_LE.get(a, off + i)) * 0x9E3779B97F4A7C15L;
      }
      for (; i < len; i++) {
        h = (h ^ a[off + i]) * 0x100000001B3L;
      }
      return mix(h);
    }

    int add(byte[] a, int off, int len) {
      int h = hash(a, off, len);
      int i = h & mask;
      while (true) {
        int s = slots[i];
        if (s == 0) {
          break;
        }
        if (hashes[i] == h) {
          int id = s - 1;
          int st = starts[id];
          if (lens[id] == len && Arrays.equals(plain.data, st, st + len, a, off, off + len)) {
            return id;
          }
        }
        i = (i + 1) & mask;
      }
      int id = size++;
      if (id == starts.length) {
        starts = Arrays.copyOf(starts, id * 2);
        lens = Arrays.copyOf(lens, id * 2);
      }
      if (lengthPrefixed) {
        plain.putIntLe(len);
      }
      starts[id] = plain.size;
      lens[id] = len;
      plain.write(a, off, len);
      slots[i] = id + 1;
      hashes[i] = h;
      if (size * 2 > mask) {
        rehash();
      }
      return id;
    }

    private void rehash() {
      int cap = (mask + 1) * 2;
      int[] oldSlots = slots;
      int[] oldHashes = hashes;
      slots = new int[cap];
      hashes = new int[cap];
      mask = cap - 1;
      for (int k = 0; k < oldSlots.length; k++) {
        if (oldSlots[k] != 0) {
          int i = oldHashes[k] & mask;
          while (slots[i] != 0) {
            i = (i + 1) & mask;
          }
          slots[i] = oldSlots[k];
          hashes[i] = oldHashes[k];
        }
      }
    }
  }
}
