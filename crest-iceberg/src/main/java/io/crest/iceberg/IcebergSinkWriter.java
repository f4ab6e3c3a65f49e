package io.crest.iceberg;

import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.errors.CrestException;
import io.crest.errors.PipelineFencedException;
import io.crest.iceberg.internal.ArrowRecords;
import io.crest.iceberg.internal.ArrowSchemas;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotAncestryValidator;
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
import org.apache.iceberg.io.DataWriteResult;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.util.JsonUtil;
import org.apache.iceberg.util.PropertyUtil;
import org.apache.iceberg.util.SnapshotUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipeline run's writer for an Iceberg table: Arrow rows become Iceberg generic records that
 * Iceberg's own file writers encode, one open file per partition, rolled at the table's target
 * file size; a commit is a fast append carrying the pipeline's state in the snapshot summary.
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

  private static final Logger LOG = LoggerFactory.getLogger(IcebergSink.class);
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final Catalog catalog;
  private final boolean ownsCatalog;
  private final TableIdentifier identifier;
  private final Map<String, String> tableProperties;
  private final String pipelineId;
  private final String sourceInstance;
  private final CommitRetry retry;
  private final CommittedState restored;
  private volatile Table table;

  // Committer thread: the id of this pipeline's newest commit, which the next commit must follow.
  private String lastCommitId;

  // Writer thread.
  private Schema converterArrowSchema;
  private ArrowRecords.Converter converter;
  private FanoutDataWriter<Record> dataWriter;
  private PartitionSpec writerSpec;
  private PartitionKey partitionKey;
  private InternalRecordWrapper partitionWrapper;
  private Record[] rowBuffer = new Record[0];
  private boolean closed;

  IcebergSinkWriter(
      Catalog catalog,
      boolean ownsCatalog,
      TableIdentifier identifier,
      Map<String, String> tableProperties,
      CommitRetry retry,
      SinkContext context) {
    this.catalog = catalog;
    this.retry = retry;
    this.sourceInstance = context.sourceInstance().orElse(null);
    this.ownsCatalog = ownsCatalog;
    this.identifier = identifier;
    this.tableProperties = tableProperties;
    this.pipelineId = context.pipelineId();
    this.table = catalog.tableExists(identifier) ? catalog.loadTable(identifier) : null;
    this.restored = table == null ? CommittedState.empty() : findState(table, pipelineId);
    this.lastCommitId = restored.commitId().orElse(null);
  }

  @Override
  public CommittedState restoredState() {
    return restored;
  }

  @Override
  public void write(SourceBatch batch) {
    VectorSchemaRoot root = batch.root();
    Schema arrowSchema = root.getSchema();
    Table t = ensureTable(arrowSchema);
    if (converter == null
        || converter.icebergSchema().schemaId() != t.schema().schemaId()
        || !arrowSchema.equals(converterArrowSchema)) {
      converter = ArrowRecords.converter(t.schema(), arrowSchema, identifier.toString());
      converterArrowSchema = arrowSchema;
      rowBuffer = new Record[0]; // records of the old schema must not be reused
    }
    if (dataWriter == null) {
      openDataWriter(t);
    }
    int rows = root.getRowCount();
    // Convert every row before writing any, so a rejected batch leaves nothing in the open files
    // (it may then go to a dead-letter file and the pipeline goes on). The records are reused
    // across batches: the file writers encode a record before write() returns.
    if (rowBuffer.length < rows) {
      rowBuffer = java.util.Arrays.copyOf(rowBuffer, rows);
    }
    for (int i = 0; i < rows; i++) {
      if (rowBuffer[i] == null) {
        rowBuffer[i] = GenericRecord.create(t.schema());
      }
      converter.fill(root, i, rowBuffer[i]);
    }
    for (int i = 0; i < rows; i++) {
      Record record = rowBuffer[i];
      if (writerSpec.isUnpartitioned()) {
        dataWriter.write(record, writerSpec, null);
      } else {
        partitionKey.partition(partitionWrapper.wrap(record));
        dataWriter.write(record, writerSpec, partitionKey);
      }
    }
  }

  @Override
  public Committable prepareCommit(Map<String, SourcePosition> positions) {
    if (dataWriter == null) {
      return null;
    }
    DataWriteResult result = closeDataWriter();
    if (result.dataFiles().isEmpty()) {
      return null;
    }
    return new IcebergCommittable(UUID.randomUUID().toString(), result.dataFiles(), positions);
  }

  @Override
  public CommitResult commit(Committable committable) {
    IcebergCommittable c = (IcebergCommittable) committable;
    long start = System.nanoTime();
    Snapshot snapshot = commitWithRetries(c);
    lastCommitId = c.commitId;
    long millis = (System.nanoTime() - start) / 1_000_000;
    LOG.info("Committed {} rows in {} files ({} bytes) to {} as snapshot {} in {} ms (pipeline {})",
        c.rows, c.files.size(), c.bytes, identifier, snapshot.snapshotId(), millis, pipelineId);
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
    RuntimeException last = null;
    for (int attempt = 1; attempt <= retry.maxAttempts(); attempt++) {
      if (attempt > 1) {
        retry.pause(attempt - 1);
      }
      Table t = table;
      Fence fence = new Fence(c.commitId);
      try {
        t.refresh();
        commitOnce(t, c, fence);
        return findSnapshot(t, c.commitId);
      } catch (org.apache.iceberg.exceptions.ValidationException e) {
        if (fence.alreadyCommitted) {
          // An earlier attempt whose outcome was unknown did land.
          return findSnapshot(refreshed(t), c.commitId);
        }
        if (fence.fenced) {
          throw new PipelineFencedException(
              "Cannot commit " + c.files.size() + " files to table " + identifier + ": pipeline "
                  + pipelineId + " was fenced, commit " + fence.foundCommitId + " of another copy"
                  + " of this pipeline landed after commit " + lastCommitId + " that this copy"
                  + " continued from (stop this copy: only one copy of a pipeline id may run)", e);
        }
        throw new CommitFailedException(
            "Cannot commit " + c.files.size() + " files to table " + identifier + ": "
                + e.getMessage(), e);
      } catch (org.apache.iceberg.exceptions.CommitFailedException e) {
        last = e;
        LOG.warn("Commit {} to {} conflicted (attempt {} of {}): {}",
            c.commitId, identifier, attempt, retry.maxAttempts(), e.getMessage());
      } catch (org.apache.iceberg.exceptions.CommitStateUnknownException e) {
        last = e;
        Snapshot landed = lookUp(t, c.commitId);
        if (landed != null) {
          LOG.warn("Commit {} to {} reported an unknown state but landed as snapshot {}",
              c.commitId, identifier, landed.snapshotId());
          return landed;
        }
        LOG.warn("Commit {} to {} has an unknown state and is not in the table (attempt {} of {});"
            + " trying again with the same files", c.commitId, identifier, attempt,
            retry.maxAttempts());
      }
    }
    if (last instanceof org.apache.iceberg.exceptions.CommitStateUnknownException) {
      throw new CommitStateUnknownException(
          "Cannot tell whether commit " + c.commitId + " reached table " + identifier + " after "
              + retry.maxAttempts() + " attempts: " + last.getMessage() + " (files kept; a restart"
              + " resumes from what the table really holds)", last);
    }
    throw new CommitFailedException(
        "Cannot commit " + c.files.size() + " files (" + c.rows + " rows) to table " + identifier
            + " after " + retry.maxAttempts() + " attempts: " + last.getMessage()
            + " (the files are deleted; a restart reads the rows again)", last);
  }

  /** One atomic metadata commit: the append with its summary, and the state property. */
  private void commitOnce(Table t, IcebergCommittable c, Fence fence) {
    String positions = encodePositions(c.positions);
    Transaction tx = t.newTransaction();
    AppendFiles append = tx.newFastAppend();
    c.files.forEach(append::appendFile);
    append.set(SUMMARY_PIPELINE_ID, pipelineId);
    append.set(SUMMARY_COMMIT_ID, c.commitId);
    append.set(SUMMARY_POSITIONS, positions);
    if (sourceInstance != null) {
      append.set(SUMMARY_SOURCE_INSTANCE, sourceInstance);
    }
    append.validateWith(fence);
    append.commit();
    tx.updateProperties()
        .set(STATE_PROPERTY_PREFIX + pipelineId, encodeState(c.commitId, positions, sourceInstance))
        .commit();
    tx.commitTransaction();
  }

  private Snapshot lookUp(Table t, String commitId) {
    try {
      return findSnapshot(refreshed(t), commitId);
    } catch (RuntimeException e) {
      LOG.warn("Cannot read table {} to resolve commit {}: {}", identifier, commitId, e.getMessage());
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
          : "pipeline " + pipelineId + " committed " + foundCommitId + " after " + lastCommitId;
    }
  }

  @Override
  public void abort(Committable committable) {
    IcebergCommittable c = (IcebergCommittable) committable;
    Table t = table;
    for (DataFile file : c.files) {
      t.io().deleteFile(file.location());
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
      if (dataWriter != null) {
        DataWriteResult unprepared = closeDataWriter();
        for (DataFile file : unprepared.dataFiles()) {
          table.io().deleteFile(file.location());
        }
      }
    } catch (RuntimeException e) {
      failure = new CrestException(
          "Cannot discard the uncommitted files of table " + identifier + ": " + e.getMessage(), e);
    }
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

  private Table ensureTable(Schema arrowSchema) {
    Table t = table;
    if (t != null) {
      return t;
    }
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(arrowSchema, identifier.toString());
    if (catalog instanceof SupportsNamespaces) {
      SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
      if (!namespaces.namespaceExists(identifier.namespace())) {
        try {
          // A mutable map: some catalogs' REST clients fail on an immutable empty one.
          namespaces.createNamespace(identifier.namespace(), new HashMap<>());
        } catch (AlreadyExistsException e) {
          // created concurrently by another writer: fine
        }
      }
    }
    Map<String, String> properties = new HashMap<>(tableProperties);
    if (needsFormatV3(schema) && !properties.containsKey(TableProperties.FORMAT_VERSION)) {
      // timestamp_ns exists only from format v3 on; the alternative would lose precision.
      properties.put(TableProperties.FORMAT_VERSION, "3");
      LOG.info("Creating {} with format-version 3: it has nanosecond timestamps", identifier);
    }
    try {
      t = catalog.buildTable(identifier, schema).withProperties(properties).create();
      LOG.info("Created table {} with schema {}", identifier, t.schema());
    } catch (AlreadyExistsException e) {
      t = catalog.loadTable(identifier);
    }
    table = t;
    return t;
  }

  private static boolean needsFormatV3(org.apache.iceberg.Schema schema) {
    return TypeUtil.find(
            schema, type -> type.typeId() == org.apache.iceberg.types.Type.TypeID.TIMESTAMP_NANO)
        != null;
  }

  private void openDataWriter(Table t) {
    FileFormat format =
        FileFormat.fromString(
            t.properties().getOrDefault(
                TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
    long targetFileSize =
        PropertyUtil.propertyAsLong(
            t.properties(),
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
            TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    GenericFileWriterFactory writerFactory =
        new GenericFileWriterFactory.Builder(t).dataFileFormat(format).dataSchema(t.schema()).build();
    OutputFileFactory fileFactory =
        OutputFileFactory.builderFor(t, 1, TASK_IDS.incrementAndGet())
            .format(format)
            .operationId(UUID.randomUUID().toString())
            .build();
    dataWriter = new FanoutDataWriter<>(writerFactory, fileFactory, t.io(), targetFileSize);
    writerSpec = t.spec();
    partitionKey = new PartitionKey(writerSpec, t.schema());
    partitionWrapper = new InternalRecordWrapper(t.schema().asStruct());
  }

  private DataWriteResult closeDataWriter() {
    FanoutDataWriter<Record> w = dataWriter;
    dataWriter = null;
    try {
      w.close();
    } catch (IOException e) {
      throw new CrestException(
          "Cannot close data files of table " + identifier + ": " + e.getMessage(), e);
    }
    return w.result();
  }

  /**
   * What {@code pipelineId} last committed to {@code table}: the newest snapshot of the pipeline in
   * the current branch's history, which is authoritative (a rollback takes the rolled-back commits
   * with it, and their rows are read again). When the history was cut by snapshot expiry before
   * any such snapshot, the state property written in the same transaction as the pipeline's last
   * commit is used instead, so expiry never makes a pipeline ingest again.
   */
  static CommittedState findState(Table table, String pipelineId) {
    Snapshot current = table.currentSnapshot();
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

  private static Snapshot findSnapshot(Table table, String commitId) {
    Snapshot current = table.currentSnapshot();
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

  /** Closed data files of one flush, with the positions they bring the pipeline to. */
  private static final class IcebergCommittable implements Committable {
    final String commitId;
    final List<DataFile> files;
    final Map<String, SourcePosition> positions;
    final long rows;
    final long bytes;

    IcebergCommittable(String commitId, List<DataFile> files, Map<String, SourcePosition> positions) {
      this.commitId = commitId;
      this.files = List.copyOf(new ArrayList<>(files));
      this.positions = positions;
      long r = 0;
      long b = 0;
      for (DataFile file : files) {
        r += file.recordCount();
        b += file.fileSizeInBytes();
      }
      this.rows = r;
      this.bytes = b;
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
      return files.size();
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
