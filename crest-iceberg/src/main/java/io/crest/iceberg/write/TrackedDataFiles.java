package io.crest.iceberg.write;

import io.crest.writer.ParquetEncoderPool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
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

/**
 * Writes chosen rows of Arrow batches into a table's data files with Crest's columnar writer and
 * tells where each row lands, for keyed tables whose key index addresses rows by position. Each
 * partition of the table's current spec is written by one writer, a <em>slot</em> the caller
 * numbers; a row lands at an offset in its slot (the rows written to the slot before it), and
 * {@link #complete()} gives each slot's files in order, so slot offset {@code n} is row {@code n}
 * minus the rows of the slot's earlier files. Rows are encoded on the caller's thread (a slot's
 * rows go into its files in write order).
 *
 * <p>Lifecycle: {@link #open}, {@link #write} batches, {@link #complete()} once (a flush), then
 * {@link #close()}, which deletes every file never returned. Not thread-safe. The caller keeps
 * owning every batch; scratch batches are allocated from the batch's allocator and released
 * before {@link #write} returns.
 */
public final class TrackedDataFiles implements AutoCloseable {
  /** Numbers the slots: called once per writer opened, with the partition it writes. */
  public interface Slots {
    /** The id of a new slot writing {@code partition} (a copy the caller may keep) of {@code spec}. */
    int open(PartitionSpec spec, StructLike partition);
  }

  /** Where a row landed. */
  public interface Landed {
    /** Row {@code ordinal} (of the rows passed to {@link #write}) is at {@code offset} of {@code slot}. */
    void at(int ordinal, int slot, long offset);
  }

  /** The files of one slot, in the order its rows went in. */
  public record Slot(int id, List<DataFile> files) {}

  private final Table table;
  private final PartitionSpec spec;
  private final int schemaId;
  private final OutputFileFactory files;
  private final ArrowDataWriter.Template template;
  private final ArrowPartitioner partitioner;
  private final int maxOpenFiles;
  private final Slots slots;
  private final Map<StructLike, Writer> open;
  private final List<Slot> done = new ArrayList<>();
  private final PartitionKey key;
  private final InternalRecordWrapper wrapper;
  private final Record keyRecord;
  private Writer single;
  private boolean closed;

  private static final class Writer {
    final int slot;
    final ArrowDataWriter writer;
    long rows;

    Writer(int slot, ArrowDataWriter writer) {
      this.slot = slot;
      this.writer = writer;
    }
  }

  private TrackedDataFiles(Table table, Schema arrowSchema, ParquetEncoderPool pool,
      int maxOpenFiles, long taskId, Slots slots) {
    this.table = table;
    this.spec = table.spec();
    this.schemaId = table.schema().schemaId();
    this.files = ArrowDataWriter.fileFactory(table, 1, taskId);
    this.template = ArrowDataWriter.Template.of(table, pool); // checks the settings now
    this.partitioner = spec.isUnpartitioned()
        ? null : ArrowPartitioner.create(table.schema(), spec, arrowSchema);
    this.maxOpenFiles = maxOpenFiles;
    this.slots = slots;
    this.open = StructLikeMap.create(spec.partitionType());
    this.key = new PartitionKey(spec, table.schema());
    this.wrapper = new InternalRecordWrapper(table.schema().asStruct());
    this.keyRecord = GenericRecord.create(table.schema());
  }

  /**
   * Opens the writers of one flush for the table's current schema, spec and properties.
   *
   * @param pool where the writers take their column encoders from (may be null)
   * @param maxOpenFiles partitions open at once (0: no cap); one more closes every open file
   * @throws IllegalArgumentException if the columnar writer cannot write this table (a type,
   *     setting or partition transform it does not handle)
   */
  public static TrackedDataFiles open(Table table, Schema arrowSchema, ParquetEncoderPool pool,
      int maxOpenFiles, long taskId, Slots slots) {
    return new TrackedDataFiles(table, arrowSchema, pool, maxOpenFiles, taskId, slots);
  }

  /** The id of the table schema the files are written in. */
  public int schemaId() {
    return schemaId;
  }

  /** The id of the partition spec the files are written in. */
  public int specId() {
    return spec.specId();
  }

