package io.crest.writer.internal;

import java.util.Arrays;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.util.Float16;
import org.apache.arrow.vector.BaseVariableWidthViewVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.UuidVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.parquet.format.Encoding;

/**
 * The values of one leaf column's open page, read straight from the bound Arrow vector's buffers
 * and converted to the column's stored type: dictionary ids while the chunk's {@link
 * LeafDictionary} is on, else plain-encoded bytes; their statistics go to {@link LeafStats} as
 * they are encoded. Part of a {@link Leaf}, which binds it to each batch: it references the
 * batch's buffers only while bound, and owns none of them. Not thread-safe: one writer thread.
 */
final class LeafValues {
  private final Node node;
  private final String target;
  private final int plainWidth;
  private final LeafDictionary dict;
  private final LeafStats stats;

  // bound input of the current batch
  private Source source;
  private boolean direct;
  private ArrowBuf data;
  private ArrowBuf offsets;
  private List<ArrowBuf> viewData;

  // the open page
  int[] values = new int[Leaf.SLICE]; // dictionary ids, or booleans as 0 / 1
  int valueCount;
  final Buf plain = new Buf(1 << 16);
  private long plainEstimate;

  // scratch
  private final Buf scratch = new Buf(1 << 16);
  private final Buf scratch2; // shared with LeafLevels, which is done with it before values come
  private final byte[] fixedScratch = new byte[32];

  /** {@code scratch2} is scratch this shares with the leaf's {@link LeafLevels}. */
  LeafValues(Node node, String target, LeafDictionary dict, LeafStats stats, Buf scratch2) {
    this.node = node;
    this.target = target;
    this.plainWidth = plainWidth(node);
    this.dict = dict;
    this.stats = stats;
    this.scratch2 = scratch2;
  }

  /** Bytes of one plain value of {@code node}, 0 for byte arrays and booleans. */
  static int plainWidth(Node node) {
    switch (node.physical) {
      case INT32:
      case FLOAT:
        return 4;
      case INT64:
      case DOUBLE:
        return 8;
      case FIXED:
        return node.typeLength;
      default:
        return 0;
    }
  }

  /** Binds the leaf's vector of the batch, or null when the batch lacks it, read as {@code s}. */
  void bind(ValueVector leaf, Source s) {
    this.source = s;
    if (leaf == null) {
      data = null;
      return;
    }
    if (leaf instanceof UuidVector) {
      leaf = ((UuidVector) leaf).getUnderlyingVector();
    }
    FieldVector fv = (FieldVector) leaf;
    this.direct = s.direct(node);
    this.data = fv.getDataBuffer();
    this.offsets = s.kind == Source.VAR || s.kind == Source.LARGE_VAR
        ? fv.getOffsetBuffer() : null;
    this.viewData = s.kind == Source.VIEW
        ? ((BaseVariableWidthViewVector) fv).getDataBuffers() : null;
  }

  /** Forgets the bound batch, so that an idle leaf holds no reference to its buffers. */
  void unbind() {
    source = null;
    data = null;
    offsets = null;
    viewData = null;
  }

  /** Heap bytes of the page's buffers and arrays (not the shared scratch). */
  long retainedBytes() {
    return plain.data.length + scratch.data.length + 4L * values.length;
  }

  /** Bytes of the open page's values as encoded so far (dictionary ids estimated). */
  long bytes() {
    return dict.on ? ((long) valueCount * Rle.bitWidth(dict.size())) >>> 3 : plain.size;
  }

  private void ensureValues(int n) {
    int need = valueCount + n;
    if (need > values.length) {
      values = Arrays.copyOf(values, Math.max(need, values.length * 2));
    }
  }

  // ---------------------------------------------------------------- values

