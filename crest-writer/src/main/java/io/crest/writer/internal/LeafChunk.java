package io.crest.writer.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
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
 * The written pages of one leaf column's open column chunk: each compressed behind its page
 * header and buffered until the row group is written, then the chunk's footer entry, its column
 * and offset index and its bloom filter. Part of a {@link Leaf}; borrows the writer's {@link
 * PageCompressor} (closed by its owner, not here) and writes to the stream it is given, which it
 * does not close. Not thread-safe: one writer thread.
 */
final class LeafChunk {
  private final Node[] path;
  private final Node node;
  private final PageCompressor compressor;
  private final String target;

  private final Buf chunk = new Buf(1 << 16);
  private long chunkValues;
  private long chunkUncompressed;
  private final EnumSet<Encoding> encodings = EnumSet.noneOf(Encoding.class);
  // the open chunk's pages, for its column and offset index
  private final PageIndex index;
  private long chunkRows;
  // the indexes of the chunk that finish wrote last, until the writer takes them
  private ColumnIndex lastColumnIndex;
  private OffsetIndex lastOffsetIndex;
  // the bloom filter of the open chunk, or null when the column has none
  private final SplitBlockBloom bloom;
  private byte[] lastBloom;
  /** Bytes of the open file's chunks of this column. */
  long fileBytes;

  // scratch
  private final Buf compressed = new Buf(1 << 16);
  private final Buf page2 = new Buf(256);

  LeafChunk(Node[] path, Settings settings, PageCompressor compressor, String target) {
    this.path = path;
    this.node = path[path.length - 1];
    this.compressor = compressor;
    this.target = target;
    this.index = new PageIndex(node);
    Double fpp = path.length == 1 ? settings.bloomFpp.get(node.name) : null;
    this.bloom = fpp == null ? null : new SplitBlockBloom(fpp, settings.bloomMaxBytes);
  }

  /** Heap bytes of the chunk's buffers and bloom filter. */
  long retainedBytes() {
    long n = chunk.data.length + compressed.data.length + page2.data.length;
    if (bloom != null) {
      n += bloom.retainedBytes();
    }
    return n;
  }

  /** Bytes of the open chunk's data pages, as written. */
  long bufferedBytes() {
    return chunk.size;
  }

  /** Adds the plain values of a data page to the chunk's bloom filter, if it has one. */
  void addToBloom(Buf plain) {
    if (bloom != null) {
      bloom.addPlain(plain.data, 0, plain.size, node.physical, node.typeLength);
    }
  }

  /**
   * Compresses and buffers data page {@code page} (levels, then values in {@code encoding}) of
   * {@code levelCount} values, {@code nonNull} of them not null, in {@code pageRows} rows;
   * {@code stats} are the page's, already counted.
   */
  void addDataPage(Buf page, Encoding encoding, int levelCount, int nonNull, int pageRows,
      Stats stats) {
    encodings.add(encoding);
    if (node.defLevel > 0 || node.repLevel > 0) {
      encodings.add(Encoding.RLE);
    }
    PageHeader header = new PageHeader(PageType.DATA_PAGE, page.size, 0);
    header.setData_page_header(
        new DataPageHeader(levelCount, encoding, Encoding.RLE, Encoding.RLE));
    int at = chunk.size;
    long stored = writePage(header, page, chunk);
    index.add(at, (int) stored, chunkRows, levelCount - nonNull, nonNull == 0, stats,
        stats.nans > 0);
    chunkRows += pageRows;
    chunkValues += levelCount;
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

  /**
   * Writes the chunk to {@code out} at file offset {@code offset}, dictionary page {@code
   * dictPage} of {@code dictEntries} values first unless null; returns its footer entry, with
   * {@code stats} as its statistics. Starts the next chunk.
   */
  ColumnChunk finish(OutputStream out, long offset, Buf dictPage, int dictEntries, Stats stats)
      throws IOException {
    long dictOffset = -1;
    long written = 0;
    if (dictPage != null) {
      if (bloom != null) {
        // the values of the chunk's dictionary pages; its plain pages were added when written
        bloom.addPlain(dictPage.data, 0, dictPage.size, node.physical, node.typeLength);
      }
      PageHeader header = new PageHeader(PageType.DICTIONARY_PAGE, dictPage.size, 0);
      header.setDictionary_page_header(
          new DictionaryPageHeader(dictEntries, Encoding.PLAIN_DICTIONARY));
      dictOffset = offset;
      written = writePage(header, dictPage, out);
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
    md.setStatistics(stats.toThrift());
    ColumnChunk cc = new ColumnChunk(offset);
    cc.setMeta_data(md);
    fileBytes += total;
    chunk.reset();
    chunkValues = 0;
    chunkUncompressed = 0;
    encodings.clear();
    return cc;
  }

  /** The column index of the chunk {@link #finish} wrote last, or null (a NaN, no page). */
  ColumnIndex takeColumnIndex() {
    ColumnIndex ci = lastColumnIndex;
    lastColumnIndex = null;
    return ci;
  }

  /** The offset index of the chunk {@link #finish} wrote last, or null (no page). */
  OffsetIndex takeOffsetIndex() {
    OffsetIndex oi = lastOffsetIndex;
    lastOffsetIndex = null;
    return oi;
  }

  /**
   * The bloom filter (header and bitset) of the chunk {@link #finish} wrote last, or null when
   * the column has none.
   */
  byte[] takeBloomFilter() {
    byte[] b = lastBloom;
    lastBloom = null;
    return b;
  }
}
