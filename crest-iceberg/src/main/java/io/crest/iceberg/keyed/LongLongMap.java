package io.crest.iceberg.keyed;

import java.util.Arrays;

/**
 * A growable map from {@code long} keys to non-negative {@code long} values without boxing:
 * open addressing with linear probing and backward-shift removal over two arrays, doubled at 3/4
 * load. The per-flush bookkeeping of {@link KeyedWriter} (keys written, keys missed, rows of the
 * flush), where a {@code HashMap<Long, Long>} would allocate two objects per row.
 *
 * <p>Not thread-safe.
 */
final class LongLongMap {
  /** What {@link #get} returns for an absent key. */
  static final long NONE = -1L;

  private long[] keys;
  private long[] values;
  private int mask;
  private int size;

  LongLongMap() {
    this(16);
  }

  LongLongMap(int expected) {
    int capacity = Integer.highestOneBit(Math.max(16, expected * 4 / 3 + 1) - 1) << 1;
    keys = new long[capacity];
    values = new long[capacity];
    Arrays.fill(values, NONE);
    mask = capacity - 1;
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** The value of {@code key}, or {@link #NONE}. */
  long get(long key) {
    int slot = home(key);
    while (values[slot] != NONE) {
      if (keys[slot] == key) {
        return values[slot];
      }
      slot = (slot + 1) & mask;
    }
    return NONE;
  }

  boolean containsKey(long key) {
    return get(key) != NONE;
  }

  /** Maps {@code key} to {@code value} (not negative); returns the previous value or NONE. */
  long put(long key, long value) {
    if (value < 0) {
      throw new IllegalArgumentException("Cannot map key " + key + " to a negative value");
    }
    int slot = home(key);
    while (values[slot] != NONE) {
      if (keys[slot] == key) {
        long previous = values[slot];
        values[slot] = value;
        return previous;
      }
      slot = (slot + 1) & mask;
    }
    keys[slot] = key;
    values[slot] = value;
    if (++size > (mask + 1) / 4 * 3) {
      grow();
    }
    return NONE;
  }

  /** Removes {@code key}; returns its value or NONE. */
  long remove(long key) {
    int slot = home(key);
    while (values[slot] != NONE) {
      if (keys[slot] == key) {
        long previous = values[slot];
        removeAt(slot);
        return previous;
      }
      slot = (slot + 1) & mask;
    }
    return NONE;
  }

  /** Forgets every key, keeping the arrays (and shrinking them if they grew very large). */
  void clear() {
    if (size == 0) {
      return;
    }
    if (keys.length > 1 << 16 && size < keys.length / 16) {
      keys = new long[keys.length / 4];
      values = new long[keys.length];
      mask = keys.length - 1;
    }
    Arrays.fill(values, NONE);
    size = 0;
  }

  /** Calls {@code action} with every entry, in no particular order. Do not change the map in it. */
  void forEach(Entry action) {
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != NONE) {
        action.accept(keys[i], values[i]);
      }
    }
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

  /** The keys, sorted. */
  long[] sortedKeys() {
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

  /** A value update. */
  interface Update {
    long apply(long key, long value);
  }

  private int home(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldValues = values;
    keys = new long[oldKeys.length * 2];
    values = new long[keys.length];
    Arrays.fill(values, NONE);
    mask = keys.length - 1;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldValues[i] != NONE) {
        int slot = home(oldKeys[i]);
        while (values[slot] != NONE) {
          slot = (slot + 1) & mask;
        }
        keys[slot] = oldKeys[i];
        values[slot] = oldValues[i];
      }
    }
  }

  private void removeAt(int slot) {
    int gap = slot;
    int next = (gap + 1) & mask;
    while (values[next] != NONE) {
      int home = home(keys[next]);
      boolean movable = gap <= next ? (home <= gap || home > next) : (home <= gap && home > next);
      if (movable) {
        keys[gap] = keys[next];
        values[gap] = values[next];
        gap = next;
      }
      next = (next + 1) & mask;
    }
    values[gap] = NONE;
    size--;
  }
}
