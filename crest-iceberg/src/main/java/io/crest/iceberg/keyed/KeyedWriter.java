package io.crest.iceberg.keyed;

import io.crest.errors.ValidationException;
import io.crest.iceberg.write.ArrowRecords;
import io.crest.iceberg.write.TrackedDataFiles;
import io.crest.writer.ParquetEncoderPool;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.RollingDataWriter;

/**
 * Writes the upserts and deletes of a keyed table (one key column or several, of the types
 * {@link KeyCodec} reads), deleting each replaced row by its position, never by equality: a row
 * of a key written earlier in the same flush, or found through the {@link LongKeyIndex}, or (for
 * keys the index does not hold) found by {@link KeyResolver} in the snapshot the flush's deletes
 * are written against. A key proven
 * absent gets no delete. Format v3 tables get one deletion vector per data file, merged with the
 * file's previous one (which the commit removes); format v2 tables get file-scoped position
 * delete files.
 *
 * <p>Rows come as Arrow batches ({@link #write(Table, VectorSchemaRoot, ArrowRecords.Converter,
 * boolean[])}), written by Crest's columnar writer: within a batch
 * the last row of a key wins (resolved on the key vector before anything is encoded), and a key
 * written again by a later batch of the same flush has its earlier row deleted by position. Or
 * they come as converted records ({@link #write(Table, Record[], boolean[], int)}) for tables the
 * columnar writer does not write (ORC, Avro, types it lacks), through Iceberg's generic writer.
 * The per-flush bookkeeping holds primitive {@code long}s only ({@link LongLongMap}): a key is
 * its value (one int or long column) or its 128-bit hash ({@link KeyCodec}).
 *
 * <p>Lifecycle per flush: {@link #write} for each batch, then {@link #finish}
 * once every earlier flush is committed (its deletes are written against the table as it is
 * then). The index and the file registry live across flushes. Not thread-safe: the sink's writer
 * thread owns it. {@link #abandon} deletes the files of a flush that will not be committed.
 */
public final class KeyedWriter {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(KeyedWriter.class);
  private static final AtomicLong TASK_IDS = new AtomicLong();

  /**
   * What one flush wrote, ready to commit as one row delta: its rows ({@code dataFiles}), its
   * deletes (replacing the deleted files' earlier ones), and the data files it rewrote without
   * their deleted rows ({@code rewrittenDataFiles} replace {@code removedDataFiles}, whose delete
   * files are among {@code rewrittenDeleteFiles}).
   */
  public record Flush(
      List<DataFile> dataFiles,
      List<DeleteFile> deleteFiles,
      List<DeleteFile> rewrittenDeleteFiles,
      Set<String> referencedDataFiles,
      Long baseSnapshotId,
      io.crest.iceberg.commit.DeleteRedo redo,
      List<DataFile> rewrittenDataFiles,
      List<DataFile> removedDataFiles,
      boolean ahead) {}

  /**
   * A commit of the table as the committer made it: its snapshot, that snapshot's parent, and
   * whether its deletes had to be written again (then it is not what its writer wrote).
   */
  public record Committed(long snapshotId, Long parentId, boolean redone) {}


  private final String tableName;
  private final KeyCodec codec;
  private final String pipelineId;
  private final String branch; // null: main
  private final KeyIndexState keys;
  private final LongKeyIndex index;
  private final double maxDeletedRatio;
  private TableFiles tableFiles; // the table's files, from the manifests written since last time
  // The last flush finished: the snapshot it was resolved against, whether it was resolved ahead
  // of the commit before it (against that snapshot plus that commit's files), and the table's
  // files as they are once it is committed as written (null: not known from file-scoped deletes).
  private Long lastBase;
  private boolean lastAhead;
  private Map<String, FileScanTask> afterLast;
  private final DataFileIds files;

