package io.crest.writer.internal;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.arrow.vector.ValueVector;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnIndex;
import org.apache.parquet.format.Encoding;
import org.apache.parquet.format.OffsetIndex;

/**
 * Encodes one Parquet leaf column straight from Arrow vectors: levels from validity bitmaps and
 * list offsets ({@link LeafLevels}), values from data buffers into plain or dictionary pages
 * ({@link LeafValues}, {@link LeafDictionary}) with their statistics ({@link LeafStats}),
 * compressed pages buffered per row group ({@link LeafChunk}). This class cuts the rows into
 * pages and chunks and hands each part its share.
 *
 * <p>Lifecycle, per file:
 *
 * <ol>
 *   <li>for each batch, {@link #bind} it, then {@link #write} its rows;
 *   <li>for each row group, {@link #finishChunk}, then take its column index, offset index and
 *       bloom filter;
 *   <li>once the file is finished (or abandoned), read {@link #fileStats} and {@link
 *       #fileBytes}, then {@link #resetFile}.
 * </ol>
 *
 * <p>{@link #unbind} before the leaf waits idle.
 *
 * <p>Not thread-safe: one writer thread. The leaf references the bound batch's vectors only until
 * {@link #unbind} and owns none of them; it borrows the writer's {@link PageCompressor}, closed by
 * its owner; it does not close the stream it writes chunks to.
 */
final class Leaf {
  static final int SLICE = 4096;

  final Node[] path;
  final Node node;
  private final Settings settings;
  private final LeafLevels levels;
  private final LeafValues values;
  private final LeafDictionary dict;
  private final LeafStats stats;
  private final LeafChunk chunk;
  private int pageRows;

  // scratch
  private final Buf page = new Buf(1 << 16);
  private final Buf scratch2 = new Buf(1 << 10); // shared by levels and values, used in turn

  Leaf(Node[] path, Settings settings, PageCompressor compressor, String target) {
    this.path = path;
    this.node = path[path.length - 1];
    this.settings = settings;
    this.levels = new LeafLevels(path, target);
    this.stats = new LeafStats(node);
    this.dict = new LeafDictionary(node, LeafValues.plainWidth(node), settings.dictionaryBytes);
    this.values = new LeafValues(node, target, dict, stats, scratch2);
    this.chunk = new LeafChunk(path, settings, compressor, target);
  }

  // ---------------------------------------------------------------- binding

  /** Binds the leaf's path to the batch's vectors; {@code top} is null when the batch lacks it. */
  void bind(ValueVector top, Source leafSource) {
    levels.bind(top);
    values.bind(levels.vectors[path.length - 1], leafSource);
  }

  /** Forgets the bound batch, so that an idle leaf holds no reference to its vectors. */
  void unbind() {
    levels.unbind();
    values.unbind();
  }

  /** Heap bytes of the leaf's buffers, arrays and dictionary. */
  long retainedBytes() {
    return page.data.length + scratch2.data.length + levels.retainedBytes()
        + values.retainedBytes() + stats.retainedBytes() + dict.retainedBytes()
        + chunk.retainedBytes();
  }

  // ---------------------------------------------------------------- rows

  /** Encodes top-level rows {@code [start, end)} of the bound batch. */
  void write(int start, int end) {
    if (levels.flat) {
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
    LeafLevels lv = levels;
    for (int row = start; row < end; row++) {
      lv.row(row);
      pageRows++;
      if (lv.idxCount >= SLICE || lv.levelCount >= SLICE * 4 || row == end - 1
          || pageRows >= settings.pageRowLimit) {
        encodeIndices();
        maybeFlushPage();
      }
    }
  }

  private void writeFlat(int start, int n) {
    LeafLevels lv = levels;
    if (lv.maxDef == 0) {
      lv.required(start, n);
      values.encodeRange(start, n);
      return;
    }
    if (lv.allDefined(n)) {
      values.encodeRange(start, n);
      return;
    }
    lv.someDefined(start, n, scratch2);
    encodeIndices();
  }

  /** Encodes the values of the rows the levels found defined since the last call. */
  private void encodeIndices() {
    LeafLevels lv = levels;
    int n = lv.idxCount;
    lv.idxCount = 0;
    values.encodeIndices(lv.idx, n);
  }

  private void maybeFlushPage() {
    if (pageRows >= settings.pageRowLimit || pageBytes() >= settings.pageBytes) {
      flushPage();
    }
  }

  private long pageBytes() {
    return values.bytes() + (levels.levelCount >>> 2);
  }

  // ---------------------------------------------------------------- pages and chunks

  /** Bytes buffered for the open row group, an estimate of what it adds to the file. */
  long bufferedBytes() {
    return chunk.bufferedBytes() + pageBytes() + dict.bufferedBytes();
  }

  void flushPage() {
    int levelCount = levels.levelCount;
    if (levelCount == 0) {
      return;
    }
    values.fallBackIfDictLoses();
    page.reset();
    levels.writeTo(page);
    Encoding encoding = values.writeTo(page);
    if (encoding == Encoding.PLAIN && node.physical != Node.Physical.BOOLEAN) {
      chunk.addToBloom(values.plain);
    }
    int nonNull = node.physical == Node.Physical.BOOLEAN || dict.on
        ? values.valueCount : levels.nonNull();
    stats.countPage(levelCount, nonNull);
    chunk.addDataPage(page, encoding, levelCount, nonNull, pageRows, stats.page);
    stats.pageDone();
    levels.resetPage();
    values.resetPage();
    pageRows = 0;
  }

  /**
   * Flushes the open page and writes the chunk (dictionary page first) to {@code out} at file
   * offset {@code offset}; returns its footer entry.
   */
  ColumnChunk finishChunk(OutputStream out, long offset) throws IOException {
    flushPage();
    Buf dictPage = null;
    int dictEntries = 0;
    if (dict.pages > 0) {
      page.reset();
      dictEntries = dict.writeTo(page);
      dictPage = page;
    }
    ColumnChunk cc = chunk.finish(out, offset, dictPage, dictEntries, stats.chunk);
    stats.chunkDone();
    // the next chunk starts afresh, and may try the dictionary again
    dict.resetChunk();
    return cc;
  }

  /** The column index of the chunk {@link #finishChunk} wrote last, or null (a NaN, no page). */
  ColumnIndex takeColumnIndex() {
    return chunk.takeColumnIndex();
  }

  /** The offset index of the chunk {@link #finishChunk} wrote last, or null (no page). */
  OffsetIndex takeOffsetIndex() {
    return chunk.takeOffsetIndex();
  }

  /**
   * The bloom filter (header and bitset) of the chunk {@link #finishChunk} wrote last, or null
   * when the column has none.
   */
  byte[] takeBloomFilter() {
    return chunk.takeBloomFilter();
  }

  /** The statistics of the open file's finished chunks. */
  Stats fileStats() {
    return stats.file;
  }

  /** Bytes of the open file's finished chunks of this column. */
  long fileBytes() {
    return chunk.fileBytes;
  }

  /** Forgets everything of the open file (after it was finished or abandoned). */
  void resetFile() {
    stats.file.reset();
    chunk.fileBytes = 0;
  }
}
