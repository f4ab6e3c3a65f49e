package io.crest.iceberg.keyed;

import java.util.Arrays;

/**
 * A growable map from {@code long} keys to non-negative {@code long} values without boxing:
 * open addressing with linear probing and backward-shift removal, doubled at 3/4 load. The
 * per-flush bookkeeping of {@link KeyedWriter} (keys missed, keys found in the index, rows of the
 * flush), where a {@code HashMap<Long, Long>} would allocate two objects per row. A slot's key and
 * value sit next to each other in one array, so a probe touches one cache line.
 *
 * <p>A <em>wide</em> map ({@link #wide()}) takes keys of two {@code long}s (the 128-bit hash of
 * a {@link KeyCodec} key), {@code hi} and {@code lo}; the one-{@code long} methods of a wide map
 * mean {@code hi} 0, and the key methods of a narrow map need {@code hi} 0.
 *
 * <p>Not thread-safe.
 */
final class LongLongMap {
  /** What {@link #get} returns for an absent key. */
  static final long NONE = -1L;

  // Slot i at [i * stride]: lo, then (wide only) hi, then the value (NONE: a free slot).
  private final int stride;
  private final int valueAt; // offset of the value in a slot
  private long[] slots;
  private int mask;
  private int size;

  LongLongMap() {
    this(16);
  }

  LongLongMap(int expected) {
    this(expected, false);
  }

  private LongLongMap(int expected, boolean wide) {
    stride = wide ? 3 : 2;
    valueAt = stride - 1;
    int capacity = Integer.highestOneBit(Math.max(16, expected * 4 / 3 + 1) - 1) << 1;
    allocate(capacity);
  }

  private void allocate(int capacity) {
    slots = new long[capacity * stride];
    for (int i = valueAt; i < slots.length; i += stride) {
      slots[i] = NONE;
    }
    mask = capacity - 1;
  }

  /** A map whose keys are two {@code long}s. */
  static LongLongMap wide() {
    return new LongLongMap(16, true);
  }

  /** A map of keys as wide as {@code codec}'s. */
  static LongLongMap of(KeyCodec codec) {
    return new LongLongMap(16, codec.wide());
  }