  // One flush.
  private Table table;
  private PartitionSpec spec;
  private RecordFiles records; // converted records' files, when the columnar writer cannot
  // The columnar writer's files: locations of its rows are (slot id, offset) until settled.
  private TrackedDataFiles columnar;
  private final LongLongMap flushRows; // key -> location in this flush
  private final LongLongMap misses; // keys to find in the table (value 0)
  private final LongLongMap indexHits; // key -> committed row, from the index
  private long[] deleted = new long[1024]; // locations of rows to delete
  private int deletedCount;
  private final List<DataFile> written = new ArrayList<>();
  // One batch.
  private final LongLongMap batchLast; // key -> its last row in the batch
  private int[] chosen = new int[0];
  private long[] batchHi = new long[0]; // the key of each row of the batch (hi 0 when narrow)
  private long[] batchLo = new long[0];
  private final KeyCodec.Key key = new KeyCodec.Key();

  /**
   * A writer whose index takes about {@code indexBytes} of heap.
   *
   * @param codec the table's key columns
   * @param maxDeletedRatio the share of the table's rows that may be deleted rows before a flush
   *     also rewrites the most deleted data files without them, in (0, 1]
   */
  public KeyedWriter(String tableName, String pipelineId, String branch, KeyCodec codec,
      long indexBytes, double maxDeletedRatio) {
    if (!(maxDeletedRatio > 0 && maxDeletedRatio <= 1)) {
      throw new IllegalArgumentException("Cannot write keyed table " + tableName
          + ": max deleted ratio " + maxDeletedRatio + " is not in (0, 1]");
    }
    this.tableName = tableName;
    this.pipelineId = pipelineId;
    this.branch = branch;
    this.codec = codec;
    this.keys = new KeyIndexState(pipelineId, codec, indexBytes);
    this.flushRows = LongLongMap.of(codec);
    this.misses = LongLongMap.of(codec);
    this.indexHits = LongLongMap.of(codec);
    this.batchLast = LongLongMap.of(codec);
    this.files = new DataFileIds(tableName);
    this.index = keys.index();
    this.maxDeletedRatio = maxDeletedRatio;
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
    useTable(t);
    for (int i = 0; i < count; i++) {
      Record row = rows[i];
      codec.of(row, key); // a null key was rejected before (required columns are checked)
      long hi = key.hi;
      long lo = key.lo;
      deleteEarlier(hi, lo);
      if (!deleteRows[i]) {
        if (records == null) {
          records = new RecordFiles(table);
        }
        RollingDataWriter<Record> writer = records.route(row);
        String path = writer.currentFilePath().toString();
        Integer id = files.find(path);
        if (id == null) { // a new file of the partition route() just computed
          id = files.id(path, records.spec(), records.lastPartition());
        }
        long location = LongKeyIndex.location(id, writer.currentFileRows());
        writer.write(row);
        flushRows.put(hi, lo, location);
      }
    }
  }

  /**
   * Upserts the rows of an Arrow batch, or deletes their keys where {@code ops} says so, writing
   * them with Crest's columnar writer. Within the batch the last row of a key wins: only that row
   * is written (or, if it is a delete, none).
   *
   * <p>Call {@link #openColumnar} and {@link #checkKeys} for the batch first.
   *
   * @param batch the rows, with the table's columns only (no op column); the caller owns it
   * @param converter the converter of {@code batch}'s schema, for partition tuples
   * @param deleteRows which rows delete their key (null: every row is an upsert)
   * @throws io.crest.errors.ValidationException if the columnar writer rejects the batch half-way
   *     (the flush must then be abandoned)
   */
  public void write(Table t, VectorSchemaRoot batch, ArrowRecords.Converter converter,
      boolean[] deleteRows) {
    KeyCodec.ArrowKeys keys = codec.arrow(batch::getVector);
    int rows = batch.getRowCount();
    if (columnar == null || keys == null) {
      throw new IllegalStateException("Cannot write batch to table " + tableName
          + (columnar == null ? ": openColumnar() first" : ": its key vectors cannot be read"));
    }
    useTable(t);
    if (chosen.length < rows) {
      chosen = new int[rows];
      batchHi = new long[rows];
      batchLo = new long[rows];
    }
    long[] his = batchHi;
    long[] los = batchLo;
    batchLast.clear();
    for (int i = 0; i < rows; i++) {
      keys.read(i, key);
      his[i] = key.hi;
      los[i] = key.lo;
      batchLast.put(key.hi, key.lo, i);
    }
    int count = 0;
    for (int i = 0; i < rows; i++) {
      if (batchLast.get(his[i], los[i]) != i) {
        continue; // a later row of the batch replaces it: never written
      }
      deleteEarlier(his[i], los[i]);
      if (deleteRows == null || !deleteRows[i]) {
        chosen[count++] = i;
      }
    }
    int[] written = chosen;
    columnar.write(batch, chosen, count, converter, (ordinal, slot, offset) -> flushRows.put(
        his[written[ordinal]], los[written[ordinal]], LongKeyIndex.location(slot, offset)));
  }

