package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.MetadataColumns;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericDeleteFilter;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.util.PartitionUtil;

/**
 * Turns a table's equality deletes into deletes by position: for each data file an equality
 * delete file applies to, the rows it deletes are found (Iceberg's {@link GenericDeleteFilter}
 * reads the file's equality columns and applies the delete files), and written as one deletion
 * vector per data file (format v3) or one file-scoped position delete file (v2), merged with the
 * file's earlier position deletes. One {@link RowDelta} adds them and removes the equality delete
 * files and the replaced position deletes, validated from the snapshot read: a concurrent
 * compaction of a converted file, or concurrent deletes in it, fail the commit (nothing is lost;
 * run it again).
 *
 * <p>An equality delete file is removed only when every data file it applies to was converted:
 * those in formats this class does not read (anything but Parquet) keep theirs. Readers then join
 * no equality deletes, which is what made such tables slow to read. Stateless; the caller owns
 * the table.
 */
public final class EqualityDeleteConversion {
  /**
   * What a conversion did.
   *
   * @param equalityDeleteFilesRemoved equality delete files no longer in the table
   * @param equalityDeleteFilesKept those still needed by data files not converted
   * @param dataFilesConverted data files whose equality-deleted rows are now deleted by position
   * @param rowsDeleted rows those deletes cover (rows already deleted by position included once)
   * @param deleteFilesWritten deletion vectors or position delete files added
   */
  public record Result(int equalityDeleteFilesRemoved, int equalityDeleteFilesKept,
      int dataFilesConverted, long rowsDeleted, int deleteFilesWritten) {}

  private EqualityDeleteConversion() {}

  /**
   * Converts the equality deletes of {@code table}'s current snapshot and commits the change
   * (nothing when it has none).
   *
   * @throws org.apache.iceberg.exceptions.ValidationException if a concurrent change to the
   *     converted data files or their deletes invalidated the conversion
   */
  public static Result convert(Table table) {
    table.refresh();
    Snapshot snapshot = table.currentSnapshot();
    if (snapshot == null) {
      return new Result(0, 0, 0, 0, 0);
    }
    Map<String, FileScanTask> tasks = PositionDeletes.plan(table, snapshot.snapshotId());
    Map<String, DeleteFile> equality = new LinkedHashMap<>();
    Set<String> kept = new HashSet<>();
    List<FileScanTask> toConvert = new ArrayList<>();
    for (FileScanTask task : tasks.values()) {
      List<DeleteFile> eq = task.deletes().stream()
          .filter(d -> d.content() == FileContent.EQUALITY_DELETES).toList();
      if (eq.isEmpty()) {
        continue;
      }
      eq.forEach(d -> equality.put(d.location(), d));
      if (task.file().format() == FileFormat.PARQUET) {
        toConvert.add(task);
      } else {
        eq.forEach(d -> kept.add(d.location()));
      }
    }
    if (equality.isEmpty()) {
      return new Result(0, 0, 0, 0, 0);
    }
    List<PositionDeletes.Target> targets = new ArrayList<>();
    long rows = 0;
    for (FileScanTask task : toConvert) {
      long[] positions = deletedPositions(table, task);
      if (positions.length > 0) {
        targets.add(new PositionDeletes.Target(task.file().location(), task.spec(),
            task.file().partition(), positions));
        rows += positions.length;
      }
    }
    PositionDeletes.Written written = PositionDeletes.write(table, tasks, targets);
    RowDelta delta = table.newRowDelta().validateFromSnapshot(snapshot.snapshotId());
    written.files().forEach(delta::addDeletes);
    written.replaced().forEach(delta::removeDeletes);
    int removed = 0;
    for (DeleteFile d : equality.values()) {
      if (!kept.contains(d.location())) {
        delta.removeDeletes(d);
        removed++;
      }
    }
    if (!written.referenced().isEmpty()) {
      delta.validateDataFilesExist(written.referenced());
    }
    delta.validateDeletedFiles().validateNoConflictingDeleteFiles();
    try {
      delta.commit();
    } catch (RuntimeException e) {
      PositionDeletes.discard(table, written.files());
      throw e;
    }
    return new Result(removed, equality.size() - removed, toConvert.size(), rows,
        written.files().size());
  }

  /** The positions of the rows of a data file that its equality deletes delete, sorted. */
  private static long[] deletedPositions(Table table, FileScanTask task) {
    Schema requested = new Schema(MetadataColumns.ROW_POSITION);
    GenericDeleteFilter filter =
        new GenericDeleteFilter(table.io(), task, table.schema(), requested);
    Schema read = filter.requiredSchema();
    String location = task.file().location();
    LongLongMap positions = new LongLongMap();
    try (CloseableIterable<Record> records = filter.findEqualityDeleteRows(
        Parquet.read(table.io().newInputFile(location))
            .project(read)
            .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(
                read, fileSchema, PartitionUtil.constantsMap(task)))
            .build())) {
      for (Record record : records) {
        positions.put((Long) record.getField(MetadataColumns.ROW_POSITION.name()), 0);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the equality-deleted rows of " + location
          + " in table " + table.name() + ": " + e.getMessage(), e);
    }
    return positions.sortedKeys();
  }
}