  /** Whether keys are two {@code long}s. */
  boolean isWide() {
    return stride == 3;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The value of {@code key}, or {@link #NONE}. */
  long get(long key) {
    return get(0, key);
  }

  /** The value of the key {@code (hi, lo)}, or {@link #NONE}. */
  long get(long hi, long lo) {
    int at = find(hi, lo);
    return at < 0 ? NONE : slots[at + valueAt];
  }

  boolean containsKey(long key) {
    return find(0, key) >= 0;
  }

  boolean containsKey(long hi, long lo) {
    return find(hi, lo) >= 0;
  }

  /** Maps {@code key} to {@code value} (not negative); returns the previous value or NONE. */
  long put(long key, long value) {
    return put(0, key, value);
  }

  /** Maps the key {@code (hi, lo)} to {@code value} (not negative); returns the previous value. */
  long put(long hi, long lo, long value) {
    if (value < 0) {
      throw new IllegalArgumentException("Cannot map key " + lo + " to a negative value");
    }
    if (stride == 2 && hi != 0) {
      throw new IllegalArgumentException("Cannot put a wide key into a narrow map");
    }
    int slot = home(hi, lo);
    while (true) {
      int at = slot * stride;
      long current = slots[at + valueAt];
      if (current == NONE) {
        slots[at] = lo;
        if (stride == 3) {
          slots[at + 1] = hi;
        }
        slots[at + valueAt] = value;
        if (++size > (mask + 1) / 4 * 3) {
          grow();
        }
        return NONE;
      }
      if (slots[at] == lo && (stride == 2 || slots[at + 1] == hi)) {
        slots[at + valueAt] = value;
        return current;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Removes {@code key}; returns its value or NONE. */
  long remove(long key) {
    return remove(0, key);
  }

  /** Removes the key {@code (hi, lo)}; returns its value or NONE. */
  long remove(long hi, long lo) {
    int at = find(hi, lo);
    if (at < 0) {
      return NONE;
    }
    long previous = slots[at + valueAt];
    removeAt(at / stride);
    return previous;
  }

  /** The array offset of the key's slot, or -1. */
  private int find(long hi, long lo) {
    int slot = home(hi, lo);
    while (true) {
      int at = slot * stride;
      if (slots[at + valueAt] == NONE) {
        return -1;
      }
      if (slots[at] == lo && (stride == 2 || slots[at + 1] == hi)) {
        return at;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** Forgets every key, keeping the array (and shrinking it if it grew very large). */
  void clear() {
    if (size == 0) {
      return;
    }
    int capacity = mask + 1;
    if (capacity > 1 << 16 && size < capacity / 16) {
      allocate(capacity / 4);
    } else {
      for (int i = valueAt; i < slots.length; i += stride) {
        slots[i] = NONE;
      }
    }
    size = 0;
  }

  /**
   * Calls {@code action} with every entry, in no particular order. Do not change the map in it.
   * Of a wide map, only the low halves of the keys: see {@link #forEachKey}.
   */
  void forEach(Entry action) {
    for (int at = 0; at < slots.length; at += stride) {
      long value = slots[at + valueAt];
      if (value != NONE) {
        action.accept(slots[at], value);
      }
    }
  }

  /** Calls {@code action} with every entry, whole keys, in no particular order. */
  void forEachKey(KeyEntry action) {
    for (int at = 0; at < slots.length; at += stride) {
      long value = slots[at + valueAt];
      if (value != NONE) {
        action.accept(stride == 3 ? slots[at + 1] : 0, slots[at], value);
      }
    }
  }

  /** A copy of this map. */
  LongLongMap copy() {
    LongLongMap copy = new LongLongMap(16, stride == 3);
    copy.slots = slots.clone();
    copy.mask = mask;
    copy.size = size;
    return copy;
  }

  /** Replaces every value with {@code f(key, value)} (not negative). */
  void replaceAll(Update f) {
    for (int at = 0; at < slots.length; at += stride) {
      long value = slots[at + valueAt];
      if (value != NONE) {
        long v = f.apply(slots[at], value);
        if (v < 0) {
          throw new IllegalArgumentException("Cannot map key " + slots[at]
              + " to a negative value");
        }
        slots[at + valueAt] = v;
      }
    }
  }

  /** The keys, sorted (of a narrow map). */
  long[] sortedKeys() {
    if (stride == 3) {
      throw new IllegalStateException("A wide map's keys have no order");
    }
    long[] out = new long[size];
    int n = 0;
    for (int at = 0; at < slots.length; at += stride) {
      if (slots[at + valueAt] != NONE) {
        out[n++] = slots[at];
      }
    }
    Arrays.sort(out);
    return out;
  }

  /** An entry visitor. */
  interface Entry {
    void accept(long key, long value);
  }

  /** An entry visitor of whole keys. */
  interface KeyEntry {
    void accept(long hi, long lo, long value);
  }

  /** A value update. */
  interface Update {
    long apply(long key, long value);
  }

  private int home(long hi, long lo) {
    long h = (lo ^ hi) * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  private int homeOf(int slot) {
    int at = slot * stride;
    return home(stride == 3 ? slots[at + 1] : 0, slots[at]);
  }

  private void grow() {
    long[] old = slots;
    allocate((mask + 1) * 2);
    for (int at = 0; at < old.length; at += stride) {
      if (old[at + valueAt] != NONE) {
        long hi = stride == 3 ? old[at + 1] : 0;
        int slot = home(hi, old[at]);
        while (slots[slot * stride + valueAt] != NONE) {
          slot = (slot + 1) & mask;
        }
        System.arraycopy(old, at, slots, slot * stride, stride);
      }
    }
  }

  private void removeAt(int slot) {
    int gap = slot;
    int next = (gap + 1) & mask;
    while (slots[next * stride + valueAt] != NONE) {
      int home = homeOf(next);
      boolean movable = gap <= next ? (home <= gap || home > next) : (home <= gap && home > next);
      if (movable) {
        System.arraycopy(slots, next * stride, slots, gap * stride, stride);
        gap = next;
      }
      next = (next + 1) & mask;
    }
    slots[gap * stride + valueAt] = NONE;
    size--;
  }
}
