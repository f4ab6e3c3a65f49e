package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import java.util.Arrays;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.UuidVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;

/**
 * The definition and repetition levels of one leaf column's open page, from the validity bitmaps
 * and list offsets of the vectors on the leaf's path, with the rows of the leaf's vector that hold
 * a value, for {@link LeafValues} to encode. Part of a {@link Leaf}, which binds it to each batch:
 * it references the batch's vectors and buffers only while bound, and owns none of them. Not
 * thread-safe: one writer thread.
 */
final class LeafLevels {
  final Node[] path;
  final boolean flat;
  final int maxDef;
  final int maxRep;
  private final int defWidth;
  private final int repWidth;
  private final String target;

  // bound input of the current batch
  final ValueVector[] vectors;
  // per depth, for the nested path: validity (null when the vector has no nulls), list offsets
  final ArrowBuf[] validity;
  private final ArrowBuf[] listOffsets;
  private final int[] offsetWidth; // 4, 8, or 0 for fixed-size lists
  private final int[] fixedListSize;

  // the open page
  int[] defs = new int[Leaf.SLICE];
  int[] reps = new int[Leaf.SLICE];
  int levelCount;
  // a flat optional column's page with no nulls so far: defs are not stored (materializeLevels)
  boolean levelsDeferred;
  // rows of the leaf's vector with a value, in level order, until LeafValues encodes them
  int[] idx = new int[Leaf.SLICE];
  int idxCount;

  LeafLevels(Node[] path, String target) {
    this.path = path;
    this.target = target;
    Node node = path[path.length - 1];
    this.maxDef = node.defLevel;
    this.maxRep = node.repLevel;
    this.defWidth = Rle.bitWidth(maxDef);
    this.repWidth = Rle.bitWidth(maxRep);
    this.flat = path.length == 1;
    this.vectors = new ValueVector[path.length];
    this.validity = new ArrowBuf[path.length];
    this.listOffsets = new ArrowBuf[path.length];
    this.offsetWidth = new int[path.length];
    this.fixedListSize = new int[path.length];
    this.levelsDeferred = flat && maxDef > 0;
  }

  // ---------------------------------------------------------------- binding

  /** Binds the path to the batch's vectors; {@code top} is null when the batch lacks it. */
  void bind(ValueVector top) {
    vectors[0] = top;
    for (int d = 1; d < path.length; d++) {
      ValueVector parent = vectors[d - 1];
      Node p = path[d - 1];
      if (parent == null) {
        vectors[d] = null;
        continue;
      }
      switch (p.kind) {
        case STRUCT:
          vectors[d] = ((StructVector) parent).getChild(path[d].name);
          break;
        case LIST:
          vectors[d] = listData(parent);
          break;
        default:
          {
            StructVector entries = (StructVector) ((ListVector) parent).getDataVector();
            vectors[d] = entries.getChildByOrdinal(p.children[0] == path[d] ? 0 : 1);
          }
      }
    }
    for (int d = 0; d < path.length; d++) {
      ValueVector v = vectors[d];
      if (v instanceof UuidVector) {
        v = ((UuidVector) v).getUnderlyingVector();
      }
      validity[d] =
          v == null || v.getNullCount() == 0 ? null : ((FieldVector) v).getValidityBuffer();
      listOffsets[d] = null;
      if (v instanceof ListVector) {
        listOffsets[d] = ((ListVector) v).getOffsetBuffer();
        offsetWidth[d] = 4;
      } else if (v instanceof LargeListVector) {
        listOffsets[d] = ((LargeListVector) v).getOffsetBuffer();
        offsetWidth[d] = 8;
      } else if (v instanceof FixedSizeListVector) {
        offsetWidth[d] = 0;
        fixedListSize[d] = ((FixedSizeListVector) v).getListSize();
      }
    }
  }

  /** Forgets the bound batch, so that an idle leaf holds no reference to its vectors. */
  void unbind() {
    Arrays.fill(vectors, null);
    Arrays.fill(validity, null);
    Arrays.fill(listOffsets, null);
  }

  private static ValueVector listData(ValueVector v) {
    if (v instanceof ListVector) {
      return ((ListVector) v).getDataVector();
    }
    if (v instanceof LargeListVector) {
      return ((LargeListVector) v).getDataVector();
    }
    return ((FixedSizeListVector) v).getDataVector();
  }

  /** Heap bytes of the level and row arrays. */
  long retainedBytes() {
    return 4L * (defs.length + reps.length + idx.length);
  }

  // ---------------------------------------------------------------- flat rows

  /** Levels of rows {@code [start, start + n)} of a flat required column. */
  void required(int start, int n) {
    if (validity[0] != null) {
      ValueVector v = vectors[0];
      for (int i = start; i < start + n; i++) {
        if (v.isNull(i)) {
          throw requiredNull(path[0], i);
        }
      }
    }
    levelCount += n;
  }

  /**
   * Levels of rows {@code [start, start + n)} of a flat optional column when the batch has it
   * without nulls; false, adding none, when it may have nulls or lacks it.
   */
  boolean allDefined(int n) {
    if (vectors[0] == null || validity[0] != null) {
      return false;
    }
    if (levelsDeferred) {
      levelCount += n;
    } else {
      ensureLevels(n);
      Arrays.fill(defs, levelCount, levelCount + n, 1);
      levelCount += n;
    }
    return true;
  }

