package io.crest.iceberg.write;

import io.crest.errors.CrestException;
import io.crest.errors.ValidationException;
import io.crest.iceberg.commit.TableCommittable;
import io.crest.iceberg.commit.TableCommittable.FileGroup;
import io.crest.iceberg.keyed.KeyCodec;
import io.crest.iceberg.keyed.KeyedWriter;
import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.iceberg.schema.SchemaReconciler;
import io.crest.iceberg.schema.TableCreation;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.SupportsBulkOperations;
import org.apache.iceberg.types.Types;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writing half of an Iceberg sink: reconciles each batch's schema with the table's under the
 * evolution policy (creating the table from the first batch), routes the batch to the columnar
 * Parquet writer or, for upserts, other formats and types the columnar writer does not take,
 * to Iceberg's generic writers, and at each flush closes the open files into an immutable {@link
 * TableCommittable} for the committer.
 *
 * <p>A batch is rejected with a {@link ValidationException} before anything of it is written (so
 * it may go to a dead-letter file and the pipeline go on); the writer's state after a rejection is
 * what it was before the batch. A batch that fails half-way in the columnar writer fails with a
 * {@link CrestException} that no dead-letter directory takes: the flush is lost and the pipeline
 * stops.
 *
 * <p>Not thread-safe: one writer thread calls {@link #write}, {@link #prepare} and {@link #close};
 * {@link #checkSchema} and {@link #tableCommitted} may be called from any thread. It owns its own
 * {@link Table} instance and shares it with no other thread. {@link #close} deletes files written
 * but never prepared.
 */
public final class TableFileWriter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TableFileWriter.class);

  private final Catalog catalog;
  private final TableIdentifier identifier;
  private final String tableName;
  private final WriteSettings settings;
  private final Set<String> ignoredColumns;
  private Table table;
  // An immutable view of the table's schema for checkSchema on other threads; null: no table yet.
  private volatile org.apache.iceberg.Schema tableSchema;
  // The schema and spec ids the committer last saw, packed; the writer refreshes when they differ.
  private volatile long committedVersion = -1;

  // The batch schema the converter and op column were prepared for, all set together.
  private Prepared prepared;
  private Record[] rowBuffer = new Record[0];
  private boolean[] deleteBuffer = new boolean[0];
  private GenericRows generic;
  // Upserts by keys the index holds: deletes by position through it (lives across flushes).
  private KeyedWriter keyed;
  private final String pipelineId;
  private final String branch;
  private volatile boolean keyIndexStale;
  // Committables prepared, and those whose commit ended (committed, failed or aborted): a keyed
  // flush writes its deletes once every earlier one but the last is in the table (against the
  // last one's files as written, if it is not). Guarded by commits.
  private final Object commits = new Object();
  private long preparedCommits;
  private long endedCommits;
  private boolean commitFailed;
  private KeyedWriter.Committed lastEnded; // the last commit that ended, if it landed
  private boolean lastPreparedKeyed; // whether the last committable prepared holds a keyed flush
  private final ColumnarFiles columnar;
  private final HeldBytes heldBytes = new HeldBytes();
  private boolean columnarUnsupported;
  // Closed files not yet prepared: appended data files, and the upsert groups in order.
  private final List<DataFile> appended = new ArrayList<>();
  private final List<FileGroup> deltas = new ArrayList<>();
  private boolean closed;

  /** What one batch schema was prepared into: immutable, replaced whole or not at all. */
  private record Prepared(Schema arrowSchema, int tableSchemaId, ArrowRecords.Converter converter,
      int opOrdinal, ArrowRecords.Converter withoutOps) {}

  /**
   * Creates a writer for {@code identifier}; loads the table (its own instance) if it exists.
   *
   * @param pipelineId the pipeline whose commits the writer's key index follows
   * @param branch the branch the commits go to ({@code null}: main), whose rows upserts replace
   *
   * @throws ValidationException if the table exists and cannot take the strategy (an upsert into
   *     a format v1 table, or partitioned by a column that is not a key)
   */
  public TableFileWriter(Catalog catalog, TableIdentifier identifier, WriteSettings settings,
      String pipelineId, String branch) {
    this.pipelineId = pipelineId;
    this.branch = branch;
    this.catalog = catalog;
    this.identifier = identifier;
    this.tableName = identifier.toString();
    this.settings = settings;
    this.ignoredColumns = settings.ignoredColumns();
    this.columnar = new ColumnarFiles(tableName, settings, heldBytes);
    if (catalog.tableExists(identifier)) {
      useTable(catalog.loadTable(identifier));
      if (settings.upsert()) {
        checkUpsertLayout(table);
      }
    }
  }

  /**
   * The Arrow bytes of batches passed to {@link #write} that encoder threads (with more than one
   * encoder thread) still reference after it returned; 0 after {@link #prepare} and {@link
   * #close}. Any thread.
   */
  public long heldBytes() {
    return heldBytes.get();
  }

  /**
   * Runs {@code listener} each time {@link #heldBytes()} went down, on the thread that released
   * the bytes (often an encoder thread); it must be quick and must not throw. Any thread.
   */
  public void onHeldBytesReleased(Runnable listener) {
    heldBytes.onRelease(listener);
  }

  /**
   * Tells the writer the table's schema and spec ids as the committer saw them after a commit; the
   * writer picks up a change (by another writer) at its next batch. Any thread.
   */
  public void tableCommitted(int schemaId, int specId) {
    committedVersion = ((long) schemaId << 32) | (specId & 0xFFFFFFFFL);
  }

  /**
   * Writes a batch into the open files.
   *
   * @throws ValidationException if the batch does not fit the table; nothing of it was written
   * @throws CrestException if the batch failed half-way; the open files hold part of it
   */
  public void write(VectorSchemaRoot root) {
    Schema arrowSchema = root.getSchema();
    Table t = ensureTable(arrowSchema);
    Prepared p = prepared;
    if (p == null || !arrowSchema.equals(p.arrowSchema) || p.tableSchemaId != t.schema().schemaId()) {
      prepared = null; // a rejected batch leaves nothing half-prepared for the next one
      p = prepare(t, arrowSchema);
      prepared = p;
    }
    if (keyedColumnar(t) && writeKeyed(t, root, p)) {
      return;
    }
    if (useColumnar(t)) {
      if (columnar.isStale(t)) {
        roll();
      }
      ArrowTableWriter w = columnar.writer();
      if (w == null) {
        w = openColumnar(t, arrowSchema);
      }
      if (w != null) {
        // The columnar writer encodes straight from the vectors; check what it would find half-way
        // first, so a rejected batch leaves nothing behind (it may then be dead-lettered).
        checkRequiredColumns(root, t.schema());
        try {
          w.write(root, p.converter);
        } catch (ValidationException e) {
          // Rejected half-way (a nested required null, an overflow, or an earlier batch's failure
          // on an encoder thread): never set aside as a dead letter.
          throw halfWritten(e);
        } catch (CrestException e) {
          throw e; // clustered mode: the message says what to change
        } catch (RuntimeException e) {
          throw halfWritten(e);
        }
        return;
      }
    }
    writeRows(t, root, p);
  }

  /**
   * Converts every row before writing any, so a rejected batch leaves nothing in the open files.
   * The records are reused across batches: the file writers encode a record before write()
   * returns.
   */
  private void writeRows(Table t, VectorSchemaRoot root, Prepared p) {
    int rows = root.getRowCount();
    if (rowBuffer.length < rows) {
      rowBuffer = Arrays.copyOf(rowBuffer, rows);
      deleteBuffer = new boolean[rows];
    }
    VarCharVector ops = p.opOrdinal < 0 ? null : (VarCharVector) root.getVector(p.opOrdinal);
    for (int i = 0; i < rows; i++) {
      if (rowBuffer[i] == null) {
        rowBuffer[i] = GenericRecord.create(t.schema());
      }
      p.converter.fill(root, i, rowBuffer[i]);
      deleteBuffer[i] = ops != null && OpColumn.isDelete(ops, i);
    }
    if (settings.keyedByIndex(t.schema())) {
      keyedWriter(t).write(t, rowBuffer, deleteBuffer, rows);
      return;
    }
    if (generic != null && generic.schemaId() != t.schema().schemaId()) {
      roll();
    }
    if (generic == null) {
      generic = new GenericRows(t, tableName, settings);
    }
    generic.write(rowBuffer, deleteBuffer, rows);
  }

  private KeyedWriter keyedWriter(Table t) {
    if (keyed == null) {
      keyed = new KeyedWriter(tableName, pipelineId, branch,
          KeyCodec.of(t.schema(), settings.strategy().keyColumns(), tableName),
          settings.keyIndexBytes(), settings.maxDeletedRatio());
    }
    if (keyIndexStale && !keyed.isOpen()) {
      keyIndexStale = false;
      keyed.forgetIndex();
    }
    return keyed;
  }

  /**
   * Upserts a batch through the key index with Crest's columnar writer, the op column (if any)
   * left out. Returns false, having written nothing, when the columnar writer cannot write the
   * table (the rows then go through Iceberg's generic writer from now on).
   */
  private boolean writeKeyed(Table t, VectorSchemaRoot root, Prepared p) {
    KeyedWriter k = keyedWriter(t);
    VectorSchemaRoot batch = root;
    if (p.opOrdinal >= 0) {
      List<FieldVector> vectors = new ArrayList<>(root.getFieldVectors());
      vectors.remove(p.opOrdinal);
      batch = new VectorSchemaRoot(vectors); // shares the vectors: never closed here
      batch.setRowCount(root.getRowCount());
    }
    String unsupported = k.openColumnar(t, batch.getSchema(), columnar.pool(t),
        settings.maxOpenFiles());
    if (unsupported != null) {
      columnarUnsupported = true;
      LOG.warn("Writing the upserts of {} through Iceberg's generic writer: {}", tableName,
          unsupported);
      return false;
    }
    checkRequiredColumns(batch, t.schema());
    k.checkKeys(batch);
    boolean[] deletes = null;
    if (p.opOrdinal >= 0) {
      VarCharVector ops = (VarCharVector) root.getVector(p.opOrdinal);
      int rows = root.getRowCount();
      if (deleteBuffer.length < rows) {
        deleteBuffer = new boolean[rows];
      }
      deletes = deleteBuffer;
      for (int i = 0; i < rows; i++) {
        deletes[i] = OpColumn.isDelete(ops, i);
      }
    }
    try {
      k.write(t, batch, p.withoutOps, deletes);
    } catch (CrestException e) {
      throw e;
    } catch (RuntimeException e) {
      throw halfWritten(e);
    }
    return true;
  }

  /**
   * Checks, without writing or changing anything, whether batches of {@code arrowSchema} would be
   * accepted. Any thread.
   *
   * @throws ValidationException if they would be rejected
   */
  public void checkSchema(Schema arrowSchema) {
    org.apache.iceberg.Schema current = tableSchema;
    if (current == null) {
      List<Field> fields = arrowSchema.getFields().stream()
          .filter(f -> !ignoredColumns.contains(f.getName())).toList();
      ArrowSchemas.toIceberg(new Schema(fields), tableName); // the table would be made from it
      return;
    }
    SchemaReconciler.check(arrowSchema, current, ignoredColumns, settings.evolution(), tableName);
  }

  /**
   * Closes every open file and returns what was written since the last call with {@code
   * positions}: a committable with no files when nothing was written (it only moves positions).
   */
  public TableCommittable prepare(Map<String, SourcePosition> positions) {
    roll();
    List<FileGroup> groups = new ArrayList<>();
    groups.add(new FileGroup(appended, List.of()));
    groups.addAll(deltas);
    appended.clear();
    deltas.clear();
    boolean keyedFlush = false;
    if (keyed != null && keyed.isOpen()) {
      long started = System.nanoTime();
      // The deletes are resolved against the table with every earlier flush: once they are all
      // committed, or while the last one still is, against the table plus its files.
      boolean ahead = awaitEarlierCommits(1) == 1 && lastPreparedKeyed;
      table.refresh();
      if (ahead && !keyed.canFinishAhead(table, lastEndedCommit())) {
        ahead = false;
      }
      if (!ahead) {
        awaitEarlierCommits(0);
        table.refresh();
      }
      tableSchema = table.schema();
      long refreshed = System.nanoTime();
      KeyedWriter.Flush flush = keyed.finish(table, ahead);
      if (LOG.isDebugEnabled()) {
        LOG.debug("Keyed flush of {}: waited and refreshed {} ms ({}), deletes {} ms", tableName,
            (refreshed - started) / 1_000_000, ahead ? "ahead of the previous commit"
                : "after every earlier commit", (System.nanoTime() - refreshed) / 1_000_000);
      }
      groups.add(new FileGroup(flush.dataFiles(), flush.deleteFiles(),
          flush.rewrittenDeleteFiles(), flush.referencedDataFiles(), flush.baseSnapshotId(),
          flush.redo(), flush.rewrittenDataFiles(), flush.removedDataFiles(), flush.ahead()));
      keyedFlush = true;
    }
    synchronized (commits) {
      preparedCommits++;
      lastPreparedKeyed = keyedFlush;
    }
    return TableCommittable.of(groups, positions);
  }

  /**
   * Tells the writer that rows moved under its key index (a commit's deletes had to be resolved
   * again): the index starts over, and keys are found in the table again. Any thread.
   */
  public void keyIndexStale() {
    keyIndexStale = true;
  }

  /**
   * Tells the writer that the commit of a committable it prepared ended: committed, failed or
   * aborted. Any thread (the committer's).
   */
  public void commitEnded(boolean committed) {
    commitEnded(committed, null);
  }

  /**
   * As {@link #commitEnded(boolean)}, with the commit as the committer made it (null when it did
   * not land), which a keyed flush resolved ahead of it checks its assumption against.
   */
  public void commitEnded(boolean committed, KeyedWriter.Committed commit) {
    synchronized (commits) {
      endedCommits++;
      commitFailed |= !committed;
      lastEnded = committed ? commit : null;
      commits.notifyAll();
    }
  }

  private KeyedWriter.Committed lastEndedCommit() {
    synchronized (commits) {
      return lastEnded;
    }
  }

  /**
   * Waits until at most {@code pending} committables prepared before are not committed yet, and
   * returns how many are. The committer ends each one (committed, failed or aborted), so this
   * returns or throws; it never waits on a commit that failed.
   */
  private long awaitEarlierCommits(int pending) {
    synchronized (commits) {
      boolean interrupted = false;
      while (endedCommits + pending < preparedCommits && !commitFailed) {
        try {
          commits.wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
      if (commitFailed) {
        throw new CrestException("Cannot prepare the upserts of table " + tableName
            + ": an earlier commit failed, so their deletes cannot be resolved (the pipeline"
            + " stops; a restart reads the rows again)");
      }
      return preparedCommits - endedCommits;
    }
  }

  /** Discards open and unprepared files and releases the encoders. Safe to call twice. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    CrestException failure = null;
    try {
      try {
        columnar.close(); // deletes the files it never returned
      } finally {
        if (keyed != null && keyed.isOpen()) {
          keyed.abandon();
        }
        roll();
        // written but never prepared: nobody references them
        deleteFiles(appended);
        deltas.forEach(g -> {
          deleteFiles(g.data());
          deleteFiles(g.deletes());
        });
        appended.clear();
        deltas.clear();
      }
    } catch (RuntimeException e) {
      failure = new CrestException(
          "Cannot discard the uncommitted files of table " + tableName + ": " + e.getMessage(), e);
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Closes the open files into the pending list. For upserts, the files so far become a group of
   * their own, committed as its own row delta before the next one (in the same transaction): its
   * equality deletes must not meet rows written after them.
   */
  private void roll() {
    appended.addAll(columnar.complete());
    if (generic != null) {
      GenericRows g = generic;
      generic = null;
      for (FileGroup group : g.finish()) {
        if (settings.upsert()) {
          deltas.add(group);
        } else {
          appended.addAll(group.data());
        }
      }
    }
  }

  private Table ensureTable(Schema arrowSchema) {
    if (table == null) {
      useTable(TableCreation.create(catalog, identifier, arrowSchema, ignoredColumns,
          settings.partitionBy(), settings.sortBy(), settings.creationProperties(),
          settings.location()));
    } else {
      long committed = committedVersion;
      if (committed != -1 && committed != version(table)) {
        table.refresh(); // another writer changed the schema or spec
        tableSchema = table.schema();
      }
    }
    return table;
  }

  private void useTable(Table t) {
    prepareForShutdownCommits(t);
    table = t;
    tableSchema = t.schema();
  }

  private static long version(Table t) {
    return ((long) t.schema().schemaId() << 32) | (t.spec().specId() & 0xFFFFFFFFL);
  }

  /**
   * Reconciles the batch schema with the table's, then builds the converter for the pair. Checks
   * come before changes: the op column first, then the schema evolution (which may commit).
   */
  private Prepared prepare(Table t, Schema arrowSchema) {
    int opOrdinal = -1;
    if (settings.strategy().opColumn().isPresent()) {
      opOrdinal = OpColumn.ordinal(arrowSchema, settings.strategy().opColumn().get(), tableName,
          settings.strategy().name());
    }
    t.refresh(); // pick up schema changes made by others before comparing
    SchemaReconciler.reconcile(t, arrowSchema, ignoredColumns, settings.evolution(), tableName);
    tableSchema = t.schema();
    if (settings.upsert()) {
      checkUpsertKeys(t);
    }
    if (columnar.writer() != null && t.spec().isPartitioned()) {
      try {
        ArrowPartitioner.create(t.schema(), t.spec(), arrowSchema);
      } catch (IllegalArgumentException e) {
        roll();
        columnarUnsupported = true;
        LOG.warn("Writing {} through Iceberg's generic writer from now on: {}", tableName,
            e.getMessage());
      }
    }
    ArrowRecords.Converter converter =
        ArrowRecords.converter(t.schema(), arrowSchema, tableName, ignoredColumns);
    ArrowRecords.Converter withoutOps = converter;
    if (opOrdinal >= 0) {
      List<Field> fields = new ArrayList<>(arrowSchema.getFields());
      fields.remove(opOrdinal);
      withoutOps = ArrowRecords.converter(t.schema(), new Schema(fields), tableName, Set.of());
    }
    rowBuffer = new Record[0]; // records of another schema must not be reused
    deleteBuffer = new boolean[0];
    return new Prepared(arrowSchema, t.schema().schemaId(), converter, opOrdinal, withoutOps);
  }

  /** Whether upserts go through the key index and the columnar writer. */
  private boolean keyedColumnar(Table t) {
    return !settings.genericWriter() && !columnarUnsupported && settings.keyedByIndex(t.schema())
        && FileFormat.PARQUET.name().equalsIgnoreCase(t.properties().getOrDefault(
            TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
  }

  private boolean useColumnar(Table t) {
    return !settings.genericWriter() && !settings.upsert() && !columnarUnsupported
        && FileFormat.PARQUET.name().equalsIgnoreCase(t.properties().getOrDefault(
            TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
  }

  private ArrowTableWriter openColumnar(Table t, Schema arrowSchema) {
    try {
      return columnar.open(t, arrowSchema);
    } catch (IllegalArgumentException e) {
      // A codec, type, setting or partition transform the columnar writer does not handle:
      // Iceberg's writer does.
      columnarUnsupported = true;
      LOG.warn("Writing {} through Iceberg's generic writer: {}", tableName, e.getMessage());
      return null;
    }
  }

  /**
   * A batch the columnar writer rejected half-way: the open file holds part of it next to the
   * good batches of this flush, so it cannot be set aside; the pipeline stops and nothing of the
   * flush is committed.
   */
  private CrestException halfWritten(RuntimeException e) {
    return new CrestException("Cannot write batch to table " + tableName + ": " + e.getMessage()
        + " (the flush is discarded; a restart reads it again)", e);
  }

  /** Rejects a batch with a null in a required top-level column, naming the first such row. */
  private void checkRequiredColumns(VectorSchemaRoot root, org.apache.iceberg.Schema schema) {
    for (Types.NestedField column : schema.columns()) {
      if (!column.isRequired()) {
        continue;
      }
      FieldVector vector = root.getVector(column.name());
      if (vector != null && vector.getNullCount() > 0) {
        int row = 0;
        while (!vector.isNull(row)) {
          row++;
        }
        throw new ValidationException(String.format(
            "Cannot write batch to table %s: column '%s' is required but row %d is null",
            tableName, column.name(), row));
      }
    }
  }

  /** Checks the key columns of an upsert against the table, with the layout checks. */
  private void checkUpsertKeys(Table t) {
    for (String key : settings.strategy().keyColumns()) {
      if (t.schema().findField(key) == null) {
        throw new ValidationException(
            "Cannot upsert into table " + tableName + ": key column '" + key
                + "' is not in the table (columns: " + t.schema().columns().stream()
                    .map(Types.NestedField::name).toList() + ")");
      }
    }
    checkUpsertLayout(t);
  }

  /**
   * Checks what an existing table must be for upserts: format version 2 or later, and partitioned
   * only by key columns (so a key never moves between partitions).
   */
  private void checkUpsertLayout(Table t) {
    if (GenericRows.formatVersion(t) < 2) {
      throw new ValidationException(
          "Cannot upsert into table " + tableName + ": it has format version 1, and upserts need"
              + " row-level deletes (format version 2 or later; upgrade it with"
              + " table.updateProperties().set(\"format-version\", \"2\"))");
    }
    Set<Integer> keyIds = new HashSet<>();
    for (String key : settings.strategy().keyColumns()) {
      Types.NestedField field = t.schema().findField(key);
      if (field != null) {
        keyIds.add(field.fieldId());
      }
    }
    for (PartitionField pf : settings.keyedByIndex(t.schema()) ? List.<PartitionField>of()
        : t.spec().fields()) {
      if (!keyIds.contains(pf.sourceId())) {
        throw new ValidationException(
            "Cannot upsert into table " + tableName + " on keys "
                + settings.strategy().keyColumns() + ": partition field " + pf.name()
                + " comes from column '" + t.schema().findColumnName(pf.sourceId())
                + "', which is not a key (add it to the keys, so a key never moves between"
                + " partitions)");
      }
    }
  }

  private void deleteFiles(List<? extends ContentFile<?>> files) {
    for (ContentFile<?> file : files) {
      table.io().deleteFile(file.location());
    }
  }

  /**
   * Makes the table's FileIO create its bulk-delete pool now. Like Iceberg's shared pools it
   * registers a JVM shutdown hook when first used, which fails if that first use is the clean-up
   * after a commit made while the JVM shuts down (a pipeline stopped from a shutdown hook).
   */
  public static void prepareForShutdownCommits(Table t) {
    if (t.io() instanceof SupportsBulkOperations) {
      ((SupportsBulkOperations) t.io()).deleteFiles(List.of());
    }
  }
}