  /**
   * Makes sure the columnar writer is open for the table's current schema and spec, and can take
   * batches of {@code batchSchema}. Changes nothing when it cannot.
   *
   * @param pool where the file writers take their encoders from (may be null)
   * @param maxOpenFiles partitions open at once (0: no cap)
   * @return null when it can, or why not (write the rows as records then)
   */
  public String openColumnar(Table t, org.apache.arrow.vector.types.pojo.Schema batchSchema,
      ParquetEncoderPool pool, int maxOpenFiles) {
    String unreadable = codec.arrowUnsupported(batchSchema);
    if (unreadable != null) {
      return unreadable;
    }
    if (columnar != null && (columnar.schemaId() != t.schema().schemaId()
        || columnar.specId() != t.spec().specId())) {
      settleColumnar(); // the schema or spec changed: the flush's files so far are closed
    }
    if (columnar == null) {
      try {
        columnar = TrackedDataFiles.open(t, batchSchema, pool, maxOpenFiles,
            TASK_IDS.incrementAndGet(), files::openSlot);
      } catch (IllegalArgumentException e) {
        return e.getMessage();
      }
    }
    return null;
  }

  /**
   * Rejects a batch with a null key column, naming the column and the first such row; changes
   * nothing.
   *
   * @throws ValidationException if a key column of {@code batch} is null in a row
   */
  public void checkKeys(VectorSchemaRoot batch) {
    for (String column : codec.columns()) {
      FieldVector keyVector = batch.getVector(column);
      if (keyVector != null && keyVector.getNullCount() > 0) {
        int row = 0;
        while (!keyVector.isNull(row)) {
          row++;
        }
        throw new ValidationException("Cannot upsert into table " + tableName + ": key column '"
            + column + "' is null in row " + row);
      }
    }
  }

  /**
   * Opens the flush on its first batch. When the schema or spec changed in the middle of the
   * flush, the generic writer's data files so far are closed; the flush's rows, misses and
   * deletes carry on (their locations stay valid).
   */
  private void useTable(Table t) {
    if (table != null && (t.schema().schemaId() != table.schema().schemaId()
        || t.spec().specId() != spec.specId())) {
      closeWriters();
      table = null;
    }
    if (table == null) {
      table = t;
      spec = t.spec();
    }
  }

