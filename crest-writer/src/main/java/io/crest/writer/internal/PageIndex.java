package io.crest.writer.internal;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.parquet.format.BoundaryOrder;
import org.apache.parquet.format.ColumnIndex;
import org.apache.parquet.format.OffsetIndex;
import org.apache.parquet.format.PageLocation;
import org.apache.parquet.format.Statistics;

/**
 * The column index and offset index of one column chunk, gathered page by page as the pages are
 * written: where each data page is, its first row, null count and bounds. Readers such as Trino
 * and parquet-java use them to skip pages. As in parquet-java, the column index of a chunk with a
 * NaN in a float or double page is left out (its bounds would mislead filters), and byte array
 * bounds are truncated to {@value #TRUNCATE} bytes (the upper one rounded up; strings stay valid
 * UTF-8). The boundary order
 * is always {@code UNORDERED}, which every reader must accept. Not thread-safe.
 */
final class PageIndex {
  static final int TRUNCATE = 64;

  private final boolean truncate;
  private final boolean utf8;
  private final List<long[]> locations = new ArrayList<>(); // offset in chunk, size, first row
  private final List<Boolean> nullPages = new ArrayList<>();
  private final List<ByteBuffer> mins = new ArrayList<>();
  private final List<ByteBuffer> maxs = new ArrayList<>();
  private final List<Long> nullCounts = new ArrayList<>();
  private boolean boundsValid = true;

  PageIndex(Node leaf) {
    this.truncate = leaf.physical == Node.Physical.BYTE_ARRAY;
    this.utf8 = leaf.logical == Node.Logical.STRING;
  }

  /**
   * Records a data page: {@code offset} is where its header starts in the chunk's buffer, {@code
   * size} its header and (compressed) body, {@code firstRow} the row group's index of its first
   * row; {@code page} its statistics (null count and, when it has a value, bounds).
   */
  void add(long offset, int size, long firstRow, long nulls, boolean nullPage, Stats page,
      boolean nan) {
    locations.add(new long[] {offset, size, firstRow});
    nullPages.add(nullPage);
    nullCounts.add(nulls);
    if (nan) {
      boundsValid = false;
    }
    if (!boundsValid) {
      return;
    }
    if (nullPage) {
      mins.add(ByteBuffer.allocate(0));
      maxs.add(ByteBuffer.allocate(0));
      return;
    }
    Statistics s = page.toThrift();
    if (!s.isSetMin_value()) {
      boundsValid = false; // values, but no bounds: only NaN, which the flag above also catches
      return;
    }
    mins.add(truncate ? lower(s.min_value, utf8) : s.min_value);
    maxs.add(truncate ? upper(s.max_value, utf8) : s.max_value);
  }

  boolean isEmpty() {
    return locations.isEmpty();
  }

  /** The offset index, with {@code base} the file offset of the chunk's first data page. */
  OffsetIndex offsetIndex(long base) {
    List<PageLocation> pages = new ArrayList<>(locations.size());
    for (long[] l : locations) {
      pages.add(new PageLocation(base + l[0], (int) l[1], l[2]));
    }
    return new OffsetIndex(pages);
  }

  /** The column index, or null when the chunk's bounds cannot be given (a NaN). */
  ColumnIndex columnIndex() {
    if (!boundsValid) {
      return null;
    }
    ColumnIndex ci = new ColumnIndex(new ArrayList<>(nullPages), new ArrayList<>(mins),
        new ArrayList<>(maxs), BoundaryOrder.UNORDERED);
    ci.setNull_counts(new ArrayList<>(nullCounts));
    return ci;
  }

  void reset() {
    locations.clear();
    nullPages.clear();
    mins.clear();
    maxs.clear();
    nullCounts.clear();
    boundsValid = true;
  }

  /**
   * A lower bound of at most {@value #TRUNCATE} bytes: a prefix is never larger. For a string,
   * the prefix ends between two characters, so that it stays valid UTF-8.
   */
  static ByteBuffer lower(ByteBuffer min, boolean utf8) {
    if (min.remaining() <= TRUNCATE) {
      return min;
    }
    int cut = TRUNCATE;
    if (utf8) {
      while (cut > 0 && (min.get(min.position() + cut) & 0xC0) == 0x80) {
        cut--; // the byte after the cut continues a character: cut before that character
      }
    }
    ByteBuffer b = min.duplicate();
    b.limit(b.position() + cut);
    return b.slice();
  }

  /**
   * An upper bound of at most {@value #TRUNCATE} bytes: the prefix with its last byte that is not
   * 0xFF incremented (bytes compare unsigned); the whole value when every byte of the prefix is
   * 0xFF. For a string, only a prefix ending between two characters whose last character is ASCII
   * below 0x7F is incremented (the result stays valid UTF-8); otherwise the whole value is kept.
   */
  static ByteBuffer upper(ByteBuffer max, boolean utf8) {
    if (max.remaining() <= TRUNCATE) {
      return max;
    }
    byte[] p = new byte[TRUNCATE];
    max.duplicate().get(p);
    if (utf8) {
      int cut = TRUNCATE;
      while (cut > 0 && (max.get(max.position() + cut) & 0xC0) == 0x80) {
        cut--;
      }
      if (cut > 0 && p[cut - 1] >= 0 && p[cut - 1] < 0x7F) {
        p[cut - 1]++;
        return ByteBuffer.wrap(java.util.Arrays.copyOf(p, cut));
      }
      return max;
    }
    for (int i = TRUNCATE - 1; i >= 0; i--) {
      if (p[i] != (byte) 0xFF) {
        p[i]++;
        return ByteBuffer.wrap(java.util.Arrays.copyOf(p, i + 1));
      }
    }
    return max;
  }
}
