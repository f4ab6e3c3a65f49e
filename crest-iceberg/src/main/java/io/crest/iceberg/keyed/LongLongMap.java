package io.crest.iceberg.keyed;

import java.util.Arrays;

/**
 * A growable map from {@code long} keys to non-negative {@code long} values without boxing:
 * open addressing with linear probing and backward-shift removal over two arrays, doubled at 3/4
 * load. The per-flush bookkeeping of {@link KeyedWriter} (keys written, keys missed, rows of the
 * flush), where a {@code HashMap<Long, Long>} would allocate two objects per row.
 *
 * <p>A <em>wide</em> map ({@link #wide()}) takes keys of two {@code long}s (the 128-bit hash of
 * a {@link KeyCodec} key), {@code hi} and {@code lo}, in a third array; the one-{@code long}
 * methods of a wide map mean {@code hi} 0, and the key methods of a narrow map need {@code hi} 0.
 *
 * <p>Not thread-safe.
 */
final class LongLongMap {
  /** What {@link #get} returns for an absent key. */
  static final long NONE = -1L;

  private long[] keys;
  private long[] his; // wide maps only: the high half of each key
  private long[] values;
  private int mask;
  private int size;

  LongLongMap() {
    this(16);
  }

  LongLongMap(int expected) {
    this(expected, false);
  }

  private LongLongMap(int expected, boolean wide) {
    int capacity = Integer.highestOneBit(Math.max(16, expected * 4 / 3 + 1) - 1) << 1;
    keys = new long[capacity];
    his = wide ? new long[capacity] : null;
    values = new long[capacity];
    Arrays.fill(values, NONE);
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
    return his != null;
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
    int slot = find(hi, lo);
    return slot < 0 ? NONE : values[slot];
  }

  boolean containsKey(long key) {
    return get(0, key) != NONE;
  }

  boolean containsKey(long hi, long lo) {
    return get(hi, lo) != NONE;
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
    if (his == null && hi != 0) {
      throw new IllegalArgumentException("Cannot put a wide key into a narrow map");
    }
    int slot = home(hi, lo);
    while (values[slot] != NONE) {
      if (keys[slot] == lo && (his == null || his[slot] == hi)) {
        long previous = values[slot];
        values[slot] = value;
        return previous;
      }
      slot = (slot + 1) & mask;
    }
    keys[slot] = lo;
    if (his != null) {
      his[slot] = hi;
    }
    values[slot] = value;
    if (++size > (mask + 1) / 4 * 3) {
      grow();
    }
    return NONE;
  }

  /** Removes {@code key}; returns its value or NONE. */
  long remove(long key) {
    return remove(0, key);
  }

  /** Removes the key {@code (hi, lo)}; returns its value or NONE. */
  long remove(long hi, long lo) {
    int slot = find(hi, lo);
    if (slot < 0) {
      return NONE;
    }
    long previous = values[slot];
    removeAt(slot);
    return previous;
  }

  private int find(long hi, long lo) {
    int slot = home(hi, lo);
    while (values[slot] != NONE) {
      if (keys[slot] == lo && (his == null || his[slot] == hi)) {
        return slot;
      }
      slot = (slot + 1) & mask;
    }
    return -1;
  }

  /** Forgets every key, keeping the arrays (and shrinking them if they grew very large). */
  void clear() {
    if (size == 0) {
      return;
    }
    if (keys.length > 1 << 16 && size < keys.length / 16) {
      keys = new long[keys.length / 4];
      his = his == null ? null : new long[keys.length];
      values = new long[keys.length];
      mask = keys.length - 1;
    }
    Arrays.fill(values, NONE);
    size = 0;
  }

  /**
   * Calls {@code action} with every entry, in no particular order. Do not change the map in it.
   * Of a wide map, only the low halves of the keys: see {@link #forEachKey}.
   */
  void forEach(Entry action) {
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != NONE) {
        action.accept(keys[i], values[i]);
      }
    }
  }

  /** Calls {@code action} with every entry, whole keys, in no particular order. */
  void forEachKey(KeyEntry action) {
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != NONE) {
        action.accept(his == null ? 0 : his[i], keys[i], values[i]);
      }
    }
  }

  /** A copy of this map. */
  LongLongMap copy() {
    LongLongMap copy = new LongLongMap(16, his != null);
    copy.keys = keys.clone();
    copy.his = his == null ? null : his.clone();
    copy.values = values.clone();
    copy.mask = mask;
    copy.size = size;
    return copy;
  }

  /** Replaces every value with {@code f(key, value)} (not negative). */
  void replaceAll(Update f) {
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != NONE) {
        long v = f.apply(keys[i], values[i]);
        if (v < 0) {
          throw new IllegalArgumentException("Cannot map key " + keys[i] + " to a negative value");
        }
        values[i] = v;
      }
    }
  }

  /** The keys, sorted (of a narrow map). */
  long[] sortedKeys() {
    if (his != null) {
      throw new IllegalStateException("A wide map's keys have no order");
    }
    long[] out = new long[size];
    int n = 0;
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != NONE) {
        out[n++] = keys[i];
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
    return home(his == null ? 0 : his[slot], keys[slot]);
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldHis = his;
    long[] oldValues = values;
    keys = new long[oldKeys.length * 2];
    his = oldHis == null ? null : new long[keys.length];
    values = new long[keys.length];
    Arrays.fill(values, NONE);
    mask = keys.length - 1;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldValues[i] != NONE) {
        long hi = oldHis == null ? 0 : oldHis[i];
        int slot = home(hi, oldKeys[i]);
        while (values[slot] != NONE) {
          slot = (slot + 1) & mask;
        }
        keys[slot] = oldKeys[i];
        if (his != null) {
          his[slot] = hi;
        }
        values[slot] = oldValues[i];
      }
    }
  }

  private void removeAt(int slot) {
    int gap = slot;
    int next = (gap + 1) & mask;
    while (values[next] != NONE) {
      int home = homeOf(next);
      boolean movable = gap <= next ? (home <= gap || home > next) : (home <= gap && home > next);
      if (movable) {
        keys[gap] = keys[next];
        if (his != null) {
          his[gap] = his[next];
        }
        values[gap] = values[next];
        gap = next;
      }
      next = (next + 1) & mask;
    }
    values[gap] = NONE;
    size--;
  }
}
