package io.crest.iceberg.keyed;

import java.util.Arrays;

/**
 * Where the live row of each {@code long} key is: key to (data file id, row position), in a
 * fixed amount of memory. An open-addressing hash table (linear probing, backward-shift removal)
 * over one {@code long} array (a slot's key and location side by side, so a probe touches one
 * cache line) and a reference bit per slot; when it is full, the CLOCK algorithm
 * evicts an entry not looked up or updated since the hand last passed it (an approximation of
 * least recently used in which keys written once and never touched again go first).
 *
 * <p>The index is a cache, not the truth: a key it does not hold may still be in the table (its
 * entry was evicted, or the index started cold), and callers resolve such misses from the table.
 * A key it holds maps to exactly the location last {@link #put}. About 16 bytes per slot plus one
 * bit, with slots filled to at most 3/4: at most {@value #BYTES_PER_KEY} bytes per key held.
 *
 * <p>A <em>wide</em> index ({@link #withMemory(long, boolean)}) takes keys of two {@code long}s,
 * {@code hi} and {@code lo} (the 128-bit hash of a {@link KeyCodec} key of other types or several
 * columns), in 24 bytes per slot, at most {@value #WIDE_BYTES_PER_KEY} bytes per
 * key held. Its one-{@code long} methods mean {@code hi} 0.
 *
 * <p>File ids come from the caller (for example the ordinal of a data file in its registry), at
 * most {@value #MAX_FILE_ID}; positions at most {@value #MAX_POSITION}.
 *
 * <p>Not thread-safe: one thread (the pipeline's writer thread) owns it.
 */
public final class LongKeyIndex {
  /** What {@link #get} returns for a key the index does not hold. */
  public static final long NONE = -1L;
  /** The largest file id a location can carry. */
  public static final int MAX_FILE_ID = (1 << 23) - 1;
  /** The largest row position a location can carry. */
  public static final long MAX_POSITION = (1L << 40) - 1;
  /** Memory per key held when the index is full (16 bytes per slot at 3/4 load, and a bit). */
  public static final int BYTES_PER_KEY = 22;
  /** Memory per key held by a wide index when full. */
  public static final int WIDE_BYTES_PER_KEY = 33;

  private static final int POSITION_BITS = 40;
  private static final long EMPTY = -1L; // value of a free slot (a location is never negative)

  // Slot i at [i * stride]: lo, then (wide only) hi, then the location (EMPTY: a free slot), so a
  // probe touches one cache line.
  private final int stride;
  private final int valueAt;
  private final long[] slots;
  private final long[] referenced;
  private final int mask;
  private final int maxSize;
  private int size;
  private int hand;
  private long evictions;

  private LongKeyIndex(int capacity, boolean wide) {
    stride = wide ? 3 : 2;
    valueAt = stride - 1;
    slots = new long[capacity * stride];
    fillEmpty();
    referenced = new long[(capacity + 63) >>> 6];
    mask = capacity - 1;
    maxSize = Math.max(1, capacity / 4 * 3); // as maxKeys(bytes, wide)
  }

  /**
   * An index that uses at most about {@code bytes} of heap.
   *
   * @throws IllegalArgumentException if {@code bytes} is below 1 KiB
   */
  public static LongKeyIndex withMemory(long bytes) {
    return withMemory(bytes, false);
  }

  /**
   * An index of one-{@code long} keys, or of two-{@code long} keys if {@code wide}, that uses at
   * most about {@code bytes} of heap.
   *
   * @throws IllegalArgumentException if {@code bytes} is below 1 KiB
   */
  public static LongKeyIndex withMemory(long bytes, boolean wide) {
    if (bytes < 1024) {
      throw new IllegalArgumentException(
          "Cannot size the key index to " + bytes + " bytes: it needs at least 1 KiB");
    }
    return new LongKeyIndex(slots(bytes, wide), wide);
  }

  /** The slots of an index of {@code bytes}: 16 (or 24) bytes each, a power of 2. */
  private static int slots(long bytes, boolean wide) {
    return (int) Math.min(Long.highestOneBit(bytes / (wide ? 24 : 16)), 1 << 30);
  }

  /** The keys an index of {@code bytes} ({@link #withMemory(long, boolean)}) holds. */
  public static int maxKeys(long bytes, boolean wide) {
    return Math.max(1, slots(bytes, wide) / 4 * 3);
  }

  /** The least memory for {@link #withMemory(long, boolean)} to hold {@code keys} keys. */
  public static long memoryFor(long keys, boolean wide) {
    long slots = Long.highestOneBit(Math.max(1, keys * 4 / 3)) << 1; // filled to at most 3/4
    return slots * (wide ? 24 : 16) + (slots + 63) / 64 * 8; // and a reference bit per slot
  }

  /** Whether keys are two {@code long}s. */
  public boolean isWide() {
    return stride == 3;
  }

  /** The number of keys the index holds before it starts evicting. */
  public int maxKeys() {
    return maxSize;
  }

  /** The number of keys held now. */
  public int size() {
    return size;
  }

  /** How many entries were evicted to make room so far. */
  public long evictions() {
    return evictions;
  }

  /** The heap the index's arrays take, in bytes. */
  public long memoryBytes() {
    return 8L * slots.length + 8L * referenced.length;
  }

  /** Packs a location. */
  public static long location(int fileId, long position) {
    if (fileId < 0 || fileId > MAX_FILE_ID || position < 0 || position > MAX_POSITION) {
      throw new IllegalArgumentException(
          "Cannot index row " + position + " of file " + fileId + ": out of range");
    }
    return ((long) fileId << POSITION_BITS) | position;
  }

