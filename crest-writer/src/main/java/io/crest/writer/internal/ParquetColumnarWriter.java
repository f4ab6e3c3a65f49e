package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import io.crest.spi.ColumnStats;
import io.crest.spi.FileOutput;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.format.ColumnChunk;
import org.apache.parquet.format.ColumnOrder;
import org.apache.parquet.format.FileMetaData;
import org.apache.parquet.format.RowGroup;
import org.apache.parquet.format.SchemaElement;
import org.apache.parquet.format.TypeDefinedOrder;
import org.apache.parquet.format.Util;

/**
 * Crest's columnar Parquet writer: encodes Arrow batches column by column with no per-row objects,
 * buffering one row group, and rolls to a new file at the target size. See {@link FileWriter} for
 * the lifecycle. Not thread-safe.
 */
public final class ParquetColumnarWriter implements FileWriter {
  private static final byte[] MAGIC = "PAR1".getBytes(StandardCharsets.US_ASCII);
  private static final String CREATED_BY = "crest version 0.1.0 (build 0)";
  // Row groups and files end between slices: a slice bounds how far they overshoot.
  private static final int BATCH_SLICE = 4096;

  private final Encoders encoders;
  private final Node[] top;
  private final Leaf[] leaves;
  private final int[][] leafOfTop;
  private final List<SchemaElement> schemaElements;
  private final Settings settings;
  private final FileOutputFactory outputs;
  private final EncoderCache cache;
  private final List<WrittenFile> finished = new ArrayList<>();

  private Schema boundSchema;
  private Source[] boundSources;
  private int[] boundTop;

  private Counting out;
  private String location;
  private final List<RowGroup> rowGroups = new ArrayList<>();
  private final List<Long> splitOffsets = new ArrayList<>();
  // every chunk of the open file with its page indexes, written before the footer
  private final List<ColumnChunk> indexedChunks = new ArrayList<>();
  private final List<org.apache.parquet.format.ColumnIndex> columnIndexes = new ArrayList<>();
  private final List<org.apache.parquet.format.OffsetIndex> offsetIndexes = new ArrayList<>();
  // the bloom filters of the open file's chunks (header and bitset), written before the footer
  private final List<ColumnChunk> bloomChunks = new ArrayList<>();
  private final List<byte[]> blooms = new ArrayList<>();
  private long bloomBytes;
  private long fileRows;
  private long groupRows;
  private boolean closed;
  private RuntimeException failure;

  /**
   * A writer of files with {@code schema}, created through {@code outputs}.
   *
   * @throws IllegalArgumentException if a field of the schema cannot be written
   */
  public ParquetColumnarWriter(Schema schema, FileOutputFactory outputs, Settings settings) {
    this(schema, outputs, settings, null);
  }

  /**
   * A writer of files with {@code schema}, created through {@code outputs}, that takes its
   * encoders from {@code cache} (when not null) and gives them back when it closes after
   * finishing cleanly.
   *
   * @throws IllegalArgumentException if a field of the schema cannot be written
   */
  public ParquetColumnarWriter(Schema schema, FileOutputFactory outputs, Settings settings,
      EncoderCache cache) {
    this(cache == null ? new Encoders(schema, settings, true) : cache.take(schema, settings),
        outputs, cache);
  }

  private ParquetColumnarWriter(Encoders encoders, FileOutputFactory outputs, EncoderCache cache) {
    this.encoders = encoders;
    this.settings = encoders.settings;
    this.outputs = outputs;
    this.cache = cache;
    this.top = encoders.top;
    this.leaves = encoders.leaves;
    this.leafOfTop = encoders.leafOfTop;
    this.schemaElements = encoders.schemaElements;
  }

  /**
   * A writer that only {@linkplain #checkSchema checks schemas}: it builds no column encoders and
   * writes nothing.
   *
   * @throws IllegalArgumentException if a field of the schema cannot be written
   */
  public static ParquetColumnarWriter checkerOf(Schema schema, Settings settings) {
    return new ParquetColumnarWriter(new Encoders(schema, settings, false), () -> {
      throw new IllegalStateException("A schema checker writes no files");
    }, null);
  }

  @Override
  public void write(VectorSchemaRoot batch) {
    if (closed) {
      throw new IllegalStateException("Cannot write batch to " + settings.target
          + ": the Parquet writer is closed");
    }
    checkUsable("write batch to");
    int rows = batch.getRowCount();
    if (rows == 0) {
      return;
    }
    if (leaves == null) {
      throw new IllegalStateException("Cannot write batch to " + settings.target
          + ": this writer only checks schemas");
    }
    bind(batch);
    if (out == null) {
      open();
    }
    try {
      encode(rows);
    } catch (RuntimeException e) {
      // the open file holds part of the batch: it can only be discarded now
      failure = e;
      throw e;
    }
  }

