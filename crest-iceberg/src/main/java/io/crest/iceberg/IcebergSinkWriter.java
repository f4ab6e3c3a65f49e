package io.crest.iceberg;

import io.crest.CommitInfo;
import io.crest.CommitStrategy;
import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.errors.CrestException;
import io.crest.errors.PipelineFencedException;
import io.crest.errors.ValidationException;
import io.crest.iceberg.internal.ArrowPartitioner;
import io.crest.iceberg.internal.ArrowTableWriter;
import io.crest.iceberg.internal.ArrowRecords;
import io.crest.iceberg.internal.ArrowSchemas;
import io.crest.iceberg.internal.SchemaReconciler;
import io.crest.iceberg.internal.TableLayouts;
import io.crest.iceberg.internal.UpsertWriter;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.ReplacePartitions;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotAncestryValidator;
import org.apache.iceberg.SnapshotUpdate;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.io.ClusteredDataWriter;
import org.apache.iceberg.io.DataWriteResult;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.PartitioningWriter;
import org.apache.iceberg.io.WriteResult;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.JsonUtil;
import org.apache.iceberg.util.PropertyUtil;
import org.apache.iceberg.util.SnapshotUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipeline run's writer for an Iceberg table.
 *
 * <p>Writing: a batch's schema is reconciled with the table's under the sink's schema evolution
 * policy before anything of it is written; its rows are converted to Iceberg generic records
 * (every row before any is written, so a rejected batch leaves nothing behind) and written by
 * Iceberg's file writers: one open file per partition (or one at a time, for clustered input),
 * rolled at the table's target file size, or, for upserts, Iceberg's equality-delta writer.
 *
 * <p>Committing: one flush is one Iceberg transaction holding the strategy's snapshot operation
 * (fast append, partition replace, overwrite by filter, or row deltas) with Crest's state in the
 * snapshot summary and the {@code crest.state.<pipeline>} table property, fenced against other
 * copies of the pipeline and retried as {@link CommitRetry} says.
 *
 * <p>Threads follow {@link SinkWriter}: {@code write} and {@code prepareCommit} on the writer
 * thread, {@code commit} and {@code abort} on the committer thread. The table reference is shared
 * (volatile); everything else belongs to one of the two threads.
 */
final class IcebergSinkWriter implements SinkWriter {
  static final String SUMMARY_PIPELINE_ID = "crest.pipeline-id";
  static final String SUMMARY_COMMIT_ID = "crest.commit-id";
  static final String SUMMARY_POSITIONS = "crest.positions";
  static final String SUMMARY_SOURCE_INSTANCE = "crest.source-instance";
  /** Table property prefix holding each pipeline's latest state, which survives snapshot expiry. */
  static final String STATE_PROPERTY_PREFIX = "crest.state.";
  private static final String RESERVED_PREFIX = "crest.";

  private static final Logger LOG = LoggerFactory.getLogger(IcebergSink.class);
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final Catalog catalog;
  private final boolean ownsCatalog;
  private final TableIdentifier identifier;
  private final String tableName;
  private final SinkSettings settings;
  private final CommitStrategy strategy;
  private final boolean upsert;
  private final Set<String> ignoredColumns;
  private final String pipelineId;
  private final String sourceInstance;
  private final CommittedState restored;
  private volatile Table table;