  /** The file id of a location. */
  public static int fileId(long location) {
    return (int) (location >>> POSITION_BITS);
  }

  /** The row position of a location. */
  public static long position(long location) {
    return location & MAX_POSITION;
  }

  /** The location of {@code key}, or {@link #NONE} if the index does not hold it. */
  public long get(long key) {
    return get(0, key);
  }

  /** The location of the key {@code (hi, lo)}, or {@link #NONE} if the index does not hold it. */
  public long get(long hi, long lo) {
    int slot = find(hi, lo);
    if (slot < 0) {
      return NONE;
    }
    referenced[slot >>> 6] |= 1L << slot;
    return slots[slot * stride + valueAt];
  }

  /** Records that {@code key}'s live row is at {@code location}, evicting another if full. */
  public void put(long key, long location) {
    put(0, key, location);
  }

  /** Records that the key {@code (hi, lo)}'s live row is at {@code location}. */
  public void put(long hi, long lo, long location) {
    if (location < 0) {
      throw new IllegalArgumentException("Cannot index key " + lo + " at location " + location);
    }
    if (stride == 2 && hi != 0) {
      throw new IllegalArgumentException("Cannot put a wide key into a narrow index");
    }
    int slot = find(hi, lo);
    if (slot >= 0) {
      slots[slot * stride + valueAt] = location;
      referenced[slot >>> 6] |= 1L << slot;
      return;
    }
    if (size >= maxSize) {
      evictOne();
    }
    slot = home(hi, lo);
    while (slots[slot * stride + valueAt] != EMPTY) {
      slot = (slot + 1) & mask;
    }
    int at = slot * stride;
    slots[at] = lo;
    if (stride == 3) {
      slots[at + 1] = hi;
    }
    slots[at + valueAt] = location;
    // No reference bit yet: a key written once and never touched again goes before keys that
    // are read or updated (a stream of new keys does not flush the hot ones out).
    referenced[slot >>> 6] &= ~(1L << slot);
    size++;
  }

  /** Forgets {@code key}; returns whether the index held it. */
  public boolean remove(long key) {
    return remove(0, key);
  }

  /** Forgets the key {@code (hi, lo)}; returns whether the index held it. */
  public boolean remove(long hi, long lo) {
    int slot = find(hi, lo);
    if (slot < 0) {
      return false;
    }
    removeAt(slot);
    return true;
  }

  /**
   * Forgets every key whose row is in file {@code fileId} (a file rewritten by compaction or
   * deleted): one pass over the table. Returns how many were forgotten.
   */
  public int removeFile(int fileId) {
    int removed = 0;
    int slot = 0;
    while (slot <= mask) {
      long location = slots[slot * stride + valueAt];
      if (location != EMPTY && fileId(location) == fileId) {
        removeAt(slot); // may shift a later entry into this slot: look at it again
        removed++;
      } else {
        slot++;
      }
    }
    return removed;
  }

  /** Forgets every key. */
  public void clear() {
    fillEmpty();
    Arrays.fill(referenced, 0L);
    size = 0;
  }

  private void fillEmpty() {
    for (int i = valueAt; i < slots.length; i += stride) {
      slots[i] = EMPTY;
    }
  }

  private int home(long hi, long lo) {
    long h = (lo ^ hi) * 0x9E3779B97F4A7C15L; // Fibonacci hashing spreads sequential keys
    return (int) (h ^ (h >>> 32)) & mask;
  }

  private int find(long hi, long lo) {
    int slot = home(hi, lo);
    while (true) {
      int at = slot * stride;
      if (slots[at + valueAt] == EMPTY) {
        return -1;
      }
      if (slots[at] == lo && (stride == 2 || slots[at + 1] == hi)) {
        return slot;
      }
      slot = (slot + 1) & mask;
    }
  }

  /** CLOCK: clears reference bits until it meets an entry without one, and removes it. */
  private void evictOne() {
    while (true) {
      int slot = hand;
      hand = (hand + 1) & mask;
      if (slots[slot * stride + valueAt] == EMPTY) {
        continue;
      }
      long bit = 1L << slot;
      if ((referenced[slot >>> 6] & bit) != 0) {
        referenced[slot >>> 6] &= ~bit;
        continue;
      }
      removeAt(slot);
      evictions++;
      return;
    }
  }

  /** Removes the entry at {@code slot}, shifting back later entries of its probe run. */
  private void removeAt(int slot) {
    int gap = slot;
    int next = (gap + 1) & mask;
    while (slots[next * stride + valueAt] != EMPTY) {
      int at = next * stride;
      int home = home(stride == 3 ? slots[at + 1] : 0, slots[at]);
      // Move the entry into the gap when its home is not cyclically within (gap, next].
      boolean movable = gap <= next ? (home <= gap || home > next) : (home <= gap && home > next);
      if (movable) {
        System.arraycopy(slots, at, slots, gap * stride, stride);
        copyBit(next, gap);
        gap = next;
      }
      next = (next + 1) & mask;
    }
    slots[gap * stride + valueAt] = EMPTY;
    referenced[gap >>> 6] &= ~(1L << gap);
    size--;
  }

  private void copyBit(int from, int to) {
    boolean set = (referenced[from >>> 6] & (1L << from)) != 0;
    if (set) {
      referenced[to >>> 6] |= 1L << to;
    } else {
      referenced[to >>> 6] &= ~(1L << to);
    }
  }
}
