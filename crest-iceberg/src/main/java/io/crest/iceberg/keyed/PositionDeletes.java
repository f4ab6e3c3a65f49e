package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.BaseDeleteLoader;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.deletes.BaseDVFileWriter;
import org.apache.iceberg.deletes.DeleteGranularity;
import org.apache.iceberg.deletes.PositionDelete;
import org.apache.iceberg.deletes.PositionDeleteIndex;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DeleteWriteResult;
import org.apache.iceberg.io.FanoutPositionOnlyDeleteWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.util.ContentFileUtil;
import org.apache.iceberg.util.PropertyUtil;

/**
 * Writes rows' deletes by position, merged with each data file's previous deletes (which the
 * commit must remove: {@link Written#replaced}): on format v3 one deletion vector per data file,
 * on format v2 one file-scoped position delete file per data file. Stateless and thread-safe as far as the table is.
 */
final class PositionDeletes {
  private static final AtomicLong TASK_IDS = new AtomicLong();

  /** The rows to delete in one data file. */
  record Target(String path, PartitionSpec spec, StructLike partition, long[] positions) {}

  /** What was written. */
  record Written(List<DeleteFile> files, List<DeleteFile> replaced, Set<String> referenced) {}

  private PositionDeletes() {}

  /** The data files of snapshot {@code snapshotId}, with their deletes, by location. */
  static Map<String, FileScanTask> plan(Table table, Long snapshotId) {
    Map<String, FileScanTask> tasks = new HashMap<>();
    if (snapshotId == null) {
      return tasks;
    }
    try (CloseableIterable<FileScanTask> planned =
        table.newScan().useSnapshot(snapshotId).planFiles()) {
      planned.forEach(task -> tasks.put(task.file().location(), task));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot plan the files of table " + table.name() + ": " + e.getMessage(), e);
    }
    return tasks;
  }

  /**
   * Writes the deletes of {@code targets}. {@code tasks} are the table's data files as of the
   * snapshot the deletes are written against, for their previous deletes.
   */
  static Written write(Table t, Map<String, FileScanTask> tasks, List<Target> targets) {
    if (targets.isEmpty()) {
      return new Written(List.of(), List.of(), Set.of());
    }
    boolean v3 = formatVersion(t) >= 3;
    OutputFileFactory outputs = OutputFileFactory.builderFor(t, 1, TASK_IDS.incrementAndGet())
        .format(v3 ? FileFormat.PUFFIN : fileFormat(t))
        .operationId(UUID.randomUUID().toString())
        .suffix("deletes")
        .build();
    // A data file's earlier deletes are merged into its new ones, which replace them: one
    // deletion vector per data file (v3), one file-scoped position delete file (v2).
    BaseDeleteLoader loader = new BaseDeleteLoader(f -> t.io().newInputFile(f.location()));
    java.util.function.Function<String, PositionDeleteIndex> previous = path -> {
      FileScanTask task = tasks.get(path);
      List<DeleteFile> positional = task == null ? List.of() : task.deletes().stream()
          .filter(d -> d.content() == FileContent.POSITION_DELETES).toList();
      if (positional.isEmpty()) {
        return null;
      }
      PositionDeleteIndex loaded = loader.loadPositionDeletes(positional, path);
      return loaded.isEmpty() && loaded.deleteFiles().isEmpty() ? null : loaded;
    };
    DeleteWriteResult result;
    try {
      if (v3) {
        BaseDVFileWriter dvs = new BaseDVFileWriter(outputs, previous);
        try (BaseDVFileWriter w = dvs) {
          for (Target target : targets) {
            for (long pos : target.positions()) {
              w.delete(target.path(), pos, target.spec(), target.partition());
            }
          }
        }
        result = dvs.result();
      } else {
        GenericFileWriterFactory positions = new GenericFileWriterFactory.Builder(t)
            .deleteFileFormat(fileFormat(t)).build();
        long targetSize = PropertyUtil.propertyAsLong(t.properties(),
            TableProperties.DELETE_TARGET_FILE_SIZE_BYTES,
            TableProperties.DELETE_TARGET_FILE_SIZE_BYTES_DEFAULT);
        FanoutPositionOnlyDeleteWriter<Record> w = new FanoutPositionOnlyDeleteWriter<>(
            positions, outputs, t.io(), targetSize, DeleteGranularity.FILE,
            path -> previous.apply(path.toString()));
        PositionDelete<Record> delete = PositionDelete.create();
        try (FanoutPositionOnlyDeleteWriter<Record> open = w) {
          for (Target target : targets) {
            for (long pos : target.positions()) {
              open.write(delete.set(target.path(), pos), target.spec(), target.partition());
            }
          }
        }
        result = w.result();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot write the deletes of table " + t.name() + ": " + e.getMessage(), e);
    }
    Set<String> referenced = new HashSet<>();
    result.referencedDataFiles().forEach(p -> referenced.add(p.toString()));
    // Only a file-scoped delete file (a DV, or a position delete file of one data file) is
    // replaced whole: a partition-scoped one still holds other data files' deletes.
    return new Written(List.copyOf(result.deleteFiles()),
        result.rewrittenDeleteFiles().stream().filter(ContentFileUtil::isFileScoped).toList(),
        referenced);
  }

  /** Deletes delete files that were written but will not be committed. */
  static void discard(Table t, List<DeleteFile> files) {
    for (DeleteFile f : files) {
      t.io().deleteFile(f.location());
    }
  }

  static FileFormat fileFormat(Table t) {
    return FileFormat.fromString(t.properties().getOrDefault(
        TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
  }

  static int formatVersion(Table t) {
    return t instanceof HasTableOperations
        ? ((HasTableOperations) t).operations().current().formatVersion() : 2;
  }
}