  /**
   * Writes rows {@code rows[0]} to {@code rows[count - 1]} of {@code batch}, in that order, and
   * tells {@code landed} where each went.
   *
   * @param converter reads one row per partition into a record, for its partition tuple
   * @throws io.crest.errors.ValidationException as {@link ArrowDataWriter#write}; the open files
   *     then hold part of the batch and must be discarded
   */
  public void write(VectorSchemaRoot batch, int[] rows, int count,
      ArrowRecords.Converter converter, Landed landed) {
    if (count == 0) {
      return;
    }
    boolean all = count == batch.getRowCount() && isIdentity(rows, count);
    if (all) {
      writeAll(batch, converter, landed);
      return;
    }
    try (VectorSchemaRoot chosen = VectorSchemaRoot.create(
        batch.getSchema(), batch.getFieldVectors().get(0).getAllocator())) {
      BatchRows.copy(batch, chosen, rows, 0, count);
      writeAll(chosen, converter, landed);
    }
  }

  private void writeAll(VectorSchemaRoot batch, ArrowRecords.Converter converter, Landed landed) {
    int count = batch.getRowCount();
    if (partitioner == null) {
      if (single == null) {
        single = newWriter(null);
      }
      land(single, 0, count, null, landed);
      single.writer.write(batch);
      return;
    }
    int partitions = partitioner.partition(batch);
    if (partitions == 1) {
      Writer w = writerFor(partitionOf(batch, 0, converter));
      land(w, 0, count, null, landed);
      w.writer.write(batch);
      return;
    }
    int[] order = partitioner.rowOrder();
    try (VectorSchemaRoot part = VectorSchemaRoot.create(
        batch.getSchema(), batch.getFieldVectors().get(0).getAllocator())) {
      for (int p = 0; p < partitions; p++) {
        Writer w = writerFor(partitionOf(batch, partitioner.representative(p), converter));
        int from = partitioner.start(p);
        int to = partitioner.start(p + 1);
        if (partitioner.contiguous()) {
          BatchRows.slice(batch, part, order[from], to - from);
          land(w, order[from], to - from, null, landed);
        } else {
          BatchRows.copy(batch, part, order, from, to);
          land(w, from, to - from, order, landed);
        }
        w.writer.write(part);
      }
    }
  }

  /** Rows {@code first..first+count} of the batch (through {@code order} if given) go to {@code w}. */
  private static void land(Writer w, int first, int count, int[] order, Landed landed) {
    for (int i = 0; i < count; i++) {
      landed.at(order == null ? first + i : order[first + i], w.slot, w.rows + i);
    }
    w.rows += count;
  }

  private static boolean isIdentity(int[] rows, int count) {
    for (int i = 0; i < count; i++) {
      if (rows[i] != i) {
        return false;
      }
    }
    return true;
  }

  private StructLike partitionOf(VectorSchemaRoot batch, int row, ArrowRecords.Converter converter) {
    converter.fill(batch, row, keyRecord);
    key.partition(wrapper.wrap(keyRecord));
    return key;
  }

  private Writer writerFor(StructLike partition) {
    Writer w = open.get(partition);
    if (w != null) {
      return w;
    }
    if (maxOpenFiles > 0 && open.size() >= maxOpenFiles) {
      for (Writer o : open.values()) {
        finish(o);
      }
      open.clear();
    }
    StructLike copy = key.copy();
    w = newWriter(copy);
    open.put(copy, w);
    return w;
  }

  private Writer newWriter(StructLike partition) {
    int slot = slots.open(spec, partition);
    return new Writer(slot, template.open(spec, partition, files, 1));
  }

  private void finish(Writer w) {
    done.add(new Slot(w.slot, w.writer.complete()));
    w.writer.close();
  }

  /** Finishes every file and returns each slot's files; the writer takes no more rows. */
  public List<Slot> complete() {
    if (single != null) {
      finish(single);
      single = null;
    }
    for (Writer w : open.values()) {
      finish(w);
    }
    open.clear();
    List<Slot> result = List.copyOf(done);
    done.clear();
    return result;
  }

  /** Releases the writers and deletes every file never returned by {@link #complete()}. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    List<ArrowDataWriter> writers = new ArrayList<>();
    open.values().forEach(w -> writers.add(w.writer));
    if (single != null) {
      writers.add(single.writer);
    }
    open.clear();
    List<DataFile> finished = new ArrayList<>();
    done.forEach(s -> finished.addAll(s.files()));
    done.clear();
    ArrowDataWriter.discard(writers, table.io(), finished);
  }
}
