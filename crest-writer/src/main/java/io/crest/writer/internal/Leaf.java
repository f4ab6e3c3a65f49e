package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.util.Float16;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.UuidVector;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnIndex;
import org.apache.parquet.format.ColumnMetaData;
import org.apache.parquet.format.DataPageHeader;
import org.apache.parquet.format.DictionaryPageHeader;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.OffsetIndex;
import org.apache.parquet.format.PageHeader;
import org.apache.parquet.format.PageType;
import org.apache.parquet.format.Util;

/**
 * Encodes one Parquet leaf column straight from Arrow vectors: levels from validity bitmaps and
 * list offsets, values from data buffers into plain or dictionary pages, compressed pages buffered
 * per row group. Not thread-safe.
 */
final class Leaf {
  private static final int SLICE = 4096;
  /**
   * Values of a chunk's first page after which the dictionary must already be smaller than plain
   * encoding, or is given up: a high-cardinality column then stops paying for hashing early.
   */
  static final int DICT_SAMPLE = 4096;

  final Node[] path;
  final Node node;
  final int maxDef;
  final int maxRep;
  private final int defWidth;
  private final int repWidth;
  private final Settings settings;
  private final PageCompressor compressor;
  private final String target;
  private final boolean flat;
  private final int plainWidth;

  // bound input of the current batch
  private final ValueVector[] vectors;
  // per depth, for the nested path: validity (null when the vector has no nulls), list offsets
  private final ArrowBuf[] validity;
  private final ArrowBuf[] listOffsets;
  private final int[] offsetWidth; // 4, 8, or 0 for fixed-size lists
  private final int[] fixedListSize;
  private Source source;
  private boolean direct;
  private ArrowBuf data;
  private ArrowBuf offsets;
  private List<ArrowBuf> viewData;

  // the open page
  private int[] defs = new int[SLICE];
  private int[] reps = new int[SLICE];
  private int levelCount;
  // a flat optional column's page with no nulls so far: defs are not stored (materializeLevels)
  private boolean levelsDeferred;
  private int pageRows;
  private int[] values = new int[SLICE]; // dictionary ids, or booleans as 0 / 1
  private int valueCount;
  private final Buf plain = new Buf(1 << 16);
  private long plainEstimate;
  private int[] idx = new int[SLICE];
  private int idxCount;

  // the open column chunk
  private final boolean dictionaryAllowed;
  private boolean dictMode;
  private final Dicts.Longs longDict;
  private final Dicts.Bytes bytesDict;
  private int dictPages;
  private final Buf chunk = new Buf(1 << 16);
  private long chunkValues;
  private long chunkUncompressed;
  private final EnumSet<Encoding> encodings = EnumSet.noneOf(Encoding.class);
  // the open page's counts and bounds, folded into the chunk's when the page is written
  final Stats pageStats;
  final Stats chunkStats;
  final Stats fileStats;
  // the open chunk's pages, for its column and offset index
  private final PageIndex index;
  private long chunkRows;
  private boolean[] seen = new boolean[0]; // dictionary ids met on the open page (foldPageIds)
  // the indexes of the chunk finishChunk wrote last, until the writer takes them
  private ColumnIndex lastColumnIndex;
  private OffsetIndex lastOffsetIndex;
  // the bloom filter of the open chunk, or null when the column has none
  private final SplitBlockBloom bloom;
  private byte[] lastBloom;
  long fileBytes;

  // scratch
  private final Buf page = new Buf(1 << 16);
  private final Buf compressed = new Buf(1 << 16);
  private final Buf scratch = new Buf(1 << 16);
  private final Buf scratch2 = new Buf(1 << 10);
  private final byte[] fixedScratch = new byte[32];

