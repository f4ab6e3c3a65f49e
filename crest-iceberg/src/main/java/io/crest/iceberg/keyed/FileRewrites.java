package io.crest.iceberg.keyed;

import io.crest.iceberg.maintenance.ArrowCompaction;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.util.ContentFileUtil;
import org.apache.iceberg.util.StructLikeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the deleted rows of a keyed table below a share of the rows its data files hold, so
 * that a reader scans at most {@code 1 / (1 - maxDeletedRatio)} times the live rows however many
 * flushes replaced them. A flush that would leave the table above the share also rewrites data
 * files without their deleted rows, the most deleted first (they cost the least to rewrite per
 * deleted row dropped), until the share is met; a file whose every row is deleted is always
 * dropped, which costs nothing. The rewrite is part of the flush's own commit: the old files and
 * their deletes leave the table in the same row delta that adds the flush's rows.
 *
 * <p>Only files it can read whole with Iceberg's Arrow reader are rewritten: Parquet, deletes
 * that are all file-scoped position deletes or deletion vectors, a schema and {@code
 * write.parquet.*} settings {@link ArrowCompaction} takes. Stateless; runs on the writer thread.
 */
final class FileRewrites {
  private static final Logger LOG = LoggerFactory.getLogger(FileRewrites.class);
  private static final java.util.Set<String> WARNED =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A data file to rewrite, with its deleted rows counted (committed and this flush's). */
  record Chosen(FileScanTask task, long deleted) {}

  /**
   * What was rewritten: the new files (their rows in the order the key consumer saw them), the
   * files they replace and those files' delete files.
   */
  record Done(List<DataFile> written, List<DataFile> removed, List<DeleteFile> removedDeletes,
      long rows) {}

  private FileRewrites() {}

  /** The id a data file's rows carry in the key index's locations. */
  @FunctionalInterface
  interface FileIds {
    int of(String path, PartitionSpec spec, StructLike partition);
  }

  /**
   * Rewrites, without their deleted rows, the data files that take the table's deleted rows
   * back under {@code maxRatio} once the flush commits ({@link #choose}, {@link #rewrite}), and
   * points {@code index} at the rows kept (keys the flush did not touch; a key the index lacks
   * stays out). Null when no file needs it.
   *
   * @param tasks the table's data files with their committed deletes, by location
   * @param deletes the flush's deletes, by data file (its own files' included)
   * @param own the data files the flush writes
   */
  static Done keepUnder(double maxRatio, Table t, Map<String, FileScanTask> tasks,
      List<PositionDeletes.Target> deletes, List<DataFile> own, KeyCodec codec,
      LongKeyIndex index, FileIds ids) {
    Map<String, long[]> flushDeletes = new HashMap<>();
    long ownDeleted = 0;
    for (PositionDeletes.Target target : deletes) {
      if (tasks.containsKey(target.path())) {
        flushDeletes.put(target.path(), target.positions());
      } else {
        ownDeleted += target.positions().length;
      }
    }
    long ownRows = own.stream().mapToLong(DataFile::recordCount).sum();
    List<Chosen> chosen = choose(tasks, flushDeletes, ownRows, ownDeleted, maxRatio);
    if (chosen.isEmpty()) {
      return null;
    }
    // The key of each row kept, in the files' order: lo, and hi for wide keys.
    java.util.stream.LongStream.Builder keptLo = java.util.stream.LongStream.builder();
    java.util.stream.LongStream.Builder keptHi = java.util.stream.LongStream.builder();
    KeyCodec.Key key = new KeyCodec.Key();
    Done done = rewrite(t, chosen, flushDeletes, batch -> {
      KeyCodec.ArrowKeys keys = codec.arrow(batch::getVector);
      if (keys == null) {
        throw new IllegalStateException("Cannot read the keys " + codec.columns()
            + " of the rows kept by a rewrite of table " + t.name());
      }
      for (int i = 0; i < batch.getRowCount(); i++) {
        keys.read(i, key);
        keptLo.add(key.lo);
        if (codec.wide()) {
          keptHi.add(key.hi);
        }
      }
    }, org.apache.iceberg.arrow.ArrowAllocation.rootAllocator());
    long[] lo = keptLo.build().toArray();
    long[] hi = codec.wide() ? keptHi.build().toArray() : null;
    long rows = done.written().stream().mapToLong(DataFile::recordCount).sum();
    if (rows != lo.length) {
      done.written().forEach(f -> t.io().deleteFile(f.location()));
      throw new IllegalStateException("Cannot rewrite data files of table " + t.name() + ": "
          + lo.length + " rows were kept, but the new files hold " + rows);
    }
    int row = 0;
    for (DataFile f : done.written()) {
      int id = ids.of(f.location(), t.specs().get(f.specId()), f.partition());
      for (long pos = 0; pos < f.recordCount(); pos++, row++) {
        long h = hi == null ? 0 : hi[row];
        if (index.get(h, lo[row]) != LongKeyIndex.NONE) {
          index.put(h, lo[row], LongKeyIndex.location(id, pos));
        }
      }
    }
    return done;
  }

  /**
   * The data files to rewrite so that the table's deleted rows are at most {@code maxRatio} of
   * its rows once the flush commits: every file all of whose rows are deleted, then the most
   * deleted files until the share is met.
   *
   * @param tasks the table's data files with their committed deletes, by location
   * @param flushDeletes the rows the flush deletes, sorted positions by data file location
   * @param ownRows rows of the data files the flush writes, {@code ownDeleted} of them deleted
   * @param maxRatio the share of deleted rows allowed, in (0, 1]
   */
  static List<Chosen> choose(Map<String, FileScanTask> tasks, Map<String, long[]> flushDeletes,
      long ownRows, long ownDeleted, double maxRatio) {
    long rows = ownRows;
    long deleted = ownDeleted;
    List<Chosen> chosen = new ArrayList<>();
    List<Chosen> candidates = new ArrayList<>();
    for (FileScanTask task : tasks.values()) {
      long n = task.file().recordCount();
      long[] more = flushDeletes.get(task.file().location());
      long d = Math.min(n, committedDeletes(task) + (more == null ? 0 : more.length));
      rows += n;
      deleted += d;
      if (d == 0 || !rewritable(task)) {
        continue;
      }
      if (d == n) {
        chosen.add(new Chosen(task, d)); // nothing left in it: dropped without reading it
        rows -= d;
        deleted -= d;
      } else {
        candidates.add(new Chosen(task, d));
      }
    }
    if (deleted <= maxRatio * rows) {
      return chosen;
    }
    candidates.sort(Comparator.comparingDouble(
        (Chosen c) -> (double) c.deleted() / c.task().file().recordCount()).reversed());
    for (Chosen c : candidates) {
      if (deleted <= maxRatio * rows) {
        break;
      }
      chosen.add(c);
      rows -= c.deleted();
      deleted -= c.deleted();
    }
    return chosen;
  }

  /**
   * Rewrites the chosen files partition by partition, each in its own spec, without their
   * committed deletes and the flush's; {@code written} takes every batch written, in the order of
   * {@link Done#written} (see {@link ArrowCompaction.Keyed}).
   *
   * <p>When the table's schema or settings keep the Arrow path from reading it, only the files
   * whose every row is deleted are removed (warned once per table).
   */
  static Done rewrite(Table table, List<Chosen> chosen, Map<String, long[]> flushDeletes,
      java.util.function.Consumer<org.apache.arrow.vector.VectorSchemaRoot> written,
      BufferAllocator allocator) {
    boolean read = chosen.stream().anyMatch(c -> c.deleted() < c.task().file().recordCount());
    String unsupported = read ? ArrowCompaction.unsupported(table, List.of()) : null;
    if (unsupported != null && WARNED.add(table.name())) {
      LOG.warn("Cannot rewrite the most deleted data files of keyed table {}: {}; their deleted"
          + " rows stay until a compaction (files whose every row is deleted are still dropped)",
          table.name(), unsupported);
    }
    List<DataFile> removed = new ArrayList<>();
    List<DeleteFile> removedDeletes = new ArrayList<>();
    Map<Integer, StructLikeMap<List<FileScanTask>>> groups = new LinkedHashMap<>();
    for (Chosen c : chosen) {
      boolean partial = c.deleted() < c.task().file().recordCount();
      if (partial && unsupported != null) {
        continue;
      }
      removed.add(c.task().file());
      removedDeletes.addAll(c.task().deletes());
      if (partial) {
        PartitionSpec spec = c.task().spec();
        groups.computeIfAbsent(spec.specId(), id -> StructLikeMap.create(spec.partitionType()))
            .computeIfAbsent(c.task().file().partition(), p -> new ArrayList<>())
            .add(c.task());
      }
    }
    List<DataFile> files = new ArrayList<>();
    long rows = 0;
    if (!groups.isEmpty()) {
      ArrowCompaction.Keyed keyed = new ArrowCompaction.Keyed(flushDeletes, written);
      try {
        for (Map.Entry<Integer, StructLikeMap<List<FileScanTask>>> bySpec : groups.entrySet()) {
          PartitionSpec spec = table.specs().get(bySpec.getKey());
          for (Map.Entry<StructLike, List<FileScanTask>> group : bySpec.getValue().entrySet()) {
            ArrowCompaction.Rewritten r = ArrowCompaction.rewrite(
                table, spec, group.getKey(), group.getValue(), allocator, keyed);
            files.addAll(r.dataFiles());
            rows += r.rows();
          }
        }
      } catch (RuntimeException e) {
        files.forEach(f -> table.io().deleteFile(f.location()));
        throw e;
      }
    }
    return new Done(files, removed, removedDeletes, rows);
  }

  /** Rows the committed deletes of a data file delete (its one DV or position delete file). */
  private static long committedDeletes(FileScanTask task) {
    long d = 0;
    for (DeleteFile f : task.deletes()) {
      d += f.recordCount();
    }
    return d;
  }

  /** Whether the file can be read whole and its deletes dropped with it. */
  private static boolean rewritable(FileScanTask task) {
    if (task.file().format() != FileFormat.PARQUET || task.start() != 0
        || task.length() != task.file().fileSizeInBytes()) {
      return false;
    }
    for (DeleteFile d : task.deletes()) {
      if (d.content() != FileContent.POSITION_DELETES || !ContentFileUtil.isFileScoped(d)) {
        return false;
      }
    }
    return true;
  }
}
