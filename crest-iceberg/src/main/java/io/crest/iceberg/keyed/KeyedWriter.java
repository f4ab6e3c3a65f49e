package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.BaseDeleteLoader;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.deletes.BaseDVFileWriter;
import org.apache.iceberg.deletes.DeleteGranularity;
import org.apache.iceberg.deletes.PositionDelete;
import org.apache.iceberg.deletes.PositionDeleteIndex;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DeleteWriteResult;
import org.apache.iceberg.io.FanoutPositionOnlyDeleteWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.RollingDataWriter;
import org.apache.iceberg.util.PropertyUtil;

/**
 * Writes the upserts and deletes of a table keyed by one long or int column, deleting each
 * replaced row by its position, never by equality: a row of a key written earlier in the same
 * flush, or found through the {@link LongKeyIndex}, or (for keys the index does not hold) found
 * by {@link KeyResolver} in the snapshot the flush's deletes are written against. A key proven
 * absent gets no delete. Format v3 tables get one deletion vector per data file, merged with the
 * file's previous one (which the commit removes); format v2 tables get file-scoped position
 * delete files.
 *
 * <p>Lifecycle per flush: {@link #write} for each batch of converted rows, then {@link #finish}
 * once every earlier flush is committed (its deletes are written against the table as it is
 * then). The index and the file registry live across flushes. Not thread-safe: the sink's writer
 * thread owns it. {@link #abandon} deletes the files of a flush that will not be committed.
 */
public final class KeyedWriter {
  private static final AtomicLong TASK_IDS = new AtomicLong();

  /** What one flush wrote, ready to commit as one row delta. */
  public record Flush(
      List<DataFile> dataFiles,
      List<DeleteFile> deleteFiles,
      List<DeleteFile> rewrittenDeleteFiles,
      Set<String> referencedDataFiles,
      Long baseSnapshotId,
      io.crest.iceberg.commit.DeleteRedo redo) {}

  /** A data file rows live in: where to address its position deletes. */
  private record FileRef(String path, PartitionSpec spec, StructLike partition) {}

  private final String tableName;
  private final String keyColumn;
  private final String pipelineId;
  private final LongKeyIndex index;
  // The index holds every live key of the table as of knownSnapshot: a key it lacks is absent.
  private boolean complete;
  // A load of every key overflowed the index: keys it lacks are looked up per flush.
  private boolean tooLarge;
  private Long knownSnapshot;
  private long evictionsSeen;
  private final List<FileRef> files = new ArrayList<>(); // by file id
  private final Map<String, Integer> fileIds = new HashMap<>();

  // One flush.
  private Table table;
  private PartitionSpec spec;
  private GenericFileWriterFactory factory;
  private OutputFileFactory fileFactory;
  private long targetFileSize;
  private PartitionKey partitionKey;
  private InternalRecordWrapper wrapper;
  private final Map<PartitionKey, RollingDataWriter<Record>> writers = new HashMap<>();
  private final Map<Long, Long> flushRows = new HashMap<>(); // key -> location in this flush
  private final Set<Long> misses = new HashSet<>();
  private final Set<Long> touched = new HashSet<>(); // every key the flush upserted or deleted
  private final Map<Long, Long> indexHits = new HashMap<>(); // key -> committed row, from the index
  private final Map<Integer, List<Long>> deletes = new HashMap<>(); // file id -> positions
  private final List<DataFile> written = new ArrayList<>();

  /**
   * A writer whose index takes about {@code indexBytes} of heap.
   *
   * @param keyColumn the key, a long or int column of the table
   */
  public KeyedWriter(String tableName, String pipelineId, String keyColumn, long indexBytes) {
    this.tableName = tableName;
    this.pipelineId = pipelineId;
    this.keyColumn = keyColumn;
    this.index = LongKeyIndex.withMemory(indexBytes);
  }

  /** The key index, for its counters. */
  public LongKeyIndex index() {
    return index;
  }

  /** Whether a flush is open (rows were written since the last finish). */
  public boolean isOpen() {
    return table != null;
  }

  /**
   * Upserts {@code count} converted rows, or deletes their keys where {@code deleteRows} says
   * so (only the key column of a delete row matters).
   */
  public void write(Table t, Record[] rows, boolean[] deleteRows, int count) {
    if (table == null) {
      open(t);
    } else if (t.schema().schemaId() != table.schema().schemaId()
        || t.spec().specId() != spec.specId()) {
      // The schema or spec changed in the middle of the flush: the data files so far are closed,
      // the flush's rows, misses and deletes carry on (their locations stay valid).
      closeWriters();
      open(t);
    }
    for (int i = 0; i < count; i++) {
      Record row = rows[i];
      Object value = row.getField(keyColumn);
      if (value == null) {
        throw new IllegalStateException("Cannot upsert into table " + tableName
            + ": key column '" + keyColumn + "' is null"); // required columns are checked before
      }
      long key = ((Number) value).longValue();
      touched.add(key);
      deleteEarlier(key);
      if (!deleteRows[i]) {
        RollingDataWriter<Record> writer = route(row);
        String path = writer.currentFilePath().toString();
        Integer id = fileIds.get(path);
        if (id == null) { // a new file of the partition route() just computed
          id = register(new FileRef(path, spec, spec.isPartitioned() ? partitionKey.copy() : null));
        }
        long location = LongKeyIndex.location(id, writer.currentFileRows());
        writer.write(row);
        flushRows.put(key, location);
      }
    }
  }