  Leaf(Node[] path, Settings settings, PageCompressor compressor, String target) {
    this.path = path;
    this.node = path[path.length - 1];
    this.settings = settings;
    this.compressor = compressor;
    this.target = target;
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
    this.pageStats = new Stats(node);
    this.chunkStats = new Stats(node);
    this.fileStats = new Stats(node);
    this.index = new PageIndex(node);
    switch (node.physical) {
      case INT32:
      case FLOAT:
        plainWidth = 4;
        break;
      case INT64:
      case DOUBLE:
        plainWidth = 8;
        break;
      case FIXED:
        plainWidth = node.typeLength;
        break;
      default:
        plainWidth = 0;
    }
    this.dictionaryAllowed = settings.dictionaryBytes > 0 && node.physical != Node.Physical.BOOLEAN;
    this.longDict = plainWidth > 0 && node.physical != Node.Physical.FIXED ? new Dicts.Longs()
        : null;
    this.bytesDict = node.physical == Node.Physical.BYTE_ARRAY
        || node.physical == Node.Physical.FIXED
        ? new Dicts.Bytes(node.physical == Node.Physical.BYTE_ARRAY) : null;
    this.dictMode = dictionaryAllowed;
    this.levelsDeferred = flat && maxDef > 0;
    Double fpp = flat ? settings.bloomFpp.get(node.name) : null;
    this.bloom = fpp == null ? null : new SplitBlockBloom(fpp, settings.bloomMaxBytes);
  }

  // ---------------------------------------------------------------- binding

  /** Binds the leaf's path to the batch's vectors; {@code top} is null when the batch lacks it. */
  void bind(ValueVector top, Source leafSource) {
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
    ValueVector leaf = vectors[path.length - 1];
    this.source = leafSource;
    if (leaf == null) {
      data = null;
      return;
    }
    if (leaf instanceof UuidVector) {
      leaf = ((UuidVector) leaf).getUnderlyingVector();
    }
    FieldVector fv = (FieldVector) leaf;
    this.direct = leafSource.direct(node);
    this.data = fv.getDataBuffer();
    this.offsets = leafSource.kind == Source.VAR || leafSource.kind == Source.LARGE_VAR
        ? fv.getOffsetBuffer() : null;
    this.viewData = leafSource.kind == Source.VIEW
        ? ((BaseVariableWidthViewVector) fv).getDataBuffers() : null;
  }

  /** Forgets the bound batch, so that an idle leaf holds no reference to its vectors. */
  void unbind() {
    java.util.Arrays.fill(vectors, null);
    java.util.Arrays.fill(validity, null);
    java.util.Arrays.fill(listOffsets, null);
    source = null;
    data = null;
    offsets = null;
    viewData = null;
  }

  /** Heap bytes of the leaf's buffers, arrays and dictionary. */
  long retainedBytes() {
    long n = plain.data.length + chunk.data.length + page.data.length + compressed.data.length
        + scratch.data.length + scratch2.data.length + page2.data.length
        + 4L * (defs.length + reps.length + values.length + idx.length) + seen.length;
    if (longDict != null) {
      n += longDict.retainedBytes();
    }
    if (bytesDict != null) {
      n += bytesDict.retainedBytes();
    }
    if (bloom != null) {
      n += bloom.retainedBytes();
    }
    return n;
  }

  static ValueVector listData(ValueVector v) {
    if (v instanceof ListVector) {
      return ((ListVector) v).getDataVector();
    }
    if (v instanceof LargeListVector) {
      return ((LargeListVector) v).getDataVector();
    }
    return ((FixedSizeListVector) v).getDataVector();
  }

  // ---------------------------------------------------------------- rows

  /** Encodes top-level rows {@code [start, end)} of the bound batch. */
  void write(int start, int end) {
    if (flat) {
      int pos = start;
      while (pos < end) {
        int n = Math.min(end - pos, Math.max(1, Math.min(SLICE, settings.pageRowLimit - pageRows)));
        writeFlat(pos, n);
        pos += n;
        pageRows += n;
        maybeFlushPage();
      }
      return;
    }
    for (int row = start; row < end; row++) {
      visit(0, row, 0, 0);
      pageRows++;
      if (idxCount >= SLICE || levelCount >= SLICE * 4 || row == end - 1
          || pageRows >= settings.pageRowLimit) {
        encodeIndices();
        maybeFlushPage();
      }
    }
  }

  private void maybeFlushPage() {
    if (pageRows >= settings.pageRowLimit || pageBytes() >= settings.pageBytes) {
      flushPage();
    }
  }

