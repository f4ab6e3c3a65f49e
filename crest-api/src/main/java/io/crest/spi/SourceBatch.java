package io.crest.spi;

import java.util.Objects;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * One Arrow record batch from one stream of a source, with the stream position after it.
 *
 * <p>A batch owns its {@link VectorSchemaRoot}: the root is not reused for another batch, and
 * whoever holds the batch closes it. A source hands the batch to {@link SourceContext#emit} and
 * from then on the pipeline owns it, and closes it once {@link SinkWriter#write} returned. A sink
 * writer never keeps the batch or its root or vectors after {@code write} returns; a writer that
 * encodes on threads of its own may keep retained references to the vectors' buffers (zero-copy)
 * until its next {@link SinkWriter#prepareCommit} or its {@link SinkWriter#close} returns, as
 * {@link SinkWriter#write} describes. Closing twice is safe. Not thread-safe: one thread uses a
 * batch at a time.
 */
public final class SourceBatch implements AutoCloseable {
  private final String stream;
  private final VectorSchemaRoot root;
  private final SourcePosition positionAfter;
  private final long sizeInBytes;
  private boolean closed;

  private SourceBatch(String stream, VectorSchemaRoot root, SourcePosition positionAfter) {
    this.stream = stream;
    this.root = root;
    this.positionAfter = positionAfter;
    long size = 0;
    for (FieldVector vector : root.getFieldVectors()) {
      size += vector.getBufferSize();
    }
    this.sizeInBytes = size;
  }

  /**
   * Wraps {@code root}, taking ownership of it.
   *
   * @param stream the id of the stream the batch came from, stable across restarts
   * @param root the batch's vectors, owned by the new batch from now on
   * @param positionAfter the stream position after the batch's last row
   * @throws IllegalArgumentException if {@code stream} is empty
   */
  public static SourceBatch of(String stream, VectorSchemaRoot root, SourcePosition positionAfter) {
    Objects.requireNonNull(stream, "stream");
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(positionAfter, "positionAfter");
    if (stream.isEmpty()) {
      throw new IllegalArgumentException("Cannot create SourceBatch: empty stream id");
    }
    return new SourceBatch(stream, root, positionAfter);
  }

  /** The id of the stream this batch came from. */
  public String stream() {
    return stream;
  }

  /** The batch's vectors; valid until the batch is closed. */
  public VectorSchemaRoot root() {
    return root;
  }

  /** The stream position after this batch's last row. */
  public SourcePosition positionAfter() {
    return positionAfter;
  }

  /** The number of rows in the batch. */
  public int rowCount() {
    return root.getRowCount();
  }

  /** The bytes of Arrow buffers the batch holds, as counted when it was created. */
  public long sizeInBytes() {
    return sizeInBytes;
  }

  /** Releases the batch's buffers. Safe to call more than once. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      root.close();
    }
  }

  @Override
  public String toString() {
    return "SourceBatch[stream=" + stream + ", rows=" + root.getRowCount()
        + ", positionAfter=" + positionAfter + "]";
  }
}