  /** Encodes the values at rows {@code idx[0..n)} of the bound vector, ascending. */
  void encodeIndices(int[] idx, int n) {
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
          Stats st = stats.page;
          for (int k = 0; k < n; k++) {
            int rel = idx[k] - base;
            int b = (bits[rel >>> 3] >>> (rel & 7)) & 1;
            values[valueCount++] = b;
            st.updateLong(b);
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
          if (direct && !dict.on) {
            gatherPlain(a, first, idx, n, w);
            return;
          }
          for (int k = 0; k < n; k++) {
            addNumeric(read(a, (idx[k] - first) * w));
          }
        }
    }
  }

  /**
   * Appends the values at rows {@code rows[0..n)} of the copied input {@code a} (row {@code
   * first} at byte 0) to the plain page, already in their Parquet form ({@link #direct}), in one
   * loop without a call per value; then their bounds, as {@link #encodeRange} does for a range.
   */
  private void gatherPlain(byte[] a, int first, int[] rows, int n, int w) {
    int off = plain.size;
    plain.ensure(n * w);
    byte[] out = plain.data;
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
    stats.ofPlain(out, off, n);
  }

  private byte[] copyBits(int first, int count) {
    int firstByte = first >>> 3;
    int byteCount = ((first + count - 1) >>> 3) - firstByte + 1;
    scratch.reset();
    scratch.ensure(byteCount);
    data.getBytes(firstByte, scratch.data, 0, byteCount);
    return scratch.data;
  }

  /** Encodes the values at rows {@code [start, start + n)} of the bound vector. */
  void encodeRange(int start, int n) {
    if (n == 0) {
      return;
    }
    switch (node.physical) {
      case BOOLEAN:
        {
          byte[] bits = copyBits(start, n);
          int base = (start >>> 3) << 3;
          ensureValues(n);
          Stats st = stats.page;
          for (int i = start; i < start + n; i++) {
            int rel = i - base;
            int b = (bits[rel >>> 3] >>> (rel & 7)) & 1;
            values[valueCount++] = b;
            st.updateLong(b);
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
    if (direct && !dict.on) {
      int off = plain.size;
      plain.ensure(n * w);
      data.getBytes((long) start * w, plain.data, off, n * w);
      plain.size += n * w;
      stats.ofPlain(plain.data, off, n);
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
    LeafDictionary d = dict;
    if (d.on) {
      Dicts.Longs longDict = d.longDict;
      int before = longDict.size;
      int id = longDict.add(v);
      if (longDict.size != before) {
        stats.numeric(v);
      } else if (node.physical == Node.Physical.FLOAT || node.physical == Node.Physical.DOUBLE) {
        stats.countNan(v);
      }
      ensureValues(1);
      values[valueCount++] = id;
      plainEstimate += plainWidth;
      if ((long) longDict.size * plainWidth > d.maxBytes
          || d.sampleLoses(valueCount, plainEstimate)) {
        fallBack();
      }
      return;
    }
    if (plainWidth == 4) {
      plain.putIntLe((int) v);
    } else {
      plain.putLongLe(v);
    }
    stats.numeric(v);
  }

  /** Values {@code first..last} (all of them, or those in {@code ids}) of a binary column. */
  private void binaryValues(int first, int last, int[] ids, int n) {
    int count = last - first + 1;
    byte[] a;
    if (source.kind == Source.VAR || source.kind == Source.LARGE_VAR) {
      // offsets first..last+1 into scratch2 as ints, the data they span into scratch
      scratch2.reset();
      scratch2.ensure((count + 1) * 4);
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
      LeafDictionary d = dict;
      int k = 0;
      for (; k < n && d.on; k++) {
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
    Stats st = stats.page;
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
    LeafDictionary d = dict;
    if (d.on) {
      Dicts.Bytes bytesDict = d.bytesDict;
      int before = bytesDict.size;
      int id = bytesDict.add(a, off, len);
      if (bytesDict.size != before) {
        stats.page.updateBytes(a, off, len);
      }
      ensureValues(1);
      values[valueCount++] = id;
      plainEstimate += plainWidth == 0 ? 4 + len : len;
      if (bytesDict.plain.size > d.maxBytes || d.sampleLoses(valueCount, plainEstimate)) {
        fallBack();
      }
      return;
    }
    if (plainWidth == 0) {
      plain.putIntLe(len);
    }
    plain.write(a, off, len);
    stats.page.updateBytes(a, off, len);
  }

  // ---------------------------------------------------------------- the page

  /** Falls back to plain encoding when the chunk has no dictionary page yet and it loses. */
  void fallBackIfDictLoses() {
    if (dict.on && dict.pages == 0 && dict.loses(valueCount, plainEstimate)) {
      fallBack();
    }
  }

  /** Leaves dictionary encoding for the rest of the chunk, re-encoding the open page plainly. */
  private void fallBack() {
    // the page so far, before its ids become plain values
    stats.foldPageIds(values, valueCount, dict);
    dict.fallBack(values, valueCount, plain);
    valueCount = 0;
  }

  /** Appends the open page's values to {@code page}; returns their encoding. */
  Encoding writeTo(Buf page) {
    if (dict.on) {
      // the page's bounds: values first seen on earlier pages are on it too
      stats.foldPageIds(values, valueCount, dict);
      int width = Math.max(1, Rle.bitWidth(dict.size() - 1));
      page.write(width);
      Rle.encode(values, valueCount, width, page);
      dict.pages++;
      return Encoding.PLAIN_DICTIONARY;
    }
    if (node.physical == Node.Physical.BOOLEAN) {
      packBooleans(page);
    } else {
      page.put(plain);
    }
    return Encoding.PLAIN;
  }

  private void packBooleans(Buf page) {
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

  /** Starts the next page, once the open one is written. */
  void resetPage() {
    valueCount = 0;
    plain.reset();
    plainEstimate = 0;
  }
}
