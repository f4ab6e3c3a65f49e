package io.crest.iceberg.write;

import io.crest.errors.CrestException;
import io.crest.iceberg.commit.TableCommittable.FileGroup;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.ClusteredDataWriter;
import org.apache.iceberg.io.DataWriteResult;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.PartitioningWriter;
import org.apache.iceberg.io.WriteResult;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.PropertyUtil;

/**
 * The open files of one flush written through Iceberg's generic writers, from rows already
 * converted to records: a fan-out (or clustered) data writer for appends, or Iceberg's
 * equality-delta writer ({@link UpsertWriter}) for upserts. Made for one table schema and spec;
 * {@link #finish} closes the files and hands them back. Not thread-safe: the writer thread owns
 * it.
 */
final class GenericRows {
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final Table table;
  private final String tableName;
  private final WriteSettings settings;
  private final FileFormat format;
  private final long targetFileSize;
  private final PartitionSpec spec;
  private final int schemaId;
  private final List<FileGroup> finished = new ArrayList<>();
  private final List<DataFile> closedData = new ArrayList<>();
  private PartitioningWriter<Record, DataWriteResult> dataWriter;
  private UpsertWriter upsertWriter;
  private PartitionKey partitionKey;
  private InternalRecordWrapper partitionWrapper;
  private final Set<StructLike> openPartitions = new HashSet<>();

  GenericRows(Table table, String tableName, WriteSettings settings) {
    this.table = table;
    this.tableName = tableName;
    this.settings = settings;
    this.format = FileFormat.fromString(table.properties().getOrDefault(
        TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
    this.targetFileSize = PropertyUtil.propertyAsLong(table.properties(),
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    this.spec = table.spec();
    this.schemaId = table.schema().schemaId();
    open();
  }

  /** The id of the table schema the open files are written with. */
  int schemaId() {
    return schemaId;
  }

  /**
   * Writes {@code count} records, deleting the keys of those whose {@code deletes} flag is set
   * (upserts only).
   */
  void write(Record[] rows, boolean[] deletes, int count) {
    try {
      for (int i = 0; i < count; i++) {
        Record record = rows[i];
        if (upsertWriter != null) {
          if (deletes[i]) {
            upsertWriter.delete(record);
          } else {
            upsertWriter.write(record);
          }
        } else if (spec.isUnpartitioned()) {
          dataWriter.write(record, spec, null);
        } else {
          partitionKey.partition(partitionWrapper.wrap(record));
          if (settings.maxOpenFiles() > 0
              && !settings.clustered()
              && !openPartitions.contains(partitionKey)) {
            if (openPartitions.size() >= settings.maxOpenFiles()) {
              closeDataWriter(); // close every open file rather than exceed the cap
              open();
              // The new writer comes with a new, empty key: compute this row's partition again.
              partitionKey.partition(partitionWrapper.wrap(record));
            }
            openPartitions.add(partitionKey.copy());
          }
          dataWriter.write(record, spec, partitionKey);
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
   * Closes the open files and returns everything written: for appends one group of data files;
   * for upserts one group of data and delete files, to be committed as one row delta.
   */
  List<FileGroup> finish() {
    if (upsertWriter != null) {
      UpsertWriter w = upsertWriter;
      upsertWriter = null;
      WriteResult result = w.finish();
      finished.add(new FileGroup(
          Arrays.asList(result.dataFiles()), Arrays.asList(result.deleteFiles())));
    }
    closeDataWriter();
    if (!closedData.isEmpty()) {
      finished.add(new FileGroup(closedData, List.of()));
      closedData.clear();
    }
    return List.copyOf(finished);
  }

  private void open() {
    OutputFileFactory fileFactory =
        OutputFileFactory.builderFor(table, 1, TASK_IDS.incrementAndGet())
            .format(format)
            .operationId(UUID.randomUUID().toString())
            .build();
    if (settings.upsert()) {
      org.apache.iceberg.Schema keySchema = TypeUtil.select(table.schema(), keyIds());
      int[] equalityIds =
          keySchema.columns().stream().mapToInt(Types.NestedField::fieldId).toArray();
      GenericFileWriterFactory factory =
          new GenericFileWriterFactory.Builder(table)
              .dataFileFormat(format)
              .dataSchema(table.schema())
              .deleteFileFormat(format)
              .equalityFieldIds(equalityIds)
              .equalityDeleteRowSchema(keySchema)
              .build();
      upsertWriter = new UpsertWriter(spec, format, factory, fileFactory, table.io(),
          targetFileSize, table.schema(), keySchema, formatVersion(table) >= 3);
      return;
    }
    GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table)
        .dataFileFormat(format).dataSchema(table.schema()).build();
    dataWriter = settings.clustered()
        ? new ClusteredDataWriter<>(factory, fileFactory, table.io(), targetFileSize)
        : new FanoutDataWriter<>(factory, fileFactory, table.io(), targetFileSize);
    partitionKey = new PartitionKey(spec, table.schema());
    partitionWrapper = new InternalRecordWrapper(table.schema().asStruct());
    openPartitions.clear();
  }

  private void closeDataWriter() {
    if (dataWriter == null) {
      return;
    }
    PartitioningWriter<Record, DataWriteResult> w = dataWriter;
    dataWriter = null;
    try {
      w.close();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot close data files of table " + tableName + ": " + e.getMessage(), e);
    }
    closedData.addAll(w.result().dataFiles());
  }

  private Set<Integer> keyIds() {
    Set<Integer> ids = new HashSet<>();
    for (String key : settings.strategy().keyColumns()) {
      ids.add(table.schema().findField(key).fieldId());
    }
    return ids;
  }

  /** The table's format version (2 for a table whose operations are not visible). */
  static int formatVersion(Table t) {
    return t instanceof HasTableOperations
        ? ((HasTableOperations) t).operations().current().formatVersion()
        : 2;
  }
}
