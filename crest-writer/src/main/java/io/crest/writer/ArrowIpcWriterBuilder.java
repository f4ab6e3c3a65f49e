package io.crest.writer;

import static java.util.Objects.requireNonNull;

import io.crest.DataSize;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.writer.internal.ArrowIpcFileWriter;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Configures an Arrow IPC file writer (the Arrow "file" format with footer), for raw exports and
 * dead-letter files; get one from {@link FileWriters#arrowIpc}. Defaults: no compression, 512 MiB
 * files. Each setter may be called once. Not thread-safe.
 */
public final class ArrowIpcWriterBuilder {
  private final Schema schema;
  private final FileOutputFactory outputs;
  private final BufferAllocator allocator;
  private DataSize targetFileSize;
  private ArrowIpcCompression compression;
  private String target = "arrow files";

  ArrowIpcWriterBuilder(Schema schema, FileOutputFactory outputs, BufferAllocator allocator) {
    this.schema = requireNonNull(schema, "schema");
    this.outputs = requireNonNull(outputs, "outputs");
    this.allocator = requireNonNull(allocator, "allocator");
  }

  /** Names what the files are for in error messages. */
  public ArrowIpcWriterBuilder target(String name) {
    this.target = requireNonNull(name, "name");
    return this;
  }

  /** Starts a new file once the open one reaches this size. */
  public ArrowIpcWriterBuilder targetFileSize(DataSize size) {
    requireNonNull(size, "size");
    if (size.toBytes() <= 0) {
      throw new IllegalArgumentException(
          "Cannot set targetFileSize to " + size + ": it must be positive");
    }
    if (targetFileSize != null) {
      throw new IllegalStateException("Cannot set targetFileSize to " + size
          + ": it was already set to " + targetFileSize);
    }
    this.targetFileSize = size;
    return this;
  }

  /** Compresses record batch buffers with {@code compression}. */
  public ArrowIpcWriterBuilder compression(ArrowIpcCompression compression) {
    requireNonNull(compression, "compression");
    if (this.compression != null) {
      throw new IllegalStateException("Cannot set compression to " + compression
          + ": it was already set to " + this.compression);
    }
    this.compression = compression;
    return this;
  }

  /**
   * Builds a writer that allocates from a child of the allocator given to {@link
   * FileWriters#arrowIpc}; closing the writer closes that child.
   */
  public FileWriter build() {
    return new ArrowIpcFileWriter(schema, outputs, allocator,
        compression == null ? ArrowIpcCompression.NONE : compression,
        targetFileSize == null ? 512L << 20 : targetFileSize.toBytes(), target);
  }
}