  private void checkUsable(String verb) {
    if (failure != null) {
      throw new IllegalStateException("Cannot " + verb + " " + settings.target
          + ": an earlier batch failed half-way into file " + location + " ("
          + failure.getMessage() + "); close this writer and discard that file", failure);
    }
  }

  private void encode(int rows) {
    int pos = 0;
    while (pos < rows) {
      int end = Math.min(rows, pos + sliceRows());
      for (Leaf leaf : leaves) {
        leaf.write(pos, end);
      }
      groupRows += end - pos;
      pos = end;
      if (bufferedBytes() >= settings.rowGroupBytes) {
        flushRowGroup();
      }
      // after a flush its bytes are in out.pos, no longer buffered: count them once
      if (openFileBytes() >= settings.targetFileBytes) {
        finishFile();
        if (pos < rows) {
          open();
        }
      }
    }
  }

  /**
   * Rows to encode before checking the row group and file sizes again: at most {@link
   * #BATCH_SLICE}, fewer when the bytes per row seen so far say a limit is near.
   */
  private int sliceRows() {
    long rowsSoFar = fileRows + groupRows;
    if (rowsSoFar == 0) {
      return 512;
    }
    long buffered = bufferedBytes();
    long bytesPerRow = Math.max(1, (out.pos + buffered) / rowsSoFar);
    long room = Math.min(settings.targetFileBytes - out.pos - buffered,
        settings.rowGroupBytes - buffered);
    return (int) Math.max(64, Math.min(BATCH_SLICE, room / bytesPerRow + 1));
  }

  private void bind(VectorSchemaRoot batch) {
    checkSchema(batch.getSchema());
    List<FieldVector> vectors = batch.getFieldVectors();
    for (int t = 0; t < top.length; t++) {
      ValueVector v = boundTop[t] < 0 ? null : vectors.get(boundTop[t]);
      for (int k : leafOfTop[t]) {
        leaves[k].bind(v, boundSources[k]);
      }
    }
  }

  /**
   * Checks that batches of schema {@code in} fit the writer's schema (by name, each column's type
   * converts without loss), without writing anything. Values (a null in a required column) are
   * checked only when a batch is written.
   *
   * @throws ValidationException if they do not fit; the message names the column
   */
  public void checkSchema(Schema in) {
    if (!in.equals(boundSchema)) {
      resolve(in);
    }
  }

  /** Matches an input schema to the writer's by name and picks each leaf's conversion. */
  private void resolve(Schema in) {
    Map<String, Integer> byName = new HashMap<>();
    List<Field> inFields = in.getFields();
    for (int i = 0; i < inFields.size(); i++) {
      byName.put(inFields.get(i).getName(), i);
    }
    int[] topIndex = new int[top.length];
    Source[] sources = new Source[encoders.paths.length];
    for (int t = 0; t < top.length; t++) {
      Integer i = byName.remove(top[t].name);
      topIndex[t] = i == null ? -1 : i;
      if (i == null && !top[t].nullable) {
        throw invalid("the batch has no column '" + top[t].name
            + "', which is required (send it, or make the column optional)");
      }
    }
    if (!byName.isEmpty()) {
      throw invalid("the batch has columns " + byName.keySet() + " that the file schema lacks"
          + " (drop them, or add them to the table first)");
    }
    for (int t = 0; t < top.length; t++) {
      for (int k : leafOfTop[t]) {
        sources[k] = topIndex[t] < 0 ? null
            : resolveLeaf(encoders.paths[k], inFields.get(topIndex[t]));
      }
    }
    boundSchema = in;
    boundTop = topIndex;
    boundSources = sources;
  }

  private Source resolveLeaf(Node[] path, Field input) {
    Field f = input;
    for (int d = 0; d < path.length; d++) {
      Node n = path[d];
      if (!kindMatches(n, f)) {
        throw mismatch(n, f);
      }
      if (n.kind == Node.Kind.LEAF) {
        Source s = Source.of(n, f);
        if (s == null) {
          throw mismatch(n, f);
        }
        return s;
      }
      Node next = path[d + 1];
      switch (n.kind) {
        case STRUCT:
          {
            Field child = null;
            for (Field c : f.getChildren()) {
              if (c.getName().equals(next.name)) {
                child = c;
              }
            }
            if (child == null) {
              throw invalid("the batch's struct '" + n.path + "' has no field '" + next.name
                  + "' (send every field of the struct)");
            }
            for (Field c : f.getChildren()) {
              boolean known = false;
              for (Node k : n.children) {
                known |= k.name.equals(c.getName());
              }
              if (!known) {
                throw invalid("the batch's struct '" + n.path + "' has a field '" + c.getName()
                    + "' that the file schema lacks (drop it, or add it to the table first)");
              }
            }
            f = child;
            break;
          }
        case LIST:
          f = f.getChildren().get(0);
          break;
        default:
          f = f.getChildren().get(0).getChildren().get(n.children[0] == next ? 0 : 1);
      }
    }
    throw new IllegalStateException("Cannot resolve column " + path[path.length - 1].path);
  }

