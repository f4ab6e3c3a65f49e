package io.crest.writer.internal;

/**
 * The statistics of one leaf column: those of its open page, folded into its open chunk's when
 * the page is written, and the chunk's into the file's when the chunk is; updated from the values
 * as they are encoded, a whole plain range in one loop where the input allows. Part of a {@link
 * Leaf}; holds heap state only. Not thread-safe: one writer thread.
 */
final class LeafStats {
  private final Node.Physical physical;
  // the open page's counts and bounds, folded into the chunk's when the page is written
  final Stats page;
  final Stats chunk;
  final Stats file;
  private boolean[] seen = new boolean[0]; // dictionary ids met on the open page (foldPageIds)

  LeafStats(Node node) {
    this.physical = node.physical;
    this.page = new Stats(node);
    this.chunk = new Stats(node);
    this.file = new Stats(node);
  }

  /** Heap bytes of the scratch array ({@link Stats} themselves are small). */
  long retainedBytes() {
    return seen.length;
  }

  /** Bounds of {@code n} plain int32, int64, float or double values at {@code a[off]}. */
  void ofPlain(byte[] a, int off, int n) {
    Stats s = page;
    switch (physical) {
      case INT32:
        {
          long min = s.minLong;
          long max = s.maxLong;
          for (int k = 0; k < n; k++) {
            long v = (int) Buf.INT_LE.get(a, off + 4 * k);
            min = Math.min(min, v);
            max = Math.max(max, v);
          }
          s.minLong = min;
          s.maxLong = max;
          s.hasValue = true;
          return;
        }
      case INT64:
        {
          long min = s.minLong;
          long max = s.maxLong;
          for (int k = 0; k < n; k++) {
            long v = (long) Buf.LONG_LE.get(a, off + 8 * k);
            min = Math.min(min, v);
            max = Math.max(max, v);
          }
          s.minLong = min;
          s.maxLong = max;
          s.hasValue = true;
          return;
        }
      case FLOAT:
        s.updateFloating(a, off, n, true);
        return;
      default:
        s.updateFloating(a, off, n, false);
    }
  }

  /** Counts a NaN of a float or double column, given as its canonical bits. */
  void countNan(long v) {
    double d = physical == Node.Physical.FLOAT ? Float.intBitsToFloat((int) v)
        : Double.longBitsToDouble(v);
    if (d != d) {
      page.nans++;
    }
  }

  /** Folds one numeric value, given as its canonical bits, into the page's bounds or NaNs. */
  void numeric(long v) {
    switch (physical) {
      case FLOAT:
        page.updateDouble(Float.intBitsToFloat((int) v));
        return;
      case DOUBLE:
        page.updateDouble(Double.longBitsToDouble(v));
        return;
      default:
        page.updateLong(v);
    }
  }

  /**
   * Folds the values of the open page's dictionary ids {@code ids[0..count)} into {@link #page}'s
   * bounds (not its counts): in dictionary mode the bounds are updated only for values new to the
   * chunk, which are enough for the chunk but not for a page that repeats values of earlier pages.
   */
  void foldPageIds(int[] ids, int count, LeafDictionary dict) {
    int size = dict.size();
    if (seen.length < size) {
      seen = new boolean[Math.max(size, 2 * seen.length)];
    }
    boolean[] s = seen;
    Stats st = page;
    Dicts.Longs longDict = dict.longDict;
    Dicts.Bytes bytesDict = dict.bytesDict;
    for (int k = 0; k < count; k++) {
      int id = ids[k];
      if (!s[id]) {
        s[id] = true;
        if (longDict != null) {
          long v = longDict.values[id];
          switch (physical) {
            case FLOAT:
              foldDouble(st, Float.intBitsToFloat((int) v));
              break;
            case DOUBLE:
              foldDouble(st, Double.longBitsToDouble(v));
              break;
            default:
              st.updateLong(v);
          }
        } else {
          st.updateBytes(bytesDict.plain.data, bytesDict.starts[id], bytesDict.lens[id]);
        }
      }
    }
    for (int k = 0; k < count; k++) {
      s[ids[k]] = false;
    }
  }

  private static void foldDouble(Stats st, double d) {
    if (d == d) { // a NaN was counted when it was added
      st.updateDouble(d);
    }
  }

  /** Counts the written page's {@code levels} values, {@code nonNull} of them not null. */
  void countPage(int levels, int nonNull) {
    page.values += levels;
    page.nulls += levels - nonNull;
  }

  /** Folds the written page's statistics into the chunk's, and starts the next page's. */
  void pageDone() {
    chunk.merge(page);
    page.reset();
  }

  /** Folds the written chunk's statistics into the file's, and starts the next chunk's. */
  void chunkDone() {
    file.merge(chunk);
    chunk.reset();
  }
}