  /**
   * Closes the columnar writer's files and moves the locations of its rows from (slot, offset) to
   * (data file, position), in the flush's rows and in its deletes.
   */
  private void settleColumnar() {
    if (columnar == null) {
      return;
    }
    TrackedDataFiles c = columnar;
    columnar = null;
    List<TrackedDataFiles.Slot> slots;
    try {
      slots = c.complete();
    } finally {
      c.close();
    }
    Map<Integer, long[]> starts = new HashMap<>(); // slot -> first offset of each file
    Map<Integer, int[]> ids = new HashMap<>(); // slot -> file ids
    for (TrackedDataFiles.Slot slot : slots) {
      List<DataFile> slotFiles = slot.files();
      long[] first = new long[slotFiles.size()];
      int[] fileIds = new int[slotFiles.size()];
      long offset = 0;
      for (int i = 0; i < slotFiles.size(); i++) {
        DataFile f = slotFiles.get(i);
        DataFileIds.Ref slotRef = files.get(slot.id());
        first[i] = offset;
        fileIds[i] = files.id(f.location(), slotRef.spec(), slotRef.partition());
        offset += f.recordCount();
        written.add(f);
      }
      starts.put(slot.id(), first);
      ids.put(slot.id(), fileIds);
    }
    LongLongMap.Update place = (key, location) -> {
      int slot = LongKeyIndex.fileId(location);
      long[] first = starts.get(slot);
      if (first == null) {
        return location; // a row of another writer
      }
      long offset = LongKeyIndex.position(location);
      int i = Arrays.binarySearch(first, offset);
      if (i < 0) {
        i = -i - 2; // the file whose first offset is the largest below
      } else {
        while (i + 1 < first.length && first[i + 1] == offset) {
          i++; // files without rows share a first offset with the next
        }
      }
      return LongKeyIndex.location(ids.get(slot)[i], offset - first[i]);
    };
    flushRows.replaceAll(place);
    for (int i = 0; i < deletedCount; i++) {
      deleted[i] = place.apply(0, deleted[i]);
    }
    files.freeSlots();
  }

  /** Deletes the row {@code key} has now, wherever it is known to be; remembers a miss. */
  private void deleteEarlier(long hi, long lo) {
    long inFlush = flushRows.remove(hi, lo);
    if (inFlush != LongLongMap.NONE) {
      delete(inFlush);
      return;
    }
    long indexed = index.get(hi, lo);
    if (indexed != LongKeyIndex.NONE) {
      index.remove(hi, lo);
      indexHits.put(hi, lo, indexed); // deleted at finish, if its file is still in the table
    } else {
      misses.put(hi, lo, 0); // resolved from the table when the flush ends
    }
  }

  private void delete(long location) {
    if (deletedCount == deleted.length) {
      deleted = Arrays.copyOf(deleted, deletedCount * 2);
    }
    deleted[deletedCount++] = location;
  }

  /**
   * Whether the flush can be finished while the last flush finished is still being committed:
   * {@code t}'s current snapshot is the one that flush was resolved against (or, if that flush was
   * itself finished ahead, the snapshot {@code lastEnded}, the commit before it, made as written
   * on top of it), and the table's files after the last flush are known.
   *
   * @param lastEnded the last commit that ended, null if none
   */
  public boolean canFinishAhead(Table t, Committed lastEnded) {
    if (table == null || afterLast == null) {
      return false;
    }
    Snapshot s = io.crest.iceberg.commit.PipelineState.head(t, branch);
    Long current = s == null ? null : s.snapshotId();
    if (!lastAhead) {
      return java.util.Objects.equals(current, lastBase);
    }
    return lastEnded != null && !lastEnded.redone() && current != null
        && current == lastEnded.snapshotId()
        && java.util.Objects.equals(lastEnded.parentId(), lastBase);
  }

  /**
   * Closes the flush's data files, resolves the keys the index did not hold against {@code t}'s
   * current snapshot (which must hold every earlier flush), and writes the flush's deletes.
   * Returns {@code null} when nothing was written.
   */
  public Flush finish(Table t) {
    return finish(t, false);
  }

