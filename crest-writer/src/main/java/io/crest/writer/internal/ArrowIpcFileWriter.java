package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import io.crest.spi.FileOutput;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import io.crest.writer.ArrowIpcCompression;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.compression.CommonsCompressionFactory;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.compression.CompressionUtil;
import org.apache.arrow.vector.compression.NoCompressionCodec;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Writes batches into Arrow IPC files, optionally with compressed buffers, rolling at a target
 * size. Batches must have the writer's schema (field metadata aside). Buffers are borrowed from
 * the batch while it is written (no copy, unless compressed) and never kept. Not thread-safe.
 */
public final class ArrowIpcFileWriter implements FileWriter {
  private final Schema schema;
  private final FileOutputFactory outputs;
  private final BufferAllocator allocator;
  private final ArrowIpcCompression compression;
  private final long targetFileBytes;
  private final String target;
  private final List<WrittenFile> finished = new ArrayList<>();

  private VectorSchemaRoot root;
  private ArrowFileWriter writer;
  private Channel channel;
  private String location;
  private long rows;
  private boolean closed;

  /** See {@link io.crest.writer.ArrowIpcWriterBuilder#build()}. */
  public ArrowIpcFileWriter(Schema schema, FileOutputFactory outputs, BufferAllocator parent,
      ArrowIpcCompression compression, long targetFileBytes, String target) {
    this.schema = schema;
    this.outputs = outputs;
    this.allocator = parent.newChildAllocator("crest-ipc-writer", 0, Long.MAX_VALUE);
    this.compression = compression;
    this.targetFileBytes = targetFileBytes;
    this.target = target;
  }

  @Override
  public void write(VectorSchemaRoot batch) {
    if (closed) {
      throw new IllegalStateException("Cannot write batch to " + target
          + ": the Arrow IPC writer is closed");
    }
    if (!sameShape(batch.getSchema(), schema)) {
      throw new ValidationException("Cannot write batch to " + target + ": its schema "
          + batch.getSchema() + " differs from the file schema " + schema
          + " (send batches of one schema per writer)");
    }
    if (batch.getRowCount() == 0) {
      return;
    }
    if (writer == null) {
      open();
    }
    try (ArrowRecordBatch rb = new VectorUnloader(batch).getRecordBatch()) {
      new VectorLoader(root, NoCompressionCodec.Factory.INSTANCE).load(rb);
      writer.writeBatch();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write a batch to Arrow file " + location + " for "
          + target + ": " + e.getMessage(), e);
    } finally {
      root.clear();
    }
    rows += batch.getRowCount();
    if (channel.pos >= targetFileBytes) {
      roll();
    }
  }

  private static boolean sameShape(Schema a, Schema b) {
    return a.getFields().size() == b.getFields().size()
        && new Schema(a.getFields(), Map.of()).equals(new Schema(b.getFields(), Map.of()));
  }

  private void open() {
    FileOutput output = outputs.newOutput();
    location = output.location();
    channel = new Channel(output.create());
    root = VectorSchemaRoot.create(schema, allocator);
    CompressionUtil.CodecType codec;
    switch (compression) {
      case LZ4_FRAME:
        codec = CompressionUtil.CodecType.LZ4_FRAME;
        break;
      case ZSTD:
        codec = CompressionUtil.CodecType.ZSTD;
        break;
      default:
        codec = CompressionUtil.CodecType.NO_COMPRESSION;
    }
    writer = new ArrowFileWriter(root, null, channel, Map.of(), IpcOption.DEFAULT,
        codec == CompressionUtil.CodecType.NO_COMPRESSION ? NoCompressionCodec.Factory.INSTANCE
            : CommonsCompressionFactory.INSTANCE, codec);
    try {
      writer.start();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot start Arrow file " + location + " for " + target
          + ": " + e.getMessage(), e);
    }
    rows = 0;
  }

  @Override
  public void roll() {
    if (writer == null) {
      return;
    }
    try {
      writer.end();
      writer.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot finish Arrow file " + location + " for " + target
          + ": " + e.getMessage(), e);
    } finally {
      writer = null;
      channel.closeQuietly(); // end() may have failed before the stream was closed
      root.close();
      root = null;
    }
    finished.add(WrittenFile.of(location, "arrow", rows, channel.pos, List.of(), List.of()));
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
    return writer == null ? 0 : channel.pos;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (writer != null) {
        writer.close();
      }
    } finally {
      if (writer != null) {
        channel.closeQuietly();
      }
      writer = null;
      if (root != null) {
        root.close();
        root = null;
      }
      allocator.close();
    }
  }

  /** A byte channel over an output stream that counts what it wrote. */
  private static final class Channel implements WritableByteChannel {
    private final OutputStream out;
    private boolean open = true;
    private byte[] tmp; // reused for direct buffers
    long pos;

    Channel(OutputStream out) {
      this.out = new java.io.BufferedOutputStream(out, 1 << 16);
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      int n = src.remaining();
      if (src.hasArray()) {
        out.write(src.array(), src.arrayOffset() + src.position(), n);
        src.position(src.limit());
      } else {
        if (tmp == null) {
          tmp = new byte[1 << 16];
        }
        while (src.hasRemaining()) {
          int k = Math.min(tmp.length, src.remaining());
          src.get(tmp, 0, k);
          out.write(tmp, 0, k);
        }
      }
      pos += n;
      return n;
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() throws IOException {
      if (open) {
        open = false;
        out.close();
      }
    }

    /** Closes the stream on a failure path, where the first failure is the one to report. */
    void closeQuietly() {
      try {
        close();
      } catch (IOException ignored) {
        // the caller is already failing or has closed the stream cleanly before
      }
    }
  }
}
