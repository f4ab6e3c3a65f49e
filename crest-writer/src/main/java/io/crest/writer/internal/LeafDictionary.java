package io.crest.writer.internal;

/**
 * The dictionary of one leaf column's open chunk: its distinct values, whether the chunk's values
 * are still dictionary ids, and giving it up for plain encoding when it outgrows its budget or is
 * no smaller than the plain page. {@link LeafValues} adds to it directly in its per-value loops.
 * Part of a {@link Leaf}; holds heap state only. Not thread-safe: one writer thread.
 */
final class LeafDictionary {
  /**
   * Values of a chunk's first page after which the dictionary must already be smaller than plain
   * encoding, or is given up: a high-cardinality column then stops paying for hashing early.
   */
  static final int SAMPLE = 4096;

  private final boolean allowed;
  private final int plainWidth;
  /** The most bytes the dictionary may hold. */
  final long maxBytes;
  /** Whether the open chunk's values are still encoded as dictionary ids. */
  boolean on;
  final Dicts.Longs longDict;
  final Dicts.Bytes bytesDict;
  /** Data pages of the open chunk written as dictionary ids. */
  int pages;

  /** {@code plainWidth} is the bytes of a plain value, 0 for byte arrays and booleans. */
  LeafDictionary(Node node, int plainWidth, long maxBytes) {
    this.plainWidth = plainWidth;
    this.maxBytes = maxBytes;
    this.allowed = maxBytes > 0 && node.physical != Node.Physical.BOOLEAN;
    this.longDict = plainWidth > 0 && node.physical != Node.Physical.FIXED ? new Dicts.Longs()
        : null;
    this.bytesDict = node.physical == Node.Physical.BYTE_ARRAY
        || node.physical == Node.Physical.FIXED
        ? new Dicts.Bytes(node.physical == Node.Physical.BYTE_ARRAY) : null;
    this.on = allowed;
  }

  /** Heap bytes of the dictionary's tables. */
  long retainedBytes() {
    long n = 0;
    if (longDict != null) {
      n += longDict.retainedBytes();
    }
    if (bytesDict != null) {
      n += bytesDict.retainedBytes();
    }
    return n;
  }

  int size() {
    return longDict != null ? longDict.size : bytesDict.size;
  }

  /** Bytes of the dictionary page its values would make. */
  long bytes() {
    return longDict != null ? (long) longDict.size * plainWidth : bytesDict.plain.size;
  }

  /** Bytes buffered for the open chunk's dictionary page, 0 when it will not have one. */
  long bufferedBytes() {
    return pages == 0 && !on ? 0 : bytes();
  }

  /**
   * Whether the chunk's first page just reached {@link #SAMPLE} values and the dictionary loses,
   * given the page's {@code valueCount} ids and {@code plainEstimate} bytes if encoded plainly.
   */
  boolean sampleLoses(int valueCount, long plainEstimate) {
    return valueCount == SAMPLE && pages == 0 && loses(valueCount, plainEstimate);
  }

  /** Whether the open page with its dictionary is no smaller than the page plainly encoded. */
  boolean loses(int valueCount, long plainEstimate) {
    long encoded = bytes() + (((long) valueCount * Rle.bitWidth(size())) >>> 3);
    return encoded >= plainEstimate;
  }

  /**
   * Leaves dictionary encoding for the rest of the chunk, writing the open page's ids {@code
   * ids[0..count)} as plain values to {@code plain}, which is emptied first.
   */
  void fallBack(int[] ids, int count, Buf plain) {
    on = false;
    plain.reset();
    for (int k = 0; k < count; k++) {
      int id = ids[k];
      if (longDict != null) {
        long v = longDict.values[id];
        if (plainWidth == 4) {
          plain.putIntLe((int) v);
        } else {
          plain.putLongLe(v);
        }
      } else {
        if (plainWidth == 0) {
          plain.putIntLe(bytesDict.lens[id]);
        }
        plain.write(bytesDict.plain.data, bytesDict.starts[id], bytesDict.lens[id]);
      }
    }
    if (pages == 0) {
      clear();
    }
  }

  /** Appends the dictionary's values plainly to {@code page}; returns how many. */
  int writeTo(Buf page) {
    if (longDict != null) {
      for (int k = 0; k < longDict.size; k++) {
        if (plainWidth == 4) {
          page.putIntLe((int) longDict.values[k]);
        } else {
          page.putLongLe(longDict.values[k]);
        }
      }
      return longDict.size;
    }
    page.put(bytesDict.plain);
    return bytesDict.size;
  }

  /** Empties the dictionary once its chunk is written: the next chunk may try it again. */
  void resetChunk() {
    pages = 0;
    clear();
    on = allowed;
  }

  private void clear() {
    if (longDict != null) {
      longDict.clear();
    }
    if (bytesDict != null) {
      bytesDict.clear();
    }
  }
}
