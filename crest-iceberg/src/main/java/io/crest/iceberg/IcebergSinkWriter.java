package io.crest.iceberg;

import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.errors.CrestException;
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
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
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

  private static final Logger LOG = LoggerFactory.getLogger(IcebergSink.class);
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final Catalog catalog;
  private final boolean ownsCatalog;
  private final TableIdentifier identifier;
  private final Map<String, String> tableProperties;
  private final String pipelineId;
  private final CommittedState restored;
  private volatile Table table;

  // Writer thread.
  private Schema converterArrowSchema;
  private ArrowRecords.Converter converter;
  private FanoutDataWriter<Record> dataWriter;
  private PartitionSpec writerSpec;
  private PartitionKey partitionKey;
  private InternalRecordWrapper partitionWrapper;
  private boolean closed;

  IcebergSinkWriter(
      Catalog catalog,
      boolean ownsCatalog,
      TableIdentifier identifier,
      Map<String, String> tableProperties,
      SinkContext context) {
    this.catalog = catalog;
    this.ownsCatalog = ownsCatalog;
    this.identifier = identifier;
    this.tableProperties = tableProperties;
    this.pipelineId = context.pipelineId();
    this.table = catalog.tableExists(identifier) ? catalog.loadTable(identifier) : null;
    this.restored = table == null ? CommittedState.empty() : findState(table, pipelineId);
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
    }
    if (dataWriter == null) {
      openDataWriter(t);
    }
    int rows = root.getRowCount();
    // The file writers encode a record before write() returns, so one record serves every row.
    Record record = GenericRecord.create(t.schema());
    for (int i = 0; i < rows; i++) {
      converter.fill(root, i, record);
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
    Table t = table;
    long start = System.nanoTime();
    AppendFiles append = t.newFastAppend();
    c.files.forEach(append::appendFile);
    append.set(SUMMARY_PIPELINE_ID, pipelineId);
    append.set(SUMMARY_COMMIT_ID, c.commitId);
    append.set(SUMMARY_POSITIONS, encodePositions(c.positions));
    try {
      append.commit();
    } catch (org.apache.iceberg.exceptions.CommitFailedException e) {
      throw new CommitFailedException(
          "Cannot commit " + c.files.size() + " files (" + c.rows + " rows) to table "
              + identifier + ": " + e.getMessage()
              + " (Iceberg's commit retries are exhausted; a restart reads the rows again)", e);
    } catch (org.apache.iceberg.exceptions.CommitStateUnknownException e) {
      return resolveUnknown(t, c, e);
    }
    Snapshot snapshot = findSnapshot(t, c.commitId);
    long millis = (System.nanoTime() - start) / 1_000_000;
    LOG.info("Committed {} rows in {} files ({} bytes) to {} as snapshot {} in {} ms (pipeline {})",
        c.rows, c.files.size(), c.bytes, identifier,
        snapshot == null ? "?" : snapshot.snapshotId(), millis, pipelineId);
    return CommitResult.of(snapshot == null ? "snapshot ?" : "snapshot " + snapshot.snapshotId());
  }

  /**
   * The catalog could not tell whether the commit landed. Never delete the files and never commit
   * them blindly again: look for the commit id in the refreshed table.
   */
  private CommitResult resolveUnknown(
      Table t, IcebergCommittable c, org.apache.iceberg.exceptions.CommitStateUnknownException e) {
    try {
      t.refresh();
    } catch (RuntimeException refreshError) {
      e.addSuppressed(refreshError);
      throw new CommitStateUnknownException(
          "Cannot tell whether commit " + c.commitId + " reached table " + identifier
              + ": the catalog gave no answer and the table cannot be read now (files kept)", e);
    }
    Snapshot snapshot = findSnapshot(t, c.commitId);
    if (snapshot != null) {
      LOG.warn("Commit {} to {} reported an unknown state but landed as snapshot {}",
          c.commitId, identifier, snapshot.snapshotId());
      return CommitResult.of("snapshot " + snapshot.snapshotId());
    }
    throw new CommitStateUnknownException(
        "Cannot tell whether commit " + c.commitId + " reached table " + identifier
            + ": the catalog gave no answer and the commit is not in the table yet (files kept;"
            + " a restart resumes from what the table really holds)", e);
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

  /** The newest snapshot in the current ancestry that {@code pipelineId} committed. */
  static CommittedState findState(Table table, String pipelineId) {
    Snapshot current = table.currentSnapshot();
    if (current == null) {
      return CommittedState.empty();
    }
    for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
      Map<String, String> summary = snapshot.summary();
      if (pipelineId.equals(summary.get(SUMMARY_PIPELINE_ID))) {
        return CommittedState.of(
            summary.get(SUMMARY_COMMIT_ID), decodePositions(summary.get(SUMMARY_POSITIONS)));
      }
    }
    return CommittedState.empty();
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