  private static boolean kindMatches(Node n, Field f) {
    switch (n.kind) {
      case STRUCT:
        return f.getType().getTypeID() == org.apache.arrow.vector.types.pojo.ArrowType.ArrowTypeID
            .Struct;
      case LIST:
        switch (f.getType().getTypeID()) {
          case List:
          case LargeList:
          case FixedSizeList:
            return true;
          default:
            return false;
        }
      case MAP:
        return f.getType().getTypeID()
            == org.apache.arrow.vector.types.pojo.ArrowType.ArrowTypeID.Map;
      default:
        return true;
    }
  }

  private ValidationException mismatch(Node n, Field f) {
    return invalid("column '" + n.path + "' has Arrow type " + f.getType()
        + " but the file column is " + n.field.getType()
        + " (cast it to a type that converts without loss)");
  }

  private ValidationException invalid(String message) {
    return Node.invalid(settings.target, message);
  }

  private void open() {
    FileOutput output = outputs.newOutput();
    location = output.location();
    out = new Counting(new java.io.BufferedOutputStream(output.create(), 1 << 16));
    try {
      out.write(MAGIC);
    } catch (IOException e) {
      throw ioFailure("start", e);
    }
  }

  private UncheckedIOException ioFailure(String verb, IOException e) {
    return new UncheckedIOException("Cannot " + verb + " Parquet file " + location + " for "
        + settings.target + ": " + e.getMessage(), e);
  }

  private void flushRowGroup() {
    if (groupRows == 0) {
      return;
    }
    long start = out.pos;
    List<ColumnChunk> chunks = new ArrayList<>(leaves.length);
    long total = 0;
    long uncompressed = 0;
    try {
      for (Leaf leaf : leaves) {
        long at = out.pos;
        ColumnChunk cc = leaf.finishChunk(out, at);
        chunks.add(cc);
        indexedChunks.add(cc);
        columnIndexes.add(leaf.takeColumnIndex());
        offsetIndexes.add(leaf.takeOffsetIndex());
        byte[] bloom = leaf.takeBloomFilter();
        if (bloom != null) {
          bloomChunks.add(cc);
          blooms.add(bloom);
          bloomBytes += bloom.length;
        }
        total += cc.getMeta_data().getTotal_compressed_size();
        uncompressed += cc.getMeta_data().getTotal_uncompressed_size();
      }
    } catch (IOException e) {
      throw ioFailure("write a row group of", e);
    }
    RowGroup group = new RowGroup(chunks, uncompressed, groupRows);
    group.setFile_offset(start);
    group.setTotal_compressed_size(total);
    rowGroups.add(group);
    splitOffsets.add(start);
    fileRows += groupRows;
    groupRows = 0;
  }

  private void finishFile() {
    flushRowGroup();
    FileMetaData meta = new FileMetaData(1, schemaElements, fileRows, rowGroups);
    meta.setCreated_by(CREATED_BY);
    List<ColumnOrder> orders = new ArrayList<>();
    for (int k = 0; k < leaves.length; k++) {
      orders.add(ColumnOrder.TYPE_ORDER(new TypeDefinedOrder()));
    }
    meta.setColumn_orders(orders);
    try {
      writePageIndexes();
      writeBloomFilters();
      long footerStart = out.pos;
      Util.writeFileMetaData(meta, out);
      int footerLength = (int) (out.pos - footerStart);
      out.write(footerLength & 0xFF);
      out.write((footerLength >>> 8) & 0xFF);
      out.write((footerLength >>> 16) & 0xFF);
      out.write((footerLength >>> 24) & 0xFF);
      out.write(MAGIC);
      out.close();
    } catch (IOException e) {
      throw ioFailure("finish", e);
    }
    List<ColumnStats> columns = new ArrayList<>(leaves.length);
    for (Leaf leaf : leaves) {
      Stats s = leaf.fileStats();
      boolean floating = leaf.node.physical == Node.Physical.FLOAT
          || leaf.node.physical == Node.Physical.DOUBLE;
      columns.add(ColumnStats.builder(leaf.node.fieldId, String.join(".",
              Node.columnPath(leaf.path)))
          .counts(s.values, s.nulls, floating ? s.nans : -1)
          .sizeInBytes(leaf.fileBytes())
          .bounds(s.bound(false), s.bound(true))
          .build());
      leaf.resetFile();
    }
    finished.add(WrittenFile.of(location, "parquet", fileRows, out.pos,
        List.copyOf(splitOffsets), columns));
    out = null;
    location = null;
    rowGroups.clear();
    splitOffsets.clear();
    clearPageIndexes();
    fileRows = 0;
  }

