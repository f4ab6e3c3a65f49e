package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.RollingDataWriter;
import org.apache.iceberg.util.PropertyUtil;

/**
 * The data files a keyed flush writes from converted records, for tables Crest's columnar writer
 * does not write: one Iceberg {@link RollingDataWriter} per partition of the table's current
 * spec, in the table's file format. Not thread-safe: the writer thread owns it; {@link #close}
 * hands the files over.
 */
final class RecordFiles {
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final Table table;
  private final PartitionSpec spec;
  private final GenericFileWriterFactory factory;
  private final OutputFileFactory fileFactory;
  private final long targetFileSize;
  private final PartitionKey partitionKey;
  private final InternalRecordWrapper wrapper;
  private final Map<PartitionKey, RollingDataWriter<Record>> writers = new HashMap<>();

  RecordFiles(Table t) {
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

  /** The spec the files are written in. */
  PartitionSpec spec() {
    return spec;
  }

  /** The writer of {@code row}'s partition, opened on its first row. */
  RollingDataWriter<Record> route(Record row) {
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

  /** A copy of the partition the last {@link #route} computed; null for an unpartitioned spec. */
  StructLike lastPartition() {
    return spec.isPartitioned() ? partitionKey.copy() : null;
  }

  /** Closes every writer and returns their data files. */
  List<DataFile> close() {
    List<DataFile> files = new ArrayList<>();
    try {
      for (RollingDataWriter<Record> w : writers.values()) {
        w.close();
        files.addAll(w.result().dataFiles());
      }
      writers.clear();
      return files;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot close data files of table " + table.name() + ": " + e.getMessage(), e);
    }
  }
}