  private long pageBytes() {
    long v = dictMode ? ((long) valueCount * Rle.bitWidth(dictSize())) >>> 3 : plain.size;
    return v + (levelCount >>> 2);
  }

  private int dictSize() {
    return longDict != null ? longDict.size : bytesDict.size;
  }

  private void ensureLevels(int n) {
    int need = levelCount + n;
    if (need > defs.length) {
      int cap = Math.max(need, defs.length * 2);
      defs = Arrays.copyOf(defs, cap);
      reps = Arrays.copyOf(reps, cap);
    }
  }

  private void ensureValues(int n) {
    int need = valueCount + n;
    if (need > values.length) {
      values = Arrays.copyOf(values, Math.max(need, values.length * 2));
    }
  }

  private void writeFlat(int start, int n) {
    ValueVector v = vectors[0];
    if (maxDef == 0) {
      if (validity[0] != null) {
        for (int i = start; i < start + n; i++) {
          if (v.isNull(i)) {
            throw requiredNull(node, i);
          }
        }
      }
      levelCount += n;
      encodeRange(start, n);
      return;
    }
    if (v != null && validity[0] == null) {
      if (levelsDeferred) {
        levelCount += n;
      } else {
        ensureLevels(n);
        Arrays.fill(defs, levelCount, levelCount + n, 1);
        levelCount += n;
      }
      encodeRange(start, n);
      return;
    }
    materializeLevels();
    ensureLevels(n);
    if (v == null) {
      Arrays.fill(defs, levelCount, levelCount + n, 0);
      levelCount += n;
      return;
    }
    ArrowBuf validity = this.validity[0];
    int firstByte = start >>> 3;
    int byteCount = ((start + n - 1) >>> 3) - firstByte + 1;
    scratch2.reset();
    scratch2.ensure(byteCount);
    validity.getBytes(firstByte, scratch2.data, 0, byteCount);
    byte[] bits = scratch2.data;
    int base = firstByte << 3;
    int count = 0;
    int lc = levelCount;
    for (int i = start; i < start + n; i++) {
      int rel = i - base;
      int bit = (bits[rel >>> 3] >>> (rel & 7)) & 1;
      defs[lc++] = bit;
      idx[count] = i;
      count += bit;
    }
    levelCount = lc;
    idxCount = count;
    encodeIndices();
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

  // ---------------------------------------------------------------- values

  private void encodeIndices() {
    int n = idxCount;
    idxCount = 0;
    if (n == 0) {
      return;
    }
    int first = idx[0];
    int last = idx[n - 1];
    if (last - first + 1 == n) {
      encodeRange(first, n);
      return;
    }
    switch (node.physical) {
      case BOOLEAN:
        {
          byte[] bits = copyBits(first, last - first + 1);
          int base = (first >>> 3) << 3;
          ensureValues(n);
          for (int k = 0; k < n; k++) {
            int rel = idx[k] - base;
            int b = (bits[rel >>> 3] >>> (rel & 7)) & 1;
            values[valueCount++] = b;
            pageStats.updateLong(b);
          }
          return;
        }
      case BYTE_ARRAY:
      case FIXED:
        binaryValues(first, last, idx, n);
        return;
      default:
        {
          int w = source.width;
          scratch.reset();
          scratch.ensure((last - first + 1) * w);
          data.getBytes((long) first * w, scratch.data, 0, (last - first + 1) * w);
          byte[] a = scratch.data;
          if (direct && !dictMode) {
            gatherPlain(a, first, n, w);
            return;
          }
          for (int k = 0; k < n; k++) {
            addNumeric(read(a, (idx[k] - first) * w));
          }
        }
    }
  }

  /**
   * Appends the values at rows {@code idx[0..n)} of the copied input {@code a} (row {@code first}
   * at byte 0) to the plain page, already in their Parquet form ({@link #direct}), in one loop
   * without a call per value; then their bounds, as {@link #encodeRange} does for a range.
   */
  private void gatherPlain(byte[] a, int first, int n, int w) {
    int off = plain.size;
    plain.ensure(n * w);
    byte[] out = plain.data;
    int[] rows = idx;
    if (w == 8) {
      for (int k = 0; k < n; k++) {
        Buf.LONG_LE.set(out, off + 8 * k, (long) Buf.LONG_LE.get(a, (rows[k] - first) * 8));
      }
    } else { // 4: direct sources are int32, int64, float and double
      for (int k = 0; k < n; k++) {
        Buf.INT_LE.set(out, off + 4 * k, (int) Buf.INT_LE.get(a, (rows[k] - first) * 4));
      }
    }
    plain.size += n * w;
    statsOfPlain(out, off, n);
  }

  private byte[] copyBits(int first, int count) {
    int firstByte = first >>> 3;
    int byteCount = ((first + count - 1) >>> 3) - firstByte + 1;
    scratch.reset();
    scratch.ensure(byteCount);
    data.getBytes(firstByte, scratch.data, 0, byteCount);
    return scratch.data;
  }

  private void encodeRange(int start, int n) {
    if (n == 0) {
      return;
    }
    switch (node.physical) {
      case BOOLEAN:
        {
          byte[] bits = copyBits(start, n);
          int base = (start >>> 3) << 3;
          ensureValues(n);
          for (int i = start; i < start + n; i++) {
            int rel = i - base;
            int b = (bits[rel >>> 3] >>> (rel & 7)) & 1;
            values[valueCount++] = b;
            pageStats.updateLong(b);
          }
          return;
        }
      case BYTE_ARRAY:
      case FIXED:
        binaryValues(start, start + n - 1, null, n);
        return;
      default:
        break;
    }
    int w = source.width;
    if (direct && !dictMode) {
      int off = plain.size;
      plain.ensure(n * w);
      data.getBytes((long) start * w, plain.data, off, n * w);
      plain.size += n * w;
      statsOfPlain(plain.data, off, n);
      return;
    }
    scratch.reset();
    scratch.ensure(n * w);
    data.getBytes((long) start * w, scratch.data, 0, n * w);
    byte[] a = scratch.data;
    for (int k = 0; k < n; k++) {
      addNumeric(read(a, k * w));
    }
  }

  private void statsOfPlain(byte[] a, int off, int n) {
    Stats s = pageStats;
    switch (node.physical) {
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

  /** Reads the value at byte {@code off} of the copied input as the column's canonical bits. */
  private long read(byte[] a, int off) {
    switch (source.kind) {
      case Source.I8:
        return a[off];
      case Source.I16:
        return (short) ((a[off] & 0xFF) | (a[off + 1] << 8));
      case Source.I32:
      case Source.F32:
        return (int) Buf.INT_LE.get(a, off);
      case Source.I64:
      case Source.F64:
      case Source.DEC128:
      case Source.DEC256:
        return (long) Buf.LONG_LE.get(a, off);
      case Source.U8:
        return a[off] & 0xFF;
      case Source.U16:
        return (a[off] & 0xFF) | ((a[off + 1] & 0xFF) << 8);
      case Source.U32:
        return ((int) Buf.INT_LE.get(a, off)) & 0xFFFFFFFFL;
      case Source.DATE_MS:
        return Math.floorDiv((long) Buf.LONG_LE.get(a, off), source.factor);
      case Source.MUL32:
        return (int) Buf.INT_LE.get(a, off) * source.factor;
      case Source.MUL64:
        {
          long v = (long) Buf.LONG_LE.get(a, off);
          long r = v * source.factor;
          if (Math.multiplyHigh(v, source.factor) != (r >> 63)) {
            throw Node.invalid(target, "column '" + node.path + "' gets the value " + v
                + ", which overflows 64 bits in the column's unit (fix the value)");
          }
          return r;
        }
      case Source.DIV64:
        return Math.floorDiv((long) Buf.LONG_LE.get(a, off), source.factor);
      case Source.F16:
        return Float.floatToRawIntBits(
            Float16.toFloat((short) ((a[off] & 0xFF) | (a[off + 1] << 8))));
      case Source.F32_TO_F64:
        return Double.doubleToRawLongBits(Float.intBitsToFloat((int) Buf.INT_LE.get(a, off)));
      default:
        throw new IllegalStateException("Cannot read numeric source kind " + source.kind);
    }
  }

  private void addNumeric(long v) {
    if (dictMode) {
      int before = longDict.size;
      int id = longDict.add(v);
      if (longDict.size != before) {
        updateNumericStats(v);
      } else if (node.physical == Node.Physical.FLOAT || node.physical == Node.Physical.DOUBLE) {
        countNan(v);
      }
      ensureValues(1);
      values[valueCount++] = id;
      plainEstimate += plainWidth;
      if ((long) longDict.size * plainWidth > settings.dictionaryBytes || sampledDictLoses()) {
        fallBack();
      }
      return;
    }
    if (plainWidth == 4) {
      plain.putIntLe((int) v);
    } else {
      plain.putLongLe(v);
    }
    updateNumericStats(v);
  }

  private void countNan(long v) {
    double d = node.physical == Node.Physical.FLOAT ? Float.intBitsToFloat((int) v)
        : Double.longBitsToDouble(v);
    if (d != d) {
      pageStats.nans++;
    }
  }

  private void updateNumericStats(long v) {
    switch (node.physical) {
      case FLOAT:
        pageStats.updateDouble(Float.intBitsToFloat((int) v));
        return;
      case DOUBLE:
        pageStats.updateDouble(Double.longBitsToDouble(v));
        return;
      default:
        pageStats.updateLong(v);
    }
  }

  /** Values {@code first..last} (all of them, or those in {@code ids}) of a binary column. */
  private void binaryValues(int first, int last, int[] ids, int n) {
    int count = last - first + 1;
    byte[] a;
    if (source.kind == Source.VAR || source.kind == Source.LARGE_VAR) {
      // offsets first..last+1 into scratch2 as ints, the data they span into scratch
      scratch2.reset();
      scratch2.ensure((count + 1) * 4);
      int[] o = null;
      byte[] ob = scratch2.data;
      long base;
      long endOff;
      if (source.kind == Source.VAR) {
        offsets.getBytes((long) first * 4, ob, 0, (count + 1) * 4);
        base = (int) Buf.INT_LE.get(ob, 0);
        endOff = (int) Buf.INT_LE.get(ob, count * 4);
      } else {
        scratch2.ensure((count + 1) * 8);
        ob = scratch2.data;
        offsets.getBytes((long) first * 8, ob, 0, (count + 1) * 8);
        base = (long) Buf.LONG_LE.get(ob, 0);
        endOff = (long) Buf.LONG_LE.get(ob, count * 8);
        // narrow the offsets to ints relative to base, in place
        for (int k = 0; k <= count; k++) {
          Buf.INT_LE.set(ob, k * 4, (int) ((long) Buf.LONG_LE.get(ob, k * 8) - base));
        }
      }
      int len = (int) (endOff - base);
      scratch.reset();
      scratch.ensure(len);
      data.getBytes(base, scratch.data, 0, len);
      a = scratch.data;
      int rebase = source.kind == Source.VAR ? (int) base : 0;
      int k = 0;
      for (; k < n && dictMode; k++) {
        int r = ids == null ? k : ids[k] - first;
        int s = (int) Buf.INT_LE.get(ob, r * 4) - rebase;
        int e = (int) Buf.INT_LE.get(ob, r * 4 + 4) - rebase;
        addBinary(a, s, e - s);
      }
      if (k < n) {
        plainVar(a, len, ob, rebase, first, ids, k, n);
      }
      return;
    }
    int w = source.width;
    scratch.reset();
    scratch.ensure(count * w);
    data.getBytes((long) first * w, scratch.data, 0, count * w);
    a = scratch.data;
    if (source.kind == Source.VIEW) {
      for (int k = 0; k < n; k++) {
        int off = (ids == null ? k : ids[k] - first) * 16;
        int len = (int) Buf.INT_LE.get(a, off);
        if (len <= 12) {
          addBinary(a, off + 4, len);
        } else {
          ArrowBuf buf = viewData.get((int) Buf.INT_LE.get(a, off + 8));
          scratch2.reset();
          scratch2.ensure(len);
          buf.getBytes((int) Buf.INT_LE.get(a, off + 12), scratch2.data, 0, len);
          addBinary(scratch2.data, 0, len);
        }
      }
      return;
    }
    boolean decimal = source.kind == Source.DEC128 || source.kind == Source.DEC256;
    int len = node.typeLength;
    for (int k = 0; k < n; k++) {
      int r = ids == null ? k : ids[k] - first;
      int off = r * w;
      if (decimal) {
        // little-endian two's complement to big-endian, keeping the low len bytes
        for (int b = 0; b < len; b++) {
          fixedScratch[b] = a[off + len - 1 - b];
        }
        addBinary(fixedScratch, 0, len);
      } else {
        addBinary(a, off, w);
      }
    }
  }

  /**
   * Appends values {@code from..n} of a variable-width range plainly: {@code a} holds their
   * bytes ({@code span} in all), {@code ob} their offsets as ints less {@code rebase}.
   */
  private void plainVar(byte[] a, int span, byte[] ob, int rebase, int first, int[] ids,
      int from, int n) {
    plain.ensure(span + 4 * (n - from));
    byte[] out = plain.data;
    int p = plain.size;
    Stats st = pageStats;
    for (int k = from; k < n; k++) {
      int r = ids == null ? k : ids[k] - first;
      int s = (int) Buf.INT_LE.get(ob, r * 4) - rebase;
      int len = (int) Buf.INT_LE.get(ob, r * 4 + 4) - rebase - s;
      Buf.INT_LE.set(out, p, len);
      System.arraycopy(a, s, out, p + 4, len);
      p += 4 + len;
      st.updateBytes(a, s, len);
    }
    plain.size = p;
  }

  private void addBinary(byte[] a, int off, int len) {
    if (dictMode) {
      int before = bytesDict.size;
      int id = bytesDict.add(a, off, len);
      if (bytesDict.size != before) {
        pageStats.updateBytes(a, off, len);
      }
      ensureValues(1);
      values[valueCount++] = id;
      plainEstimate += plainWidth == 0 ? 4 + len : len;
      if (bytesDict.plain.size > settings.dictionaryBytes || sampledDictLoses()) {
        fallBack();
      }
      return;
    }
    if (plainWidth == 0) {
      plain.putIntLe(len);
    }
    plain.write(a, off, len);
    pageStats.updateBytes(a, off, len);
  }

  /** Whether the first page just reached {@link #DICT_SAMPLE} values and the dictionary loses. */
  private boolean sampledDictLoses() {
    return valueCount == DICT_SAMPLE && dictPages == 0 && dictLoses();
  }

  /** Whether the open page with its dictionary is no smaller than the page plainly encoded. */
  private boolean dictLoses() {
    long dictBytes = longDict != null ? (long) longDict.size * plainWidth : bytesDict.plain.size;
    long encoded = dictBytes + (((long) valueCount * Rle.bitWidth(dictSize())) >>> 3);
    return encoded >= plainEstimate;
  }

  /** Leaves dictionary encoding for the rest of the chunk, re-encoding the open page plainly. */
  private void fallBack() {
    foldPageIds(); // the page so far, before its ids become plain values
    dictMode = false;
    plain.reset();
    for (int k = 0; k < valueCount; k++) {
      int id = values[k];
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
    valueCount = 0;
    if (dictPages == 0) {
      clearDict();
    }
  }

  /**
   * Folds the values of the open page's dictionary ids into {@link #pageStats}' bounds (not its
   * counts): in dictionary mode the bounds are updated only for values new to the chunk, which
   * are enough for the chunk but not for a page that repeats values of earlier pages.
   */
  private void foldPageIds() {
    int size = dictSize();
    if (seen.length < size) {
      seen = new boolean[Math.max(size, 2 * seen.length)];
    }
    boolean[] s = seen;
    Stats st = pageStats;
    for (int k = 0; k < valueCount; k++) {
      int id = values[k];
      if (!s[id]) {
        s[id] = true;
        if (longDict != null) {
          long v = longDict.values[id];
          switch (node.physical) {
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
    for (int k = 0; k < valueCount; k++) {
      s[values[k]] = false;
    }
  }

  private static void foldDouble(Stats st, double d) {
    if (d == d) { // a NaN was counted when it was added
      st.updateDouble(d);
    }
  }

  private void clearDict() {
    if (longDict != null) {
      longDict.clear();
    }
    if (bytesDict != null) {
      bytesDict.clear();
    }
  }

  // ---------------------------------------------------------------- pages and chunks

  /** Bytes buffered for the open row group, an estimate of what it adds to the file. */
  long bufferedBytes() {
    long dict = dictPages == 0 && !dictMode ? 0
        : longDict != null ? (long) longDict.size * plainWidth : bytesDict.plain.size;
    return chunk.size + pageBytes() + dict;
  }

  void flushPage() {
    if (levelCount == 0) {
      return;
    }
    if (dictMode && dictPages == 0 && dictLoses()) {
      fallBack();
    }
    page.reset();
    if (maxRep > 0) {
      levels(reps);
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
        levels(defs);
      }
    }
    Encoding encoding;
    if (dictMode) {
      foldPageIds(); // the page's bounds: values first seen on earlier pages are on it too
      int width = Math.max(1, Rle.bitWidth(dictSize() - 1));
      page.write(width);
      Rle.encode(values, valueCount, width, page);
      encoding = Encoding.PLAIN_DICTIONARY;
      dictPages++;
    } else if (node.physical == Node.Physical.BOOLEAN) {
      packBooleans();
      encoding = Encoding.PLAIN;
    } else {
      page.put(plain);
      encoding = Encoding.PLAIN;
      if (bloom != null) {
        bloom.addPlain(plain.data, 0, plain.size, node.physical, node.typeLength);
      }
    }
    encodings.add(encoding);
    if (maxDef > 0 || maxRep > 0) {
      encodings.add(Encoding.RLE);
    }
    int nonNull = node.physical == Node.Physical.BOOLEAN || dictMode
        ? valueCount : countPlainValues();
    pageStats.values += levelCount;
    pageStats.nulls += levelCount - nonNull;
    PageHeader header = new PageHeader(PageType.DATA_PAGE, page.size, 0);
    header.setData_page_header(
        new DataPageHeader(levelCount, encoding, Encoding.RLE, Encoding.RLE));
    int at = chunk.size;
    long stored = writePage(header, page, chunk);
    index.add(at, (int) stored, chunkRows, levelCount - nonNull, nonNull == 0, pageStats,
        pageStats.nans > 0);
    chunkRows += pageRows;
    chunkStats.merge(pageStats);
    pageStats.reset();
    chunkValues += levelCount;
    levelCount = 0;
    levelsDeferred = flat && maxDef > 0;
    pageRows = 0;
    valueCount = 0;
    plain.reset();
    plainEstimate = 0;
  }

  /** Non-null values on a plain page, from the levels. */
  private int countPlainValues() {
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

  private void levels(int[] lv) {
    int at = page.size;
    page.putIntLe(0);
    Rle.encode(lv, levelCount, lv == defs ? defWidth : repWidth, page);
    Buf.INT_LE.set(page.data, at, page.size - at - 4);
  }

  private void packBooleans() {
    int bytes = (valueCount + 7) >>> 3;
    page.ensure(bytes);
    byte[] d = page.data;
    int p = page.size;
    Arrays.fill(d, p, p + bytes, (byte) 0);
    for (int k = 0; k < valueCount; k++) {
      d[p + (k >>> 3)] |= (byte) (values[k] << (k & 7));
    }
    page.size += bytes;
  }

  /** Compresses {@code body} and appends header and body to {@code out}; returns bytes added. */
  private long writePage(PageHeader header, Buf body, OutputStream out) {
    Buf stored = compressor.compress(body, compressed) ? compressed : body;
    header.setCompressed_page_size(stored.size);
    long before = out instanceof Buf ? ((Buf) out).size : 0;
    int headerBytes;
    try {
      if (out instanceof Buf) {
        Util.writePageHeader(header, out);
        headerBytes = (int) (((Buf) out).size - before);
      } else {
        page2.reset();
        Util.writePageHeader(header, page2);
        headerBytes = page2.size;
        out.write(page2.data, 0, page2.size);
      }
      out.write(stored.data, 0, stored.size);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write a Parquet page of column " + node.path
          + " to " + target + ": " + e.getMessage(), e);
    }
    chunkUncompressed += headerBytes + body.size;
    return headerBytes + stored.size;
  }

  private final Buf page2 = new Buf(256);

  /**
   * Flushes the open page and writes the chunk (dictionary page first) to {@code out} at file
   * offset {@code offset}; returns its footer entry.
   */
  ColumnChunk finishChunk(OutputStream out, long offset) throws IOException {
    flushPage();
    long dictOffset = -1;
    long written = 0;
    int dictEntries = 0;
    if (dictPages > 0) {
      page.reset();
      if (longDict != null) {
        for (int k = 0; k < longDict.size; k++) {
          if (plainWidth == 4) {
            page.putIntLe((int) longDict.values[k]);
          } else {
            page.putLongLe(longDict.values[k]);
          }
        }
        dictEntries = longDict.size;
      } else {
        page.put(bytesDict.plain);
        dictEntries = bytesDict.size;
      }
      if (bloom != null) {
        // the values of the chunk's dictionary pages; its plain pages were added when written
        bloom.addPlain(page.data, 0, page.size, node.physical, node.typeLength);
      }
      PageHeader header = new PageHeader(PageType.DICTIONARY_PAGE, page.size, 0);
      header.setDictionary_page_header(
          new DictionaryPageHeader(dictEntries, Encoding.PLAIN_DICTIONARY));
      dictOffset = offset;
      written = writePage(header, page, out);
      encodings.add(Encoding.PLAIN);
    }
    out.write(chunk.data, 0, chunk.size);
    long total = written + chunk.size;
    lastOffsetIndex = index.isEmpty() ? null : index.offsetIndex(offset + written);
    lastColumnIndex = index.isEmpty() ? null : index.columnIndex();
    lastBloom = bloom == null ? null : bloom.finish();
    index.reset();
    chunkRows = 0;
    List<Encoding> encodingList = new ArrayList<>(encodings);
    ColumnMetaData md = new ColumnMetaData(node.thriftType(), encodingList,
        Node.columnPath(path), compressor.thriftCodec(), chunkValues, chunkUncompressed, total,
        offset + written);
    if (dictOffset >= 0) {
      md.setDictionary_page_offset(dictOffset);
    }
    md.setStatistics(chunkStats.toThrift());
    ColumnChunk cc = new ColumnChunk(offset);
    cc.setMeta_data(md);
    fileStats.merge(chunkStats);
    fileBytes += total;
    // the next chunk starts afresh, and may try the dictionary again
    chunkStats.reset();
    chunk.reset();
    chunkValues = 0;
    chunkUncompressed = 0;
    encodings.clear();
    dictPages = 0;
    clearDict();
    dictMode = dictionaryAllowed;
    return cc;
  }

  /** The column index of the chunk {@link #finishChunk} wrote last, or null (a NaN, no page). */
  ColumnIndex takeColumnIndex() {
    ColumnIndex ci = lastColumnIndex;
    lastColumnIndex = null;
    return ci;
  }

  /** The offset index of the chunk {@link #finishChunk} wrote last, or null (no page). */
  OffsetIndex takeOffsetIndex() {
    OffsetIndex oi = lastOffsetIndex;
    lastOffsetIndex = null;
    return oi;
  }

  /**
   * The bloom filter (header and bitset) of the chunk {@link #finishChunk} wrote last, or null
   * when the column has none.
   */
  byte[] takeBloomFilter() {
    byte[] b = lastBloom;
    lastBloom = null;
    return b;
  }

  /** Forgets everything of the open file (after it was finished or abandoned). */
  void resetFile() {
    fileStats.reset();
    fileBytes = 0;
  }
}