  /** Deletes the row {@code key} has now, wherever it is known to be; remembers a miss. */
  private void deleteEarlier(long key) {
    Long inFlush = flushRows.remove(key);
    if (inFlush != null) {
      delete(inFlush);
      return;
    }
    long indexed = index.get(key);
    if (indexed != LongKeyIndex.NONE) {
      index.remove(key);
      indexHits.put(key, indexed); // deleted at finish, if its file is still in the table
    } else {
      misses.add(key); // resolved from the table when the flush ends
    }
  }

  private void delete(long location) {
    deletes.computeIfAbsent(LongKeyIndex.fileId(location), id -> new ArrayList<>())
        .add(LongKeyIndex.position(location));
  }

  /**
   * Closes the flush's data files, resolves the keys the index did not hold against {@code t}'s
   * current snapshot (which must hold every earlier flush), and writes the flush's deletes.
   * Returns {@code null} when nothing was written.
   */
  public Flush finish(Table t) {
    if (table == null) {
      return null;
    }
    try {
      closeWriters();
      Snapshot base = t.currentSnapshot();
      Long baseId = base == null ? null : base.snapshotId();
      Map<String, FileScanTask> tasks = PositionDeletes.plan(t, baseId);
      Set<Integer> gone = new HashSet<>();
      for (Map.Entry<Long, Long> hit : indexHits.entrySet()) {
        int file = LongKeyIndex.fileId(hit.getValue());
        if (tasks.containsKey(files.get(file).path())) {
          delete(hit.getValue());
        } else {
          // The file left the table since it was indexed (a compaction rewrote it): find the
          // key's row again, and forget the file's other entries.
          misses.add(hit.getKey());
          if (gone.add(file)) {
            index.removeFile(file);
          }
        }
      }
      Set<Long> forced = new HashSet<>(); // keys whose indexed row moved: always looked up
      indexHits.forEach((key, location) -> {
        if (gone.contains(LongKeyIndex.fileId(location))) {
          forced.add(key);
        }
      });
      stillComplete(t, baseId);
      if (!gone.isEmpty()) {
        complete = false; // the keys of the rewritten files are no longer in the index
      }
      if (!complete && !tooLarge) {
        load(t, baseId, tasks);
        indexHits.keySet().forEach(index::remove); // their rows are deleted by this flush
      }
      Set<Long> lookUp = new HashSet<>(forced);
      if (complete) {
        // Every live key is in the index: a missed key's committed row is there or nowhere.
        for (Long key : misses) {
          long location = forced.contains(key) ? LongKeyIndex.NONE : index.get(key);
          if (location != LongKeyIndex.NONE) {
            index.remove(key);
            delete(location);
          }
        }
      } else {
        lookUp.addAll(misses);
      }
      long[] missed = lookUp.stream().mapToLong(Long::longValue).sorted().toArray();
      // A committed row of a missed key goes, whether the flush wrote the key again or not.
      for (KeyResolver.Row row : KeyResolver.resolve(t, baseId, keyColumn, missed)) {
        FileScanTask task = tasks.get(row.file());
        delete(LongKeyIndex.location(
            fileId(row.file(), task.spec(), task.file().partition()), row.position()));
      }
      knownSnapshot = baseId;
      Set<String> own = new HashSet<>();
      written.forEach(f -> own.add(f.location()));
      Map<Integer, List<Long>> ownDeletes = new HashMap<>();
      deletes.forEach((id, positions) -> {
        if (own.contains(files.get(id).path())) {
          ownDeletes.put(id, positions);
        }
      });
      List<PositionDeletes.Target> all = PositionDeletes.targets(deletes, this::target);
      PositionDeletes.Written w = PositionDeletes.write(t, tasks, all);
      Set<String> referenced = new HashSet<>(w.referenced());
      referenced.removeAll(own); // only files already in the table must still exist
      long[] keys = touched.stream().mapToLong(Long::longValue).sorted().toArray();
      KeyedRedo redo = new KeyedRedo(keyColumn, keys, List.copyOf(written),
          PositionDeletes.targets(ownDeletes, this::target));
      flushRows.forEach(index::put); // the flush's rows are where the next flush finds them
      return new Flush(List.copyOf(written), w.files(), w.replaced(), referenced, baseId, redo);
    } finally {
      reset();
    }
  }

  private PositionDeletes.Target target(int fileId) {
    FileRef ref = files.get(fileId);
    return new PositionDeletes.Target(ref.path(), ref.spec(), ref.partition(), new long[0]);
  }