  // Committer thread: the id of this pipeline's newest commit, which the next commit must follow.
  private String lastCommitId;
  // Manifest work of our commits runs here, not in Iceberg's shared pool, which a JVM shutdown
  // hook of Iceberg's own shuts down: a pipeline stopped from a shutdown hook can still commit.
  private final java.util.concurrent.ExecutorService commitPool =
      java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "crest-commit-manifests");
        t.setDaemon(true);
        return t;
      });

  // Writer thread.
  private Schema converterArrowSchema;
  private int converterSchemaId = -1;
  private ArrowRecords.Converter converter;
  private int opOrdinal = -1;
  private Record[] rowBuffer = new Record[0];
  private boolean[] deleteBuffer = new boolean[0];
  private PartitioningWriter<Record, DataWriteResult> dataWriter;
  private ArrowTableWriter columnar;
  // The columnar writers' buffers, kept from one commit's writers to the next's.
  private io.crest.writer.ParquetEncoderPool encoderPool;
  private long encoderPoolBudget;
  private long encodersReused;
  private long encodersBuilt;
  private boolean columnarUnsupported;
  private UpsertWriter upsertWriter;
  private int writerSchemaId = -1;
  private PartitionSpec writerSpec;
  private PartitionKey partitionKey;
  private InternalRecordWrapper partitionWrapper;
  private final Set<StructLike> openPartitions = new HashSet<>();
  private final List<FileGroup> pendingGroups = new ArrayList<>();
  private boolean closed;

  IcebergSinkWriter(
      Catalog catalog,
      boolean ownsCatalog,
      TableIdentifier identifier,
      SinkSettings settings,
      SinkContext context) {
    // Initialise Iceberg's thread pools now: their class registers a JVM shutdown hook when first
    // used, which fails if that first use is a commit made while the JVM shuts down (a pipeline
    // stopped from a shutdown hook).
    org.apache.iceberg.util.ThreadPools.getWorkerPool();
    org.apache.iceberg.util.ThreadPools.getDeleteWorkerPool();
    this.catalog = catalog;
    this.ownsCatalog = ownsCatalog;
    this.identifier = identifier;
    this.tableName = identifier.toString();
    this.settings = settings;
    this.strategy = settings.strategy();
    this.upsert = strategy.mode() == CommitStrategy.Mode.UPSERT;
    this.ignoredColumns = strategy.opColumn().map(Set::of).orElse(Set.of());
    this.pipelineId = context.pipelineId();
    this.sourceInstance = context.sourceInstance().orElse(null);
    this.table = catalog.tableExists(identifier) ? catalog.loadTable(identifier) : null;
    if (table != null) {
      prepareForShutdownCommits(table);
    }
    this.restored =
        table == null ? CommittedState.empty() : findState(table, settings.branch(), pipelineId);
    this.lastCommitId = restored.commitId().orElse(null);
  }

  @Override
  public CommittedState restoredState() {
    return restored;
  }

  // ---------------------------------------------------------------- writing (writer thread)

  @Override
  public void write(SourceBatch batch) {
    VectorSchemaRoot root = batch.root();
    Schema arrowSchema = root.getSchema();
    Table t = ensureTable(arrowSchema);
    if (converter == null
        || !arrowSchema.equals(converterArrowSchema)
        || converterSchemaId != t.schema().schemaId()) {
      prepareConverter(t, arrowSchema);
    }
    if (useColumnar(t)) {
      if (writerSchemaId != t.schema().schemaId()
          || (columnar != null && columnar.specId() != t.spec().specId())) {
        rollWriter();
      }
      if (columnar == null) {
        openColumnar(t, arrowSchema);
      }
      if (columnar != null) {
        // The columnar writer encodes straight from the vectors; check what it would find half-way
        // first, so a rejected batch leaves nothing behind (it may then be dead-lettered).
        checkRequiredColumns(root, t.schema());
        try {
          columnar.write(root, converter);
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
    int rows = root.getRowCount();
    // Convert every row before writing any, so a rejected batch leaves nothing in the open files
    // (it may then go to a dead-letter file and the pipeline goes on). The records are reused
    // across batches: the file writers encode a record before write() returns.
    if (rowBuffer.length < rows) {
      rowBuffer = Arrays.copyOf(rowBuffer, rows);
      deleteBuffer = new boolean[rows];
    }
    VarCharVector ops = opOrdinal < 0 ? null : (VarCharVector) root.getVector(opOrdinal);
    for (int i = 0; i < rows; i++) {
      if (rowBuffer[i] == null) {
        rowBuffer[i] = GenericRecord.create(t.schema());
      }
      converter.fill(root, i, rowBuffer[i]);
      deleteBuffer[i] = ops != null && isDelete(ops, i);
    }
    if (writerSchemaId != t.schema().schemaId()) {
      rollWriter();
    }
    if (dataWriter == null && upsertWriter == null) {
      openWriter(t);
    }
    try {
      for (int i = 0; i < rows; i++) {
        Record record = rowBuffer[i];
        if (upsert) {
          if (deleteBuffer[i]) {
            upsertWriter.delete(record);
          } else {
            upsertWriter.write(record);
          }
        } else if (writerSpec.isUnpartitioned()) {
          dataWriter.write(record, writerSpec, null);
        } else {
          partitionKey.partition(partitionWrapper.wrap(record));
          if (settings.maxOpenFiles() > 0
              && !settings.clustered()
              && !openPartitions.contains(partitionKey)) {
            if (openPartitions.size() >= settings.maxOpenFiles()) {
              rollWriter(); // close every open file rather than exceed the cap
              openWriter(t);
              // The new writer comes with a new, empty key: compute this row's partition again.
              partitionKey.partition(partitionWrapper.wrap(record));
            }
            openPartitions.add(partitionKey.copy());
          }
          dataWriter.write(record, writerSpec, partitionKey);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot write to table " + tableName + ": " + e.getMessage(), e);
    } catch (IllegalStateException e) {
      if (settings.clustered() && e.getMessage() != null && e.getMessage().contains("clustered")) {
        throw new CrestException(
            "Cannot write to table " + tableName + " in clustered mode: the rows of one flush are"
                + " not grouped by partition (" + e.getMessage() + "; sort the input by the"
                + " partition columns, or drop clustered())", e);
      }
      throw e;
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

  @Override
  public void checkSchema(Schema arrowSchema) {
    Table t = table; // volatile: this may run on any thread
    if (t == null) {
      List<Field> fields = arrowSchema.getFields().stream()
          .filter(f -> !ignoredColumns.contains(f.getName())).toList();
      ArrowSchemas.toIceberg(new Schema(fields), tableName); // the table would be made from it
      return;
    }
    SchemaReconciler.check(
        arrowSchema, t.schema(), ignoredColumns, settings.evolution(), tableName);
  }

  /**
   * Whether the op of {@code row} is {@code delete}, {@code d} or {@code -d}, ignoring ASCII case
   * and surrounding control characters and spaces (as {@code String.trim}), read from the bytes.
   */
  private static boolean isDelete(VarCharVector ops, int row) {
    if (ops.isNull(row)) {
      return false;
    }
    org.apache.arrow.memory.ArrowBuf data = ops.getDataBuffer();
    long start = ops.getStartOffset(row);
    long end = ops.getEndOffset(row);
    while (start < end && (data.getByte(start) & 0xFF) <= ' ') {
      start++;
    }
    while (end > start && (data.getByte(end - 1) & 0xFF) <= ' ') {
      end--;
    }
    return opIs(data, start, end, "delete") || opIs(data, start, end, "d")
        || opIs(data, start, end, "-d");
  }

  private static boolean opIs(org.apache.arrow.memory.ArrowBuf data, long start, long end,
      String lower) {
    if (end - start != lower.length()) {
      return false;
    }
    for (int i = 0; i < lower.length(); i++) {
      int b = data.getByte(start + i);
      if ((b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private boolean useColumnar(Table t) {
    return !settings.genericWriter() && !upsert && !columnarUnsupported
        && FileFormat.PARQUET.name().equalsIgnoreCase(t.properties().getOrDefault(
            TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
  }

  private void openColumnar(Table t, Schema arrowSchema) {
    try {
      ArrowPartitioner partitioner = t.spec().isUnpartitioned()
          ? null : ArrowPartitioner.create(t.schema(), t.spec(), arrowSchema);
      long budget = encoderBudget(t);
      if (encoderPool == null || encoderPoolBudget != budget) {
        // new pool after a schema or settings change: the old encoders fit no writer any more
        closeEncoderPool();
        encoderPool = io.crest.writer.ParquetEncoderPool.create(io.crest.DataSize.bytes(budget));
        encoderPoolBudget = budget;
      }
      columnar = ArrowTableWriter.open(t, partitioner, settings.maxOpenFiles(),
          settings.clustered(), settings.encoderThreads(), TASK_IDS.incrementAndGet(),
          encoderPool);
      writerSchemaId = t.schema().schemaId();
    } catch (IllegalArgumentException e) {
      // A codec, type, setting or partition transform the columnar writer does not handle:
      // Iceberg's writer does.
      columnarUnsupported = true;
      LOG.warn("Writing {} through Iceberg's generic writer: {}", tableName, e.getMessage());
    }
  }

  /**
   * What the idle column encoders of one commit's writers may keep for the next: per encoder
   * thread (and one more for the settings check), a row group's column chunks with the slack of
   * their doubling buffers, and per leaf column its page buffers and a full dictionary. That is
   * what those writers held at their peak; the pool keeps no more than what they grew.
   */
  private long encoderBudget(Table t) {
    Map<String, String> props = t.properties();
    long rowGroup = longProperty(props, TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES,
        TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT);
    long page = longProperty(props, TableProperties.PARQUET_PAGE_SIZE_BYTES,
        TableProperties.PARQUET_PAGE_SIZE_BYTES_DEFAULT);
    long dict = longProperty(props, TableProperties.PARQUET_DICT_SIZE_BYTES,
        TableProperties.PARQUET_DICT_SIZE_BYTES_DEFAULT);
    long leaves = org.apache.iceberg.types.TypeUtil.indexById(t.schema().asStruct()).values()
        .stream().filter(f -> f.type().isPrimitiveType()).count();
    long perWriter = 2 * rowGroup + leaves * (4 * page + 2 * dict);
    return perWriter * (settings.encoderThreads() + 1);
  }

  private static long longProperty(Map<String, String> props, String name, long fallback) {
    try {
      return Math.max(0, org.apache.iceberg.util.PropertyUtil.propertyAsLong(props, name,
          fallback));
    } catch (NumberFormatException e) {
      return fallback; // the writer's settings check names the malformed property
    }
  }

  private void closeEncoderPool() {
    if (encoderPool != null) {
      encodersReused += encoderPool.reusedCount();
      encodersBuilt += encoderPool.builtCount();
      encoderPool.close();
      encoderPool = null;
    }
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

  /** Reconciles the batch schema with the table's, then builds the converter for the pair. */
  private void prepareConverter(Table t, Schema arrowSchema) {
    t.refresh(); // pick up schema changes made by others before comparing
    SchemaReconciler.reconcile(
        t, arrowSchema, ignoredColumns, settings.evolution(), tableName);
    if (upsert) {
      checkUpsertKeys(t);
    }
    opOrdinal = -1;
    if (strategy.opColumn().isPresent()) {
      String op = strategy.opColumn().get();
      List<Field> fields = arrowSchema.getFields();
      for (int i = 0; i < fields.size(); i++) {
        if (fields.get(i).getName().equals(op)) {
          opOrdinal = i;
        }
      }
      if (opOrdinal < 0 || !(fields.get(opOrdinal).getType() instanceof ArrowType.Utf8)) {
        throw new ValidationException(
            "Cannot write batch to table " + tableName + ": strategy " + strategy.name()
                + " needs op column '" + op + "' as an Arrow Utf8 (string) column, but the batch "
                + (opOrdinal < 0 ? "has no such column" : "has it as " + fields.get(opOrdinal).getType()));
      }
    }
    if (columnar != null && t.spec().isPartitioned()) {
      try {
        ArrowPartitioner.create(t.schema(), t.spec(), arrowSchema);
      } catch (IllegalArgumentException e) {
        rollWriter();
        columnarUnsupported = true;
        LOG.warn("Writing {} through Iceberg's generic writer from now on: {}", tableName,
            e.getMessage());
      }
    }
    converter = ArrowRecords.converter(t.schema(), arrowSchema, tableName, ignoredColumns);
    converterArrowSchema = arrowSchema;
    converterSchemaId = t.schema().schemaId();
    rowBuffer = new Record[0]; // records of another schema must not be reused
    deleteBuffer = new boolean[0];
  }

  private void checkUpsertKeys(Table t) {
    if (formatVersion(t) < 2) {
      throw new ValidationException(
          "Cannot upsert into table " + tableName + ": it has format version 1, and upserts need"
              + " row-level deletes (format version 2 or later)");
    }
    Set<Integer> keyIds = new HashSet<>();
    for (String key : strategy.keyColumns()) {
      Types.NestedField field = t.schema().findField(key);
      if (field == null) {
        throw new ValidationException(
            "Cannot upsert into table " + tableName + ": key column '" + key
                + "' is not in the table (columns: " + t.schema().columns().stream()
                    .map(Types.NestedField::name).toList() + ")");
      }
      keyIds.add(field.fieldId());
    }
    for (org.apache.iceberg.PartitionField pf : t.spec().fields()) {
      if (!keyIds.contains(pf.sourceId())) {
        throw new ValidationException(
            "Cannot upsert into table " + tableName + " on keys " + strategy.keyColumns()
                + ": partition field " + pf.name() + " comes from column '"
                + t.schema().findColumnName(pf.sourceId()) + "', which is not a key (add it to the"
                + " keys, so a key never moves between partitions)");
      }
    }
  }

  private static int formatVersion(Table t) {
    return t instanceof HasTableOperations
        ? ((HasTableOperations) t).operations().current().formatVersion()
        : 2;
  }

  private void openWriter(Table t) {
    FileFormat format =
        FileFormat.fromString(
            t.properties().getOrDefault(
                TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
    long targetFileSize =
        PropertyUtil.propertyAsLong(
            t.properties(),
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    OutputFileFactory fileFactory =
        OutputFileFactory.builderFor(t, 1, TASK_IDS.incrementAndGet())
            .format(format)
            .operationId(UUID.randomUUID().toString())
            .build();
    writerSpec = t.spec();
    writerSchemaId = t.schema().schemaId();
    if (upsert) {
      org.apache.iceberg.Schema keySchema = TypeUtil.select(t.schema(), keyIds(t));
      int[] equalityIds = keySchema.columns().stream().mapToInt(Types.NestedField::fieldId).toArray();
      GenericFileWriterFactory factory =
          new GenericFileWriterFactory.Builder(t)
              .dataFileFormat(format)
              .dataSchema(t.schema())
              .deleteFileFormat(format)
              .equalityFieldIds(equalityIds)
              .equalityDeleteRowSchema(keySchema)
              .build();
      upsertWriter = new UpsertWriter(writerSpec, format, factory, fileFactory, t.io(),
          targetFileSize, t.schema(), keySchema, formatVersion(t) >= 3);
      return;
    }
    GenericFileWriterFactory factory =
        new GenericFileWriterFactory.Builder(t).dataFileFormat(format).dataSchema(t.schema()).build();
    dataWriter = settings.clustered()
        ? new ClusteredDataWriter<>(factory, fileFactory, t.io(), targetFileSize)
        : new FanoutDataWriter<>(factory, fileFactory, t.io(), targetFileSize);
    partitionKey = new PartitionKey(writerSpec, t.schema());
    partitionWrapper = new InternalRecordWrapper(t.schema().asStruct());
    openPartitions.clear();
  }

  private Set<Integer> keyIds(Table t) {
    Set<Integer> ids = new HashSet<>();
    for (String key : strategy.keyColumns()) {
      ids.add(t.schema().findField(key).fieldId());
    }
    return ids;
  }

  /**
   * Closes the open files into the pending list. For upserts, the files so far become a group of
   * their own, committed as its own row delta before the next one (in the same transaction): its
   * equality deletes must not meet rows written after them.
   */
  private void rollWriter() {
    if (columnar != null) {
      ArrowTableWriter w = columnar;
      columnar = null;
      List<DataFile> files;
      try {
        files = w.complete();
      } finally {
        w.close();
      }
      if (pendingGroups.isEmpty()) {
        pendingGroups.add(new FileGroup(new ArrayList<>(), new ArrayList<>()));
      }
      pendingGroups.get(0).data.addAll(files);
    }
    if (dataWriter != null) {
      PartitioningWriter<Record, DataWriteResult> w = dataWriter;
      dataWriter = null;
      try {
        w.close();
      } catch (IOException e) {
        throw new UncheckedIOException(
            "Cannot close data files of table " + tableName + ": " + e.getMessage(), e);
      }
      if (pendingGroups.isEmpty()) {
        pendingGroups.add(new FileGroup(new ArrayList<>(), new ArrayList<>()));
      }
      pendingGroups.get(0).data.addAll(w.result().dataFiles());
    }
    if (upsertWriter != null) {
      UpsertWriter w = upsertWriter;
      upsertWriter = null;
      WriteResult result = w.finish();
      pendingGroups.add(new FileGroup(
          new ArrayList<>(Arrays.asList(result.dataFiles())),
          new ArrayList<>(Arrays.asList(result.deleteFiles()))));
    }
    writerSchemaId = -1;
  }

  @Override
  public Committable prepareCommit(Map<String, SourcePosition> positions) {
    rollWriter();
    List<FileGroup> groups = new ArrayList<>();
    for (FileGroup g : pendingGroups) {
      if (!g.data.isEmpty() || !g.deletes.isEmpty()) {
        groups.add(new FileGroup(List.copyOf(g.data), List.copyOf(g.deletes)));
      }
    }
    pendingGroups.clear();
    if (groups.isEmpty()) {
      return null;
    }
    return new IcebergCommittable(UUID.randomUUID().toString(), groups, positions);
  }

  private Table ensureTable(Schema arrowSchema) {
    Table t = table;
    if (t != null) {
      return t;
    }
    List<Field> fields = arrowSchema.getFields().stream()
        .filter(f -> !ignoredColumns.contains(f.getName())).toList();
    org.apache.iceberg.Schema schema =
        ArrowSchemas.toIceberg(new Schema(fields, arrowSchema.getCustomMetadata()), tableName);
    PartitionSpec spec = TableLayouts.partitionSpec(schema, settings.partitionBy(), tableName);
    org.apache.iceberg.SortOrder order = TableLayouts.sortOrder(schema, settings.sortBy(), tableName);
    if (catalog instanceof SupportsNamespaces) {
      SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
      if (!namespaces.namespaceExists(identifier.namespace())) {
        try {
          // A mutable map: Iceberg's REST client fails on an immutable empty one.
          namespaces.createNamespace(identifier.namespace(), new HashMap<>());
        } catch (AlreadyExistsException e) {
          // created concurrently by another writer: fine
        }
      }
    }
    Map<String, String> properties = new HashMap<>(settings.tableProperties());
    if (needsFormatV3(schema) && !properties.containsKey(TableProperties.FORMAT_VERSION)) {
      // timestamp_ns exists only from format v3 on; the alternative would lose precision.
      properties.put(TableProperties.FORMAT_VERSION, "3");
      LOG.info("Creating {} with format-version 3: it has nanosecond timestamps", tableName);
    }
    try {
      Catalog.TableBuilder builder = catalog.buildTable(identifier, schema)
          .withPartitionSpec(spec)
          .withSortOrder(order)
          .withProperties(properties);
      if (settings.location() != null) {
        builder = builder.withLocation(settings.location());
      }
      t = builder.create();
      LOG.info("Created table {} with schema {}, partitioned by {}", tableName, t.schema(),
          t.spec());
    } catch (AlreadyExistsException e) {
      t = catalog.loadTable(identifier);
    }
    prepareForShutdownCommits(t);
    table = t;
    return t;
  }

  /**
   * Makes the table's FileIO create its bulk-delete pool now. Like Iceberg's shared pools it
   * registers a JVM shutdown hook when first used, which fails if that first use is the clean-up
   * after a commit made while the JVM shuts down (a pipeline stopped from a shutdown hook).
   */
  private static void prepareForShutdownCommits(Table t) {
    if (t.io() instanceof org.apache.iceberg.io.SupportsBulkOperations) {
      ((org.apache.iceberg.io.SupportsBulkOperations) t.io()).deleteFiles(List.of());
    }
  }

  private static boolean needsFormatV3(org.apache.iceberg.Schema schema) {
    return TypeUtil.find(schema, type -> type.typeId() == Type.TypeID.TIMESTAMP_NANO) != null;
  }

  // ---------------------------------------------------------------- committing (committer thread)

  @Override
  public CommitResult commit(Committable committable) {
    IcebergCommittable c = (IcebergCommittable) committable;
    long start = System.nanoTime();
    Snapshot snapshot = commitWithRetries(c);
    lastCommitId = c.commitId;
    long millis = (System.nanoTime() - start) / 1_000_000;
    LOG.info("Committed {} rows in {} files ({} delete files, {} bytes) to {} as snapshot {} in {}"
        + " ms ({}, pipeline {})", c.rows, c.fileCount, c.deleteFileCount, c.bytes, tableName,
        snapshot.snapshotId(), millis, strategy.name(), pipelineId);
    return CommitResult.of("snapshot " + snapshot.snapshotId());
  }

  /**
   * Commits with Crest's retries on top of Iceberg's own: a conflict that outlasts Iceberg's
   * retries is tried again after a jittered, growing pause; an unknown outcome is resolved by
   * looking for the commit id, and retried only when the commit is not in the table. Every attempt
   * carries the same commit id and the fencing check, so no attempt can land twice or after
   * another copy of the pipeline.
   */
  private Snapshot commitWithRetries(IcebergCommittable c) {
    Map<String, String> extra = strategyProperties(c);
    CommitRetry retry = settings.retry();
    RuntimeException last = null;
    for (int attempt = 1; attempt <= retry.maxAttempts(); attempt++) {
      if (attempt > 1) {
        retry.pause(attempt - 1);
      }
      Table t = table;
      Fence fence = new Fence(c.commitId);
      try {
        t.refresh();
        commitOnce(t, c, fence, extra);
        return findSnapshot(t, settings.branch(), c.commitId);
      } catch (org.apache.iceberg.exceptions.ValidationException e) {
        if (fence.alreadyCommitted) {
          // An earlier attempt whose outcome was unknown did land.
          return findSnapshot(refreshed(t), settings.branch(), c.commitId);
        }
        if (fence.fenced) {
          throw new PipelineFencedException(
              "Cannot commit " + c.fileCount + " files to table " + tableName + ": pipeline "
                  + pipelineId + " was fenced, commit " + fence.foundCommitId + " of another copy"
                  + " of this pipeline landed "
                  + (lastCommitId == null ? "before this copy's first commit"
                      : "after commit " + lastCommitId + " that this copy continued from")
                  + " (stop this copy: only one copy of a pipeline id may run)", e);
        }
        throw new CommitFailedException(
            "Cannot commit " + c.fileCount + " files to table " + tableName + " ("
                + strategy.name() + "): " + e.getMessage(), e);
      } catch (org.apache.iceberg.exceptions.CommitFailedException e) {
        last = e;
        LOG.warn("Commit {} to {} conflicted (attempt {} of {}): {}",
            c.commitId, tableName, attempt, retry.maxAttempts(), e.getMessage());
      } catch (org.apache.iceberg.exceptions.CommitStateUnknownException e) {
        last = e;
        Snapshot landed = lookUp(t, c.commitId);
        if (landed != null) {
          LOG.warn("Commit {} to {} reported an unknown state but landed as snapshot {}",
              c.commitId, tableName, landed.snapshotId());
          return landed;
        }
        LOG.warn("Commit {} to {} has an unknown state and is not in the table (attempt {} of {});"
            + " trying again with the same files", c.commitId, tableName, attempt,
            retry.maxAttempts());
      }
    }
    if (last instanceof org.apache.iceberg.exceptions.CommitStateUnknownException) {
      throw new CommitStateUnknownException(
          "Cannot tell whether commit " + c.commitId + " reached table " + tableName + " after "
              + retry.maxAttempts() + " attempts: " + last.getMessage() + " (files kept; a restart"
              + " resumes from what the table really holds)", last);
    }
    throw new CommitFailedException(
        "Cannot commit " + c.fileCount + " files (" + c.rows + " rows) to table " + tableName
            + " after " + retry.maxAttempts() + " attempts: " + last.getMessage()
            + " (the files are deleted; a restart reads the rows again)", last);
  }

  /** The strategy's own snapshot properties; a failing strategy stops the commit, cleanly. */
  private Map<String, String> strategyProperties(IcebergCommittable c) {
    Map<String, String> extra;
    try {
      extra = strategy.snapshotProperties(
          new CommitInfo(pipelineId, tableName, c.commitId, c.rows, c.fileCount, c.positions));
    } catch (RuntimeException e) {
      throw new CommitFailedException(
          "Cannot commit to table " + tableName + ": commit strategy " + strategy.name()
              + " failed to give its snapshot properties: " + e.getMessage()
              + " (nothing was committed)", e);
    }
    if (extra == null) {
      return Map.of();
    }
    for (String key : extra.keySet()) {
      if (key == null || key.startsWith(RESERVED_PREFIX)) {
        throw new CommitFailedException(
            "Cannot commit to table " + tableName + ": commit strategy " + strategy.name()
                + " sets snapshot property '" + key + "', and names starting with '"
                + RESERVED_PREFIX + "' are Crest's (nothing was committed)", null);
      }
    }
    return Map.copyOf(extra);
  }

  /** One atomic metadata commit: the strategy's operation(s) with the summary, and the state. */
  private void commitOnce(
      Table t, IcebergCommittable c, Fence fence, Map<String, String> extra) {
    String positions = encodePositions(c.positions);
    Transaction tx = t.newTransaction();
    List<SnapshotUpdate<?>> ops = operations(tx, c);
    for (int i = 0; i < ops.size(); i++) {
      SnapshotUpdate<?> op = ops.get(i);
      if (i == 0) {
        op.validateWith(fence);
      }
      if (i == ops.size() - 1) {
        extra.forEach(op::set);
        op.set(SUMMARY_PIPELINE_ID, pipelineId);
        op.set(SUMMARY_COMMIT_ID, c.commitId);
        op.set(SUMMARY_POSITIONS, positions);
        if (sourceInstance != null) {
          op.set(SUMMARY_SOURCE_INSTANCE, sourceInstance);
        }
      }
      if (settings.branch() != null) {
        op.toBranch(settings.branch());
      }
      op.scanManifestsWith(commitPool);
      op.writeManifestsWith(commitPool, 2);
      op.commit();
    }
    tx.updateProperties()
        .set(STATE_PROPERTY_PREFIX + pipelineId, encodeState(c.commitId, positions, sourceInstance))
        .commit();
    tx.commitTransaction();
  }

  /** The snapshot operations of one commit, in order, inside {@code tx}. */
  private List<SnapshotUpdate<?>> operations(Transaction tx, IcebergCommittable c) {
    List<SnapshotUpdate<?>> ops = new ArrayList<>();
    switch (strategy.mode()) {
      case UPSERT:
        for (FileGroup g : c.groups) {
          RowDelta delta = tx.newRowDelta();
          g.data.forEach(delta::addRows);
          g.deletes.forEach(delta::addDeletes);
          ops.add(delta);
        }
        break;
      case OVERWRITE_PARTITIONS:
        ReplacePartitions replace = tx.newReplacePartitions();
        c.groups.forEach(g -> g.data.forEach(replace::addFile));
        ops.add(replace);
        break;
      case OVERWRITE_BY_FILTER:
        if (!(strategy instanceof IcebergCommitStrategies.OverwriteByFilter)) {
          throw new CommitFailedException(
              "Cannot commit to table " + tableName + ": strategy " + strategy.name()
                  + " asks for OVERWRITE_BY_FILTER but gives no Iceberg filter (use"
                  + " IcebergCommitStrategies.overwriteByFilter)", null);
        }
        OverwriteFiles overwrite = tx.newOverwrite()
            .overwriteByRowFilter(((IcebergCommitStrategies.OverwriteByFilter) strategy).filter());
        c.groups.forEach(g -> g.data.forEach(overwrite::addFile));
        ops.add(overwrite);
        break;
      default:
        AppendFiles append = tx.newFastAppend();
        c.groups.forEach(g -> g.data.forEach(append::appendFile));
        ops.add(append);
    }
    return ops;
  }

  private Snapshot lookUp(Table t, String commitId) {
    try {
      return findSnapshot(refreshed(t), settings.branch(), commitId);
    } catch (RuntimeException e) {
      LOG.warn("Cannot read table {} to resolve commit {}: {}", tableName, commitId, e.getMessage());
      return null;
    }
  }

  private static Table refreshed(Table t) {
    t.refresh();
    return t;
  }

  /**
   * The fencing check, run by Iceberg against the refreshed table on every attempt: the newest
   * snapshot of this pipeline in the branch's history must be the commit this copy continued
   * from. It also tells an attempt that an earlier attempt of the same commit already landed.
   */
  private final class Fence implements SnapshotAncestryValidator {
    private final String commitId;
    volatile boolean alreadyCommitted;
    volatile boolean fenced;
    volatile String foundCommitId;

    Fence(String commitId) {
      this.commitId = commitId;
    }

    @Override
    public boolean validate(Iterable<Snapshot> ancestry) {
      alreadyCommitted = false;
      fenced = false;
      for (Snapshot snapshot : ancestry) {
        Map<String, String> summary = snapshot.summary();
        if (pipelineId.equals(summary.get(SUMMARY_PIPELINE_ID))) {
          String found = summary.get(SUMMARY_COMMIT_ID);
          if (commitId.equals(found)) {
            alreadyCommitted = true;
            return false;
          }
          if (found != null && found.equals(lastCommitId)) {
            return true;
          }
          fenced = true;
          foundCommitId = found;
          return false;
        }
      }
      // No commit of this pipeline in the history Iceberg still has: right when it never
      // committed; otherwise its commits expired and the fence cannot be checked here.
      return true;
    }

    @Override
    public String errorMessage() {
      return alreadyCommitted
          ? "commit " + commitId + " of pipeline " + pipelineId + " is already in the table"
          : "pipeline " + pipelineId + " committed " + foundCommitId
              + (lastCommitId == null ? " before this copy's first commit" : " after " + lastCommitId);
    }
  }

  @Override
  public void abort(Committable committable) {
    IcebergCommittable c = (IcebergCommittable) committable;
    deleteFiles(table, c.groups);
  }

  private static void deleteFiles(Table t, List<FileGroup> groups) {
    for (FileGroup g : groups) {
      for (ContentFile<?> file : g.data) {
        t.io().deleteFile(file.location());
      }
      for (ContentFile<?> file : g.deletes) {
        t.io().deleteFile(file.location());
      }
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    CrestException failure = null;
    try {
      if (columnar != null) {
        ArrowTableWriter w = columnar;
        columnar = null;
        w.close(); // deletes the files it never returned
      }
      if (dataWriter != null || upsertWriter != null || !pendingGroups.isEmpty()) {
        rollWriter();
        deleteFiles(table, pendingGroups); // written but never prepared: nobody references them
        pendingGroups.clear();
      }
    } catch (RuntimeException e) {
      failure = new CrestException(
          "Cannot discard the uncommitted files of table " + tableName + ": " + e.getMessage(), e);
    }
    closeEncoderPool();
    if (encodersReused + encodersBuilt > 0) {
      LOG.info("Parquet column encoders of {}: reused {}, built {} (writers that took an earlier"
          + " writer's buffers, and writers that grew their own)", tableName, encodersReused,
          encodersBuilt);
    }
    commitPool.shutdown();
    if (ownsCatalog) {
      IOException e = IcebergCatalogs.closeQuietly(catalog);
      if (e != null) {
        LOG.warn("Cannot close catalog {}", catalog.name(), e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  // ---------------------------------------------------------------- state

  /**
   * What {@code pipelineId} last committed to {@code table}: the newest snapshot of the pipeline in
   * the current branch's history, which is authoritative (a rollback takes the rolled-back commits
   * with it, and their rows are read again). When the history was cut by snapshot expiry before
   * any such snapshot, the state property written in the same transaction as the pipeline's last
   * commit is used instead, so expiry never makes a pipeline ingest again.
   */
  static CommittedState findState(Table table, String branch, String pipelineId) {
    Snapshot current = head(table, branch);
    if (current == null) {
      return CommittedState.empty();
    }
    Snapshot oldest = current;
    for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
      Map<String, String> summary = snapshot.summary();
      if (pipelineId.equals(summary.get(SUMMARY_PIPELINE_ID))) {
        return CommittedState.of(
            summary.get(SUMMARY_COMMIT_ID),
            decodePositions(summary.get(SUMMARY_POSITIONS)),
            summary.get(SUMMARY_SOURCE_INSTANCE));
      }
      oldest = snapshot;
    }
    String property = table.properties().get(STATE_PROPERTY_PREFIX + pipelineId);
    if (property == null) {
      return CommittedState.empty();
    }
    if (oldest.parentId() == null) {
      LOG.warn("Table {} has no snapshot of pipeline {} in its history although its state property"
          + " says it committed: the table was rolled back before its commits, which are read"
          + " again", table.name(), pipelineId);
      return CommittedState.empty();
    }
    LOG.info("The snapshots of pipeline {} in {} expired; resuming from its state property",
        pipelineId, table.name());
    return decodeState(property);
  }

  static String encodeState(String commitId, String positionsJson, String sourceInstance) {
    return JsonUtil.generate(
        gen -> {
          gen.writeStartObject();
          gen.writeStringField("commit-id", commitId);
          if (sourceInstance != null) {
            gen.writeStringField("source-instance", sourceInstance);
          }
          gen.writeFieldName("positions");
          gen.writeRawValue(positionsJson);
          gen.writeEndObject();
        },
        false);
  }

  static CommittedState decodeState(String json) {
    return JsonUtil.parse(
        json,
        node -> CommittedState.of(
            JsonUtil.getString("commit-id", node),
            decodePositions(node.get("positions").toString()),
            JsonUtil.getStringOrNull("source-instance", node)));
  }

  /**
   * The head of the branch the sink writes; for a branch that does not exist yet, the main
   * branch's head, from which the first commit will fork it (so its history is main's).
   */
  private static Snapshot head(Table table, String branch) {
    Snapshot head = branch == null ? null : table.snapshot(branch);
    return head != null ? head : table.currentSnapshot();
  }

  private static Snapshot findSnapshot(Table table, String branch, String commitId) {
    Snapshot current = head(table, branch);
    if (current == null) {
      return null;
    }
    for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
      if (commitId.equals(snapshot.summary().get(SUMMARY_COMMIT_ID))) {
        return snapshot;
      }
    }
    return null;
  }

  static String encodePositions(Map<String, SourcePosition> positions) {
    return JsonUtil.generate(
        gen -> {
          gen.writeStartObject();
          for (Map.Entry<String, SourcePosition> e : new TreeMap<>(positions).entrySet()) {
            gen.writeStringField(e.getKey(), e.getValue().value());
          }
          gen.writeEndObject();
        },
        false);
  }

  static Map<String, SourcePosition> decodePositions(String json) {
    if (json == null || json.isEmpty()) {
      return Map.of();
    }
    return JsonUtil.parse(
        json,
        node -> {
          Map<String, SourcePosition> positions = new TreeMap<>();
          Iterator<String> names = node.fieldNames();
          while (names.hasNext()) {
            String name = names.next();
            positions.put(name, SourcePosition.of(node.get(name).asText()));
          }
          return positions;
        });
  }

  /** Data files and the delete files that go with them in one snapshot operation. */
  private static final class FileGroup {
    final List<DataFile> data;
    final List<DeleteFile> deletes;

    FileGroup(List<DataFile> data, List<DeleteFile> deletes) {
      this.data = data;
      this.deletes = deletes;
    }
  }

  /** Closed files of one flush, with the positions they bring the pipeline to. */
  private static final class IcebergCommittable implements Committable {
    final String commitId;
    final List<FileGroup> groups;
    final Map<String, SourcePosition> positions;
    final long rows;
    final long bytes;
    final int fileCount;
    final int deleteFileCount;

    IcebergCommittable(String commitId, List<FileGroup> groups, Map<String, SourcePosition> positions) {
      this.commitId = commitId;
      this.groups = List.copyOf(groups);
      this.positions = positions;
      long r = 0;
      long b = 0;
      int files = 0;
      int deletes = 0;
      for (FileGroup g : groups) {
        for (DataFile file : g.data) {
          r += file.recordCount();
          b += file.fileSizeInBytes();
          files++;
        }
        for (DeleteFile file : g.deletes) {
          b += file.fileSizeInBytes();
          deletes++;
        }
      }
      this.rows = r;
      this.bytes = b;
      this.fileCount = files + deletes;
      this.deleteFileCount = deletes;
    }

    @Override
    public String commitId() {
      return commitId;
    }

    @Override
    public long rowCount() {
      return rows;
    }

    @Override
    public int fileCount() {
      return fileCount;
    }

    @Override
    public long byteCount() {
      return bytes;
    }

    @Override
    public Map<String, SourcePosition> positions() {
      return positions;
    }
  }
}