  /**
   * Writes the column indexes of every chunk of the file, then their offset indexes, where
   * parquet-java puts them (after the last row group, before the footer), and points each chunk
   * at its own.
   */
  private void writePageIndexes() throws IOException {
    for (int i = 0; i < indexedChunks.size(); i++) {
      org.apache.parquet.format.ColumnIndex ci = columnIndexes.get(i);
      if (ci != null) {
        long start = out.pos;
        Util.writeColumnIndex(ci, out);
        indexedChunks.get(i).setColumn_index_offset(start);
        indexedChunks.get(i).setColumn_index_length((int) (out.pos - start));
      }
    }
    for (int i = 0; i < indexedChunks.size(); i++) {
      org.apache.parquet.format.OffsetIndex oi = offsetIndexes.get(i);
      if (oi != null) {
        long start = out.pos;
        Util.writeOffsetIndex(oi, out);
        indexedChunks.get(i).setOffset_index_offset(start);
        indexedChunks.get(i).setOffset_index_length((int) (out.pos - start));
      }
    }
  }

  /**
   * Writes the bloom filters of the file's chunks after their page indexes, where parquet-java
   * puts them, and points each chunk at its own ({@code bloom_filter_offset} and {@code
   * bloom_filter_length}, header included).
   */
  private void writeBloomFilters() throws IOException {
    for (int i = 0; i < blooms.size(); i++) {
      byte[] b = blooms.get(i);
      org.apache.parquet.format.ColumnMetaData md = bloomChunks.get(i).getMeta_data();
      md.setBloom_filter_offset(out.pos);
      md.setBloom_filter_length(b.length);
      out.write(b, 0, b.length);
    }
  }

  private void clearPageIndexes() {
    indexedChunks.clear();
    columnIndexes.clear();
    offsetIndexes.clear();
    bloomChunks.clear();
    blooms.clear();
    bloomBytes = 0;
  }

  @Override
  public void roll() {
    checkUsable("finish a file for");
    if (out != null) {
      try {
        finishFile();
      } catch (RuntimeException e) {
        // the file is half-written and the columns half-reset: nothing more may go into it
        failure = e;
        throw e;
      }
    }
  }

  @Override
  public List<WrittenFile> finish() {
    roll();
    List<WrittenFile> result = List.copyOf(finished);
    finished.clear();
    return result;
  }

  @Override
  public long openFileBytes() {
    if (out == null) {
      return 0;
    }
    return out.pos + bufferedBytes() + bloomBytes;
  }

  /** The bytes encoded into the open row group and not yet written out. */
  private long bufferedBytes() {
    long buffered = 0;
    for (Leaf leaf : leaves) {
      buffered += leaf.bufferedBytes();
    }
    return buffered;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (out == null && failure == null && cache != null) {
      // every file ended: the encoders hold no state of this writer's, only grown buffers
      cache.give(encoders);
    } else {
      encoders.close();
    }
    if (out != null) {
      try {
        out.close();
      } catch (IOException e) {
        throw ioFailure("close unfinished", e);
      } finally {
        out = null;
      }
    }
  }

  /** Counts the bytes written through it, and passes large writes on in slices. */
  private static final class Counting extends OutputStream {
    static final int WRITE_SLICE = 64 << 10;
    private final OutputStream delegate;
    long pos;

    Counting(OutputStream delegate) {
      this.delegate = delegate;
    }

    @Override
    public void write(int b) throws IOException {
      delegate.write(b);
      pos++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      // A column chunk is tens of megabytes. FileOutputStream copies what one write passes into a
      // native buffer malloc'ed for it, which for more than glibc's mmap threshold (128 KiB) is a
      // fresh mapping: every page faulted in and zeroed, then unmapped, per write. Slices of
      // WRITE_SLICE bytes reuse one malloc'ed block and stay in cache.
      while (len > 0) {
        int n = Math.min(len, WRITE_SLICE);
        delegate.write(b, off, n);
        pos += n;
        off += n;
        len -= n;
      }
    }

    @Override
    public void close() throws IOException {
      delegate.close();
    }
  }

}