  /**
   * As {@link #finish(Table)}; {@code ahead}: the last flush finished is not committed yet, and
   * the deletes are resolved against {@code t}'s current snapshot plus that flush's files as it
   * wrote them ({@link #canFinishAhead} must have said it can).
   */
  public Flush finish(Table t, boolean ahead) {
    if (table == null) {
      return null;
    }
    try {
      long started = System.nanoTime();
      settleColumnar();
      closeWriters();
      long closed = System.nanoTime();
      Snapshot base = io.crest.iceberg.commit.PipelineState.head(t, branch);
      Long baseId = base == null ? null : base.snapshotId();
      if (tableFiles == null) {
        tableFiles = new TableFiles(codec.fields().get(0).fieldId());
      }
      Map<String, FileScanTask> direct = ahead ? afterLast : tableFiles.plan(t, baseId);
      afterLast = null; // until this flush is done
      Map<String, FileScanTask> tasks = direct != null ? direct : PositionDeletes.plan(t, baseId);
      long planned = System.nanoTime();
      Set<Integer> gone = new HashSet<>();
      indexHits.forEachKey((hi, lo, location) -> {
        int file = LongKeyIndex.fileId(location);
        if (tasks.containsKey(files.get(file).path())) {
          delete(location);
        } else {
          // The file left the table since it was indexed (a compaction rewrote it): find the
          // key's row again, and forget the file's other entries.
          misses.put(hi, lo, 0);
          if (gone.add(file)) {
            index.removeFile(file);
          }
        }
      });
      LongLongMap forced = LongLongMap.of(codec); // keys whose indexed row moved: looked up
      indexHits.forEachKey((hi, lo, location) -> {
        if (gone.contains(LongKeyIndex.fileId(location))) {
          forced.put(hi, lo, 0);
        }
      });
      keys.checkStillComplete(t, baseId);
      if (!gone.isEmpty()) {
        keys.lostKeys(); // the keys of the rewritten files are no longer in the index
      }
      if (keys.loadable()) {
        keys.load(t, tasks, (path, task, position) -> LongKeyIndex.location(
            fileId(path, task.spec(), task.file().partition()), position));
        indexHits.forEachKey((hi, lo, location) -> index.remove(hi, lo)); // deleted by this flush
      }
      LongLongMap lookUp = forced;
      if (keys.isComplete()) {
        // Every live key is in the index: a missed key's committed row is there or nowhere.
        misses.forEachKey((hi, lo, unused) -> {
          long location = forced.containsKey(hi, lo) ? LongKeyIndex.NONE : index.get(hi, lo);
          if (location != LongKeyIndex.NONE) {
            index.remove(hi, lo);
            delete(location);
          }
        });
      } else {
        misses.forEachKey((hi, lo, unused) -> lookUp.put(hi, lo, 0));
      }
      // A committed row of a missed key goes, whether the flush wrote the key again or not.
      List<KeyResolver.Row> found = direct != null
          ? KeyResolver.resolve(t, direct.values(), codec, lookUp)
          : KeyResolver.resolve(t, baseId, codec, lookUp);
      for (KeyResolver.Row row : found) {
        FileScanTask task = tasks.get(row.file());
        delete(LongKeyIndex.location(
            fileId(row.file(), task.spec(), task.file().partition()), row.position()));
      }
      keys.known(baseId);
      long resolved = System.nanoTime();
      Set<Integer> own = new HashSet<>();
      written.forEach(f -> own.add(files.find(f.location())));
      Arrays.sort(deleted, 0, deletedCount); // by file id, then position
      List<PositionDeletes.Target> all = targets(null);
      long rewriteStarted = System.nanoTime();
      FileRewrites.Done rewrite = direct == null ? null : FileRewrites.keepUnder(
          maxDeletedRatio, t, tasks, all, written, codec, index, this::fileId);
      long rewriteEnded = System.nanoTime();
      Set<String> removed = new HashSet<>();
      if (rewrite != null) {
        rewrite.removed().forEach(f -> removed.add(f.location()));
        all.removeIf(target -> removed.contains(target.path()));
      }
      PositionDeletes.Written w = PositionDeletes.write(t, tasks, all);
      Set<String> referenced = new HashSet<>(w.referenced());
      written.forEach(f -> referenced.remove(f.location())); // only files already in the table
      List<DeleteFile> replaced = new ArrayList<>(w.replaced());
      if (rewrite != null) {
        replaced.addAll(rewrite.removedDeletes());
      }
      // Every key the flush upserted or deleted: at its first row it was found in the index or
      // missed it.
      LongLongMap touched = misses.copy();
      indexHits.forEachKey((hi, lo, location) -> touched.put(hi, lo, 0));
      KeyedRedo redo = new KeyedRedo(branch, codec, touched, List.copyOf(written),
          targets(own));
      // The flush's rows are where the next flush finds them.
      flushRows.forEachKey((hi, lo, location) -> index.put(hi, lo, location));
      if (LOG.isDebugEnabled()) {
        LOG.debug("Keyed flush of {}: close files {} ms, plan {} ms ({} files), resolve {} ms"
            + " ({} keys looked up), write {} deletes {} ms", tableName,
            (closed - started) / 1_000_000, (planned - closed) / 1_000_000, tasks.size(),
            (resolved - planned) / 1_000_000, lookUp.size(), deletedCount,
            (System.nanoTime() - resolved - (rewriteEnded - rewriteStarted)) / 1_000_000);
        if (rewrite != null && !rewrite.removed().isEmpty()) {
          LOG.debug("Keyed flush of {}: rewrote {} data files ({} rows kept) into {} in {} ms",
              tableName, rewrite.removed().size(), rewrite.rows(), rewrite.written().size(),
              (rewriteEnded - rewriteStarted) / 1_000_000);
        }
      }
      Flush flush = new Flush(List.copyOf(written), w.files(), replaced, referenced, baseId, redo,
          rewrite == null ? List.of() : rewrite.written(),
          rewrite == null ? List.of() : rewrite.removed(), ahead);
      lastBase = baseId;
      lastAhead = ahead;
      afterLast = direct == null ? null : TableFiles.after(t, direct, flush);
      return flush;
    } finally {
      reset();
    }
  }

