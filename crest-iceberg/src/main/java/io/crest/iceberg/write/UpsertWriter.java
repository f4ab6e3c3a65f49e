package io.crest.iceberg.write;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.BaseTaskWriter;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileWriterFactory;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.WriteResult;

/**
 * Writes one flush of an upsert: for every row, the earlier row of its key is deleted (a position
 * delete if that row was written in this flush, an equality delete on the key otherwise), then the
 * row is written. A delete removes its key the same way without writing a row. This is Iceberg's
 * own equality-delta writer, as Flink's upsert sink uses it, with one writer per partition.
 *
 * <p>Every commit of the result must be its own {@code RowDelta}: the equality deletes of a flush
 * apply only to data files with a lower sequence number, so merging flushes would break them.
 * Not thread-safe: the sink's writer thread owns it.
 */
public final class UpsertWriter extends BaseTaskWriter<Record> {
  private final Schema schema;
  private final Schema keySchema;
  private final List<String> keyNames;
  private final PartitionKey partitionKey;
  private final InternalRecordWrapper partitionWrapper;
  private final Map<PartitionKey, DeltaWriter> writers = new HashMap<>();

  /**
   * Creates the writer.
   *
   * @param writerFactory makes data, equality-delete (with {@code keySchema}'s field ids) and
   *     position-delete writers
   * @param useDeletionVectors whether position deletes are deletion vectors (format v3)
   */
  public UpsertWriter(
      PartitionSpec spec,
      FileFormat format,
      FileWriterFactory<Record> writerFactory,
      OutputFileFactory fileFactory,
      FileIO io,
      long targetFileSize,
      Schema schema,
      Schema keySchema,
      boolean useDeletionVectors) {
    super(spec, format, writerFactory, fileFactory, io, targetFileSize, useDeletionVectors);
    this.schema = schema;
    this.keySchema = keySchema;
    this.keyNames = keySchema.columns().stream().map(f -> f.name()).toList();
    this.partitionKey = new PartitionKey(spec, schema);
    this.partitionWrapper = new InternalRecordWrapper(schema.asStruct());
  }

  /** Upserts {@code row}: its key ends with exactly this row. */
  @Override
  public void write(Record row) throws IOException {
    DeltaWriter writer = route(row);
    writer.deleteKey(key(row));
    writer.write(row);
  }

  /** Deletes the key of {@code row} (only its key and partition columns need values). */
  public void delete(Record row) throws IOException {
    route(row).deleteKey(key(row));
  }

  private Record key(Record row) {
    GenericRecord key = GenericRecord.create(keySchema);
    for (String name : keyNames) {
      key.setField(name, row.getField(name));
    }
    return key;
  }

  private DeltaWriter route(Record row) {
    if (spec().isUnpartitioned()) {
      return writers.computeIfAbsent(partitionKey, k -> new DeltaWriter(null));
    }
    partitionKey.partition(partitionWrapper.wrap(row));
    DeltaWriter writer = writers.get(partitionKey);
    if (writer == null) {
      PartitionKey copy = partitionKey.copy();
      writer = new DeltaWriter(copy);
      writers.put(copy, writer);
    }
    return writer;
  }

  @Override
  public void close() throws IOException {
    try {
      for (DeltaWriter writer : writers.values()) {
        writer.close();
      }
      writers.clear();
    } finally {
      super.close(); // closes the deletion-vector writer and collects its files
    }
  }

  /** Closes the files and returns them. */
  public WriteResult finish() {
    try {
      return complete();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot close upsert files: " + e.getMessage(), e);
    }
  }

  private final class DeltaWriter extends BaseEqualityDeltaWriter {
    private final InternalRecordWrapper rowWrapper = new InternalRecordWrapper(schema.asStruct());
    private final InternalRecordWrapper keyWrapper = new InternalRecordWrapper(keySchema.asStruct());

    DeltaWriter(StructLike partition) {
      super(partition, schema, keySchema, org.apache.iceberg.deletes.DeleteGranularity.FILE,
          dvFileWriter());
    }

    @Override
    protected StructLike asStructLike(Record data) {
      return rowWrapper.wrap(data);
    }

    @Override
    protected StructLike asStructLikeKey(Record key) {
      return keyWrapper.wrap(key);
    }
  }
}
