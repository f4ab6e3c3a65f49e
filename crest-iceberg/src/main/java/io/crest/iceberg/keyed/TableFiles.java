package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.BaseFileScanTask;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.PartitionSpecParser;
import org.apache.iceberg.SchemaParser;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.expressions.ResidualEvaluator;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.util.ContentFileUtil;

/**
 * The live data files of a snapshot with their deletes, as scan tasks by location, read from the
 * snapshot's manifests directly on the caller's thread, each manifest parsed once and kept while
 * the table's snapshots still list it (a manifest never changes): a keyed flush reads only the
 * manifests written since the last one, where Iceberg's scan planning would read them all again
 * through its worker pool. The data files keep the statistics of the key column only.
 *
 * <p>Only file-scoped deletes (deletion vectors, position delete files of one data file) are
 * matched here: a snapshot with any other delete file (equality deletes, partition-scoped
 * position deletes) gets {@code null} from {@link #plan}, and the caller plans with Iceberg's
 * scan, which applies sequence numbers and partitions to them. Not thread-safe: the writer thread
 * owns it.
 */
final class TableFiles {
  private final int keyFieldId;
  private final Map<String, List<DataFile>> dataManifests = new HashMap<>();
  private final Map<String, List<DeleteFile>> deleteManifests = new HashMap<>();

  TableFiles(int keyFieldId) {
    this.keyFieldId = keyFieldId;
  }

  /**
   * The scan tasks of snapshot {@code snapshotId}'s live data files by location (none for a null
   * snapshot), or {@code null} when a delete file of the snapshot is not file-scoped.
   */
  Map<String, FileScanTask> plan(Table table, Long snapshotId) {
    Map<String, FileScanTask> tasks = new HashMap<>();
    if (snapshotId == null) {
      return tasks;
    }
    Snapshot snapshot = table.snapshot(snapshotId);
    FileIO io = table.io();
    Map<Integer, PartitionSpec> specs = table.specs();
    Map<String, List<DeleteFile>> byDataFile = new HashMap<>();
    Set<String> listed = new HashSet<>();
    for (ManifestFile m : snapshot.deleteManifests(io)) {
      listed.add(m.path());
      for (DeleteFile d : deleteManifests.computeIfAbsent(m.path(),
          p -> readAll(ManifestFiles.readDeleteManifest(m, io, specs), false))) {
        if (!ContentFileUtil.isFileScoped(d)) {
          return null;
        }
        byDataFile.computeIfAbsent(ContentFileUtil.referencedDataFileLocation(d),
            f -> new ArrayList<>()).add(d);
      }
    }
    deleteManifests.keySet().retainAll(listed);
    listed.clear();
    Tasks make = new Tasks(table);
    for (ManifestFile m : snapshot.dataManifests(io)) {
      listed.add(m.path());
      for (DataFile f : dataManifests.computeIfAbsent(m.path(),
          p -> readAll(ManifestFiles.read(m, io, specs), true))) {
        tasks.put(f.location(), make.task(f, byDataFile.getOrDefault(f.location(), List.of())));
      }
    }
    dataManifests.keySet().retainAll(listed);
    return tasks;
  }

  /**
   * The table's files once {@code flush} is committed as written, from its files before ({@code
   * tasks}, which stay as they are): its data files (rows and rewritten rows) added with their
   * new deletes, the files it rewrote gone, and each data file it deletes from carrying its new
   * deletes only (they replace the earlier ones, merged into them).
   */
  static Map<String, FileScanTask> after(Table table, Map<String, FileScanTask> tasks,
      KeyedWriter.Flush flush) {
    Map<String, FileScanTask> after = new HashMap<>(tasks);
    flush.removedDataFiles().forEach(f -> after.remove(f.location()));
    Map<String, List<DeleteFile>> deletes = new HashMap<>();
    for (DeleteFile d : flush.deleteFiles()) {
      deletes.computeIfAbsent(ContentFileUtil.referencedDataFileLocation(d),
          f -> new ArrayList<>()).add(d);
    }
    Tasks make = new Tasks(table);
    deletes.forEach((path, d) -> {
      FileScanTask before = after.get(path);
      if (before != null) {
        after.put(path, make.task(before.file(), d));
      }
    });
    for (List<DataFile> files : List.of(flush.dataFiles(), flush.rewrittenDataFiles())) {
      files.forEach(f ->
          after.put(f.location(), make.task(f, deletes.getOrDefault(f.location(), List.of()))));
    }
    return after;
  }

  /** Whole-file scan tasks of one table state, every row selected, spec JSON made once per spec. */
  private static final class Tasks {
    private static final ResidualEvaluator ALL = ResidualEvaluator.unpartitioned(
        org.apache.iceberg.expressions.Expressions.alwaysTrue());
    private final String schema;
    private final Map<Integer, PartitionSpec> specs;
    private final Map<Integer, String> specJson = new HashMap<>();

    Tasks(Table table) {
      this.schema = SchemaParser.toJson(table.schema());
      this.specs = table.specs();
    }

    FileScanTask task(DataFile file, List<DeleteFile> deletes) {
      String spec = specJson.computeIfAbsent(file.specId(),
          id -> PartitionSpecParser.toJson(specs.get(id)));
      return new BaseFileScanTask(file, deletes.toArray(DeleteFile[]::new), schema, spec, ALL);
    }
  }

  private <F extends org.apache.iceberg.ContentFile<F>> List<F> readAll(
      ManifestReader<F> reader, boolean keyStats) {
    List<F> files = new ArrayList<>();
    try (ManifestReader<F> r = reader) {
      for (F f : r) {
        // Delete files keep their statistics: a v2 position delete file names its one data
        // file in the bounds of its file_path column.
        files.add(keyStats ? f.copyWithStats(Set.of(keyFieldId)) : f.copy());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read manifest " + reader.file().location() + ": "
          + e.getMessage(), e);
    }
    return files;
  }
}