  /** The sorted deletes grouped by data file: of every file, or of {@code only} these. */
  private List<PositionDeletes.Target> targets(Set<Integer> only) {
    List<PositionDeletes.Target> targets = new ArrayList<>();
    int i = 0;
    while (i < deletedCount) {
      int file = LongKeyIndex.fileId(deleted[i]);
      int end = i;
      while (end < deletedCount && LongKeyIndex.fileId(deleted[end]) == file) {
        end++;
      }
      if (only == null || only.contains(file)) {
        long[] positions = new long[end - i];
        for (int k = i; k < end; k++) {
          positions[k - i] = LongKeyIndex.position(deleted[k]);
        }
        DataFileIds.Ref ref = files.get(file);
        targets.add(new PositionDeletes.Target(ref.path(), ref.spec(), ref.partition(), positions));
      }
      i = end;
    }
    return targets;
  }

  /** Deletes the data files of the open flush (it will not be committed) and forgets it. */
  public void abandon() {
    try {
      try {
        if (columnar != null) {
          columnar.close(); // deletes its files
        }
      } finally {
        columnar = null;
        closeWriters();
      }
    } finally {
      for (DataFile f : written) {
        table.io().deleteFile(f.location());
      }
      files.freeSlots();
      reset(); // the index never held rows of this flush: they are put at its finish
    }
  }

  /** Forgets every indexed key (after a failed or foreign change to the table). */
  public void forgetIndex() {
    keys.forget();
  }

  private int fileId(String path, PartitionSpec fileSpec, StructLike partition) {
    return files.id(path, fileSpec, partition);
  }

  private void closeWriters() {
    if (records != null) {
      RecordFiles r = records;
      records = null;
      written.addAll(r.close());
    }
  }

  private void reset() {
    table = null;
    records = null;
    flushRows.clear();
    misses.clear();
    indexHits.clear();
    deletedCount = 0;
    written.clear();
  }

}