  /** Deletes the data files of the open flush (it will not be committed) and forgets it. */
  public void abandon() {
    try {
      closeWriters();
    } finally {
      for (DataFile f : written) {
        table.io().deleteFile(f.location());
      }
      // The index may hold rows of this flush's files: they are gone.
      for (Long location : flushRows.values()) {
        index.removeFile(LongKeyIndex.fileId(location));
      }
      reset();
    }
  }

  /** Forgets every indexed key (after a failed or foreign change to the table). */
  public void forgetIndex() {
    index.clear();
    complete = false;
    tooLarge = false;
  }

  /**
   * Keeps the index complete only while every snapshot since the one it was complete for is this
   * pipeline's own or a compaction (which moves rows but adds no key), and nothing was evicted.
   */
  private void stillComplete(Table t, Long snapshot) {
    if (!complete) {
      return;
    }
    if (index.evictions() != evictionsSeen) {
      complete = false;
      tooLarge = true; // the table's keys outgrew the index
      return;
    }
    Long id = snapshot;
    while (id != null && !id.equals(knownSnapshot)) {
      Snapshot s = t.snapshot(id);
      if (s == null) {
        break; // the history was cut (expiry): the gap cannot be checked
      }
      boolean ours =
          pipelineId.equals(s.summary().get(io.crest.iceberg.commit.PipelineState.SUMMARY_PIPELINE_ID));
      if (!ours && !"replace".equals(s.operation())) {
        complete = false; // another writer: it may have written keys
        return;
      }
      id = s.parentId();
    }
    if (id == null ? knownSnapshot != null : !id.equals(knownSnapshot)) {
      complete = false;
    }
  }

  /**
   * Fills the index with every live key of the snapshot (the index starts over): from then on a
   * key it lacks is absent, unless the table is too large for it or a key has two live rows.
   */
  private void load(Table t, Long snapshot, Map<String, FileScanTask> tasks) {
    index.clear();
    long evictions = index.evictions();
    boolean[] duplicate = {false};
    KeyResolver.all(t, snapshot, keyColumn, row -> {
      FileScanTask task = tasks.get(row.file());
      long location = LongKeyIndex.location(
          fileId(row.file(), task.spec(), task.file().partition()), row.position());
      if (index.get(row.key()) != LongKeyIndex.NONE) {
        duplicate[0] = true; // written by another engine: look such keys up in the table
      }
      index.put(row.key(), location);
    });
    // Too large, or a key with two live rows (written by another engine): keys are then looked
    // up in the table per flush, which deletes every row of a key.
    tooLarge = index.evictions() != evictions || duplicate[0];
    complete = !tooLarge;
    evictionsSeen = index.evictions();
  }

  private void open(Table t) {
    table = t;
    spec = t.spec();
    FileFormat format = PositionDeletes.fileFormat(t);
    factory = new GenericFileWriterFactory.Builder(t).dataFileFormat(format)
        .dataSchema(t.schema()).build();
    fileFactory = OutputFileFactory.builderFor(t, 1, TASK_IDS.incrementAndGet())
        .format(format).operationId(UUID.randomUUID().toString()).build();
    targetFileSize = PropertyUtil.propertyAsLong(t.properties(),
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    partitionKey = new PartitionKey(spec, t.schema());
    wrapper = new InternalRecordWrapper(t.schema().asStruct());
  }

  private RollingDataWriter<Record> route(Record row) {
    StructLike partition = null;
    if (spec.isPartitioned()) {
      partitionKey.partition(wrapper.wrap(row));
      partition = partitionKey;
    }
    RollingDataWriter<Record> writer = writers.get(partitionKey);
    if (writer == null) {
      PartitionKey copy = partitionKey.copy();
      writer = new RollingDataWriter<>(factory, fileFactory, table.io(), targetFileSize, spec,
          partition == null ? null : copy);
      writers.put(copy, writer);
    }
    return writer;
  }

  private int fileId(String path, PartitionSpec fileSpec, StructLike partition) {
    Integer id = fileIds.get(path);
    return id != null ? id : register(new FileRef(path, fileSpec, partition));
  }

  private int register(FileRef ref) {
    int id = files.size();
    if (id > LongKeyIndex.MAX_FILE_ID) {
      throw new IllegalStateException("Cannot index more than " + LongKeyIndex.MAX_FILE_ID
          + " data files of table " + tableName + " in one run");
    }
    files.add(ref);
    fileIds.put(ref.path(), id);
    return id;
  }

  private void closeWriters() {
    try {
      for (RollingDataWriter<Record> w : writers.values()) {
        w.close();
        written.addAll(w.result().dataFiles());
      }
      writers.clear();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot close data files of table " + tableName + ": " + e.getMessage(), e);
    }
  }

  private void reset() {
    table = null;
    writers.clear();
    flushRows.clear();
    misses.clear();
    touched.clear();
    indexHits.clear();
    deletes.clear();
    written.clear();
  }

}
