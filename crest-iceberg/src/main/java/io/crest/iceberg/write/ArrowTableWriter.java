package io.crest.iceberg.write;

import io.crest.errors.CrestException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.util.StructLikeMap;
import org.apache.iceberg.util.StructLikeSet;

/**
 * Writes Arrow batches into a table's data files with Crest's columnar writer, one {@link
 * ArrowDataWriter} per partition of the table's current spec. Each batch is grouped by partition
 * on its vectors ({@link ArrowPartitioner}); a batch within one partition is written as it is, a
 * batch whose partitions are runs of rows is sliced (zero-copy), otherwise the rows of each
 * partition are copied, column by column, into a scratch batch that is written and released. The partition tuple of each group comes from Iceberg's own {@link
 * PartitionKey}, computed on one row of the group.
 *
 * <p>Open files are capped ({@code maxOpenFiles}, 0 for no cap): a partition that would exceed
 * the cap closes every open file first. In clustered mode one file is open at a time, and rows
 * must arrive grouped by partition within each flush (between {@link #complete()} calls).
 *
 * <p>Lifecycle as {@link ArrowDataWriter}: {@link #write} batches, {@link #complete()} per commit,
 * {@link #close()} once, which deletes every file never returned by {@link #complete()}. Not
 * thread-safe. The caller keeps owning every batch it passes; the scratch batch is allocated from
 * the batch's own allocator and released before {@link #write} returns.
 */
public final class ArrowTableWriter implements AutoCloseable {
  private final Table table;
  private final String tableName;
  private final PartitionSpec spec;
  private final OutputFileFactory files;
  private final ArrowDataWriter.Template template;
  private final ArrowPartitioner partitioner;
  private final int maxOpenFiles;
  private final boolean clustered;
  private final Map<StructLike, ArrowDataWriter> open;
  private final Set<StructLike> finished;
  private final List<DataFile> done = new ArrayList<>();
  private final PartitionKey key;
  private final InternalRecordWrapper wrapper;
  private final Record keyRecord;
  private ArrowDataWriter single;
  private boolean closed;

  private ArrowTableWriter(Table table, ArrowPartitioner partitioner, int maxOpenFiles,
      boolean clustered, int encoderThreads, long taskId,
      io.crest.writer.ParquetEncoderPool pool, java.util.function.LongConsumer heldBytes) {
    this.table = table;
    this.tableName = table.name();
    this.spec = table.spec();
    this.files = ArrowDataWriter.fileFactory(table, 1, taskId);
    this.template = ArrowDataWriter.Template.of(table, pool); // checks the settings now
    this.partitioner = partitioner;
    this.maxOpenFiles = maxOpenFiles;
    this.clustered = clustered;
    this.open = StructLikeMap.create(spec.partitionType());
    this.finished = StructLikeSet.create(spec.partitionType());
    this.key = new PartitionKey(spec, table.schema());
    this.wrapper = new InternalRecordWrapper(table.schema().asStruct());
    this.keyRecord = GenericRecord.create(table.schema());
    if (spec.isUnpartitioned()) {
      this.single = template.open(spec, null, files, encoderThreads, heldBytes);
    }
  }

  /**
   * Opens a writer for the current schema, spec and properties of {@code table}.
   *
   * @param partitioner groups rows by the table's current spec (ignored when it is unpartitioned)
   * @param encoderThreads threads encoding an unpartitioned table's files (partitioned tables:
   *     one per partition writer, on the caller's thread)
   * @param taskId becomes part of the file names, as in Iceberg's writers
   * @throws IllegalArgumentException as {@link ArrowDataWriter#open(Table, int, long)}
   */
  public static ArrowTableWriter open(Table table, ArrowPartitioner partitioner, int maxOpenFiles,
      boolean clustered, int encoderThreads, long taskId) {
    return open(table, partitioner, maxOpenFiles, clustered, encoderThreads, taskId, null, null);
  }