  /**
   * Levels of rows {@code [start, start + n)} (at most {@link Leaf#SLICE}) of a flat optional
   * column from its validity bitmap, the rows with a value into {@link #idx}; all undefined when
   * the batch lacks the column. {@code bits} is scratch for the bitmap's bytes.
   */
  void someDefined(int start, int n, Buf bits) {
    materializeLevels();
    ensureLevels(n);
    if (vectors[0] == null) {
      Arrays.fill(defs, levelCount, levelCount + n, 0);
      levelCount += n;
      return;
    }
    ArrowBuf validity = this.validity[0];
    int firstByte = start >>> 3;
    int byteCount = ((start + n - 1) >>> 3) - firstByte + 1;
    bits.reset();
    bits.ensure(byteCount);
    validity.getBytes(firstByte, bits.data, 0, byteCount);
    byte[] b = bits.data;
    int[] defs = this.defs;
    int[] idx = this.idx;
    int base = firstByte << 3;
    int count = 0;
    int lc = levelCount;
    for (int i = start; i < start + n; i++) {
      int rel = i - base;
      int bit = (b[rel >>> 3] >>> (rel & 7)) & 1;
      defs[lc++] = bit;
      idx[count] = i;
      count += bit;
    }
    levelCount = lc;
    idxCount = count;
  }

  void ensureLevels(int n) {
    int need = levelCount + n;
    if (need > defs.length) {
      int cap = Math.max(need, defs.length * 2);
      defs = Arrays.copyOf(defs, cap);
      reps = Arrays.copyOf(reps, cap);
    }
  }

  /**
   * Stores the definition levels a flat page has deferred: while {@link #levelsDeferred}, every
   * level so far is 1 (defined) and only counted, so that a page without nulls writes them as
   * one run without touching each.
   */
  private void materializeLevels() {
    if (levelsDeferred) {
      levelsDeferred = false;
      ensureLevels(0);
      Arrays.fill(defs, 0, levelCount, 1);
    }
  }

  // ---------------------------------------------------------------- nested rows

  /** Levels of top-level row {@code row} of a nested column, its values' rows into {@link #idx}. */
  void row(int row) {
    visit(0, row, 0, 0);
  }

  private void visit(int d, int i, int def, int rep) {
    Node n = path[d];
    if (vectors[d] == null) {
      level(def, rep);
      return;
    }
    ArrowBuf valid = validity[d];
    boolean isNull = valid != null && ((valid.getByte(i >>> 3) >>> (i & 7)) & 1) == 0;
    if (n.nullable) {
      if (isNull) {
        level(def, rep);
        return;
      }
      def++;
    } else if (isNull) {
      throw requiredNull(n, i);
    }
    switch (n.kind) {
      case LEAF:
        level(def, rep);
        if (idxCount == idx.length) {
          idx = Arrays.copyOf(idx, idx.length * 2);
        }
        idx[idxCount++] = i;
        return;
      case STRUCT:
        visit(d + 1, i, def, rep);
        return;
      default:
        {
          int s;
          int e;
          ArrowBuf off = listOffsets[d];
          if (offsetWidth[d] == 4) {
            s = off.getInt((long) i * 4);
            e = off.getInt((long) i * 4 + 4);
          } else if (offsetWidth[d] == 8) {
            s = (int) off.getLong((long) i * 8);
            e = (int) off.getLong((long) i * 8 + 8);
          } else {
            s = i * fixedListSize[d];
            e = s + fixedListSize[d];
          }
          if (s == e) {
            level(def, rep);
            return;
          }
          int childDepth = d + 1;
          visit(childDepth, s, def + 1, rep);
          for (int j = s + 1; j < e; j++) {
            visit(childDepth, j, def + 1, n.repLevel);
          }
        }
    }
  }

  private void level(int def, int rep) {
    if (levelCount == defs.length) {
      ensureLevels(1);
    }
    defs[levelCount] = def;
    reps[levelCount] = rep;
    levelCount++;
  }

  private ValidationException requiredNull(Node n, int index) {
    return Node.invalid(target, "column '" + n.path + "' is required but value " + index
        + " of the batch's vector is null (fill the value, or make the column optional)");
  }

  // ---------------------------------------------------------------- the page

  /** Non-null values on the open page, from the levels. */
  int nonNull() {
    if (maxDef == 0 || levelsDeferred) {
      return levelCount;
    }
    int n = 0;
    for (int k = 0; k < levelCount; k++) {
      if (defs[k] == maxDef) {
        n++;
      }
    }
    return n;
  }

  /** Appends the open page's repetition then definition levels to {@code page}. */
  void writeTo(Buf page) {
    if (maxRep > 0) {
      levels(reps, repWidth, page);
    }
    if (maxDef > 0) {
      if (levelsDeferred && levelCount >= 8) {
        // all defined: the one RLE run the general encoder would write for them
        int at = page.size;
        page.putIntLe(0);
        Rle.rleRun(maxDef, levelCount, defWidth, page);
        Buf.INT_LE.set(page.data, at, page.size - at - 4);
      } else {
        materializeLevels();
        levels(defs, defWidth, page);
      }
    }
  }

  private void levels(int[] lv, int width, Buf page) {
    int at = page.size;
    page.putIntLe(0);
    Rle.encode(lv, levelCount, width, page);
    Buf.INT_LE.set(page.data, at, page.size - at - 4);
  }

  /** Starts the next page, once the open one is written. */
  void resetPage() {
    levelCount = 0;
    levelsDeferred = flat && maxDef > 0;
  }
}