  /**
   * As {@link #open(Table, ArrowPartitioner, int, boolean, int, long)}, the file writers taking
   * their column encoders from {@code pool} (when not null): a writer per commit then reuses the
   * buffers the previous commit's writers grew. The caller keeps owning the pool and closes it.
   * {@code heldBytes} (when not null) is told of the Arrow bytes of the batches that encoder
   * threads still hold after {@link #write} returned, as {@link
   * io.crest.writer.ParquetWriterBuilder#heldBytesListener} describes: what it was told sums to
   * 0 again once {@link #complete()} or {@link #close()} returned.
   */
  public static ArrowTableWriter open(Table table, ArrowPartitioner partitioner, int maxOpenFiles,
      boolean clustered, int encoderThreads, long taskId,
      io.crest.writer.ParquetEncoderPool pool, java.util.function.LongConsumer heldBytes) {
    return new ArrowTableWriter(table, partitioner, maxOpenFiles, clustered, encoderThreads,
        taskId, pool, heldBytes);
  }

  /** The id of the partition spec this writer writes. */
  public int specId() {
    return spec.specId();
  }

  /**
   * Encodes the rows of {@code batch} into the files of their partitions.
   *
   * @param converter reads a row of the batch into a record of the table's schema; used on one
   *     row per partition, to compute the partition tuple
   * @throws CrestException in clustered mode, if a partition comes back after its file closed
   * @throws io.crest.errors.ValidationException as {@link ArrowDataWriter#write}
   */
  public void write(VectorSchemaRoot batch, ArrowRecords.Converter converter) {
    if (single != null) {
      single.write(batch);
      return;
    }
    if (batch.getRowCount() == 0) {
      return;
    }
    int partitions = partitioner.partition(batch);
    if (clustered && !partitioner.contiguous()) {
      throw notClustered("a batch holds the rows of one partition apart");
    }
    if (partitions == 1) {
      writerFor(partitionOf(batch, 0, converter)).write(batch);
      return;
    }
    int[] rows = partitioner.rowOrder();
    try (VectorSchemaRoot part = VectorSchemaRoot.create(
        batch.getSchema(), batch.getFieldVectors().get(0).getAllocator())) {
      for (int p = 0; p < partitions; p++) {
        ArrowDataWriter writer =
            writerFor(partitionOf(batch, partitioner.representative(p), converter));
        int from = partitioner.start(p);
        int to = partitioner.start(p + 1);
        if (partitioner.contiguous()) {
          BatchRows.slice(batch, part, rows[from], to - from);
        } else {
          BatchRows.copy(batch, part, rows, from, to);
        }
        writer.write(part);
      }
    }
  }

  private StructLike partitionOf(VectorSchemaRoot batch, int row, ArrowRecords.Converter converter) {
    converter.fill(batch, row, keyRecord);
    key.partition(wrapper.wrap(keyRecord));
    return key;
  }

  private ArrowDataWriter writerFor(StructLike partition) {
    ArrowDataWriter writer = open.get(partition);
    if (writer != null) {
      return writer;
    }
    if (clustered) {
      if (finished.contains(partition)) {
        throw notClustered("partition " + spec.partitionToPath(partition)
            + " comes back after its file was closed");
      }
      finishOpenFiles(true);
    } else if (maxOpenFiles > 0 && open.size() >= maxOpenFiles) {
      finishOpenFiles(false);
    }
    StructLike copy = key.copy();
    writer = template.open(spec, copy, files, 1);
    open.put(copy, writer);
    return writer;
  }

  private CrestException notClustered(String what) {
    return new CrestException("Cannot write to table " + tableName + " in clustered mode: the"
        + " rows of one flush are not grouped by partition (" + what + "; sort the input by the"
        + " partition columns, or drop clustered())");
  }

  private void finishOpenFiles(boolean remember) {
    for (Map.Entry<StructLike, ArrowDataWriter> e : open.entrySet()) {
      ArrowDataWriter writer = e.getValue();
      done.addAll(writer.complete());
      writer.close();
      if (remember) {
        finished.add(e.getKey());
      }
    }
    open.clear();
  }

  /** Finishes every open file and returns every file finished since the last call. */
  public List<DataFile> complete() {
    if (single != null) {
      done.addAll(single.complete());
    }
    finishOpenFiles(false);
    finished.clear();
    List<DataFile> result = new ArrayList<>(done);
    done.clear();
    return result;
  }

  /**
   * Releases the writers and deletes every file started or finished but never returned from
   * {@link #complete()}. Safe to call twice.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<ArrowDataWriter> writers = new ArrayList<>(open.values());
    if (single != null) {
      writers.add(single);
    }
    open.clear();
    ArrowDataWriter.discard(writers, table.io(), done);
  }

  @Override
  public String toString() {
    return "ArrowTableWriter[" + tableName + ", " + spec + "]";
  }
}
