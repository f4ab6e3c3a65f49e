package io.crest.iceberg;

import io.crest.iceberg.commit.CommitRetry;
import io.crest.iceberg.commit.PipelineState;
import io.crest.iceberg.keyed.EqualityDeleteConversion;
import io.crest.iceberg.maintenance.ArrowCompaction;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.ReachableFileUtil;
import org.apache.iceberg.RewriteFiles;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.arrow.ArrowAllocation;
import org.apache.iceberg.data.GenericDeleteFilter;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriteResult;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.io.RollingDataWriter;
import org.apache.iceberg.io.SupportsPrefixOperations;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.PropertyUtil;
import org.apache.iceberg.util.SnapshotUtil;
import org.apache.iceberg.util.StructLikeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Housekeeping for a table that streaming keeps filling with small files: compaction, snapshot
 * expiry that keeps Crest's bookkeeping reachable, and removal of orphan files.
 *
 * <pre>{@code
 * TableMaintenance m = TableMaintenance.of(table);
 * m.compact(5);                                     // partitions with >= 5 small files
 * m.expireSnapshots(Duration.ofDays(1), 10);
 * m.removeOrphanFiles(Duration.ofDays(3));
 * }</pre>
 *
 * <p>Each operation commits on its own and is safe while pipelines write the table: compaction
 * replaces exactly the files it read ({@code RewriteFiles}, validated from the snapshot it read, so
 * concurrent appends are kept and a concurrent delete makes it fail rather than be lost). Not
 * thread-safe: run one operation at a time per instance. The caller keeps owning the table.
 */
public final class TableMaintenance {
  /** The tag that keeps each pipeline's newest snapshot reachable: {@code crest-<pipeline-id>}. */
  public static final String TAG_PREFIX = "crest-";

  private static final Logger LOG = LoggerFactory.getLogger(TableMaintenance.class);

  private static final CommitRetry RETRY =
      new CommitRetry(20, Duration.ofMillis(50), Duration.ofSeconds(5));

  private final Table table;

  private TableMaintenance(Table table) {
    this.table = table;
  }

  /** Maintenance for {@code table}. */
  public static TableMaintenance of(Table table) {
    return new TableMaintenance(Objects.requireNonNull(table, "table"));
  }

  /**
   * What {@link #compact} did.
   *
   * @param partitionsRewritten partitions whose files were replaced
   * @param dataFilesRemoved data files replaced
   * @param deleteFilesRemoved delete files no longer needed after the rewrite
   * @param dataFilesAdded data files written
   * @param rows rows rewritten
   * @param partitionsSkipped partitions left as they were because a concurrent change to their
   *     files (a delete, another compaction) made the rewrite invalid; the next run retries them
   * @param partitionsViaArrow of the partitions rewritten, those read with Iceberg's vectorized
   *     Arrow reader and written with Crest's columnar writer; the others took the generic path
   *     (Iceberg's record readers, which also apply equality deletes, and its record writer)
   * @param dataFilesViaArrow of the data files removed, those read with the Arrow reader
   */
  public record CompactionResult(
      int partitionsRewritten, int dataFilesRemoved, int deleteFilesRemoved, int dataFilesAdded,
      long rows, int partitionsSkipped, int partitionsViaArrow, int dataFilesViaArrow) {

    /** Of the partitions rewritten, those read and written record by record with Iceberg's. */
    public int partitionsViaGeneric() {
      return partitionsRewritten - partitionsViaArrow;
    }

    /** Of the data files removed, those read with Iceberg's record readers. */
    public int dataFilesViaGeneric() {
      return dataFilesRemoved - dataFilesViaArrow;
    }
  }

  /**
   * Turns the table's equality deletes (written by {@code IcebergSink.Builder.equalityDeletes()},
   * Flink's or Kafka Connect's upsert sinks) into deletes by position: one deletion vector per
   * data file on format v3, one file-scoped position delete file on v2, merged with the file's
   * earlier ones, and the equality delete files removed, in one commit validated from the
   * snapshot read (a concurrent compaction or delete in a converted file fails it; run it again).
   * Readers then join no equality deletes. Data files other than Parquet keep their equality
   * deletes (counted as kept).
   */
  public EqualityDeleteConversion.Result convertEqualityDeletes() {
    return EqualityDeleteConversion.convert(table);
  }

  /**
   * Rewrites, partition by partition, the data files of every partition that has at least {@code
   * minInputFiles} files smaller than three quarters of the target file size (or any delete file)
   * into files of the target size ({@code write.target-file-size-bytes}), with the deletes
   * applied, in the partition's own spec and the table's current schema. One commit per
   * partition.
   *
   * <p>A partition is read with Iceberg's vectorized Arrow reader and written with Crest's
   * columnar Parquet writer when it can be: Parquet files, no equality delete file to apply
   * (position deletes and deletion vectors are applied as a row filter), and only columns of the
   * types that reader reads (boolean, int, long, float, double, string, binary, date, time,
   * timestamp, decimal). Any other partition takes the generic path: Iceberg's record readers,
   * which apply equality deletes too, and its record writer. Which path each partition took, and
   * why, is logged at INFO and counted in the {@link CompactionResult}.
   *
   * @throws IllegalArgumentException if {@code minInputFiles} is below 2
   */
  public CompactionResult compact(int minInputFiles) {
    if (minInputFiles < 2) {
      throw new IllegalArgumentException(
          "Cannot compact table " + table.name() + ": minInputFiles " + minInputFiles
              + " must be at least 2");
    }
    table.refresh();
    Snapshot snapshot = table.currentSnapshot();
    if (snapshot == null) {
      return new CompactionResult(0, 0, 0, 0, 0, 0, 0, 0);
    }
    long target = PropertyUtil.propertyAsLong(table.properties(),
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES,
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    Map<Integer, StructLikeMap<List<FileScanTask>>> groups = new HashMap<>();
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshot.snapshotId()).planFiles()) {
      for (FileScanTask task : tasks) {
        PartitionSpec spec = table.specs().get(task.file().specId());
        groups.computeIfAbsent(spec.specId(), id -> StructLikeMap.create(spec.partitionType()))
            .computeIfAbsent(task.file().partition(), p -> new ArrayList<>())
            .add(task);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot plan compaction of table " + table.name(), e);
    }
    int partitions = 0;
    int removed = 0;
    int deletesRemoved = 0;
    int added = 0;
    int skipped = 0;
    int viaArrow = 0;
    int filesViaArrow = 0;
    long rows = 0;
    for (Map.Entry<Integer, StructLikeMap<List<FileScanTask>>> bySpec : groups.entrySet()) {
      PartitionSpec spec = table.specs().get(bySpec.getKey());
      for (Map.Entry<StructLike, List<FileScanTask>> group : bySpec.getValue().entrySet()) {
        List<FileScanTask> tasks = group.getValue();
        long small = tasks.stream().filter(t -> t.file().fileSizeInBytes() < target * 3 / 4).count();
        boolean hasDeletes = tasks.stream().anyMatch(t -> !t.deletes().isEmpty());
        if (small < minInputFiles && !hasDeletes) {
          continue;
        }
        CompactionResult r = rewrite(snapshot, spec, group.getKey(), tasks, target);
        if (r == null) {
          skipped++;
          continue;
        }
        partitions++;
        removed += r.dataFilesRemoved();
        deletesRemoved += r.deleteFilesRemoved();
        added += r.dataFilesAdded();
        rows += r.rows();
        viaArrow += r.partitionsViaArrow();
        filesViaArrow += r.dataFilesViaArrow();
      }
    }
    CompactionResult result = new CompactionResult(
        partitions, removed, deletesRemoved, added, rows, skipped, viaArrow, filesViaArrow);
    LOG.info("Compacted table {}: {}", table.name(), result);
    return result;
  }

  private CompactionResult rewrite(
      Snapshot snapshot, PartitionSpec spec, StructLike partition, List<FileScanTask> tasks,
      long target) {
    Set<DataFile> oldData = new HashSet<>();
    Map<String, DeleteFile> oldDeletes = new LinkedHashMap<>();
    for (FileScanTask task : tasks) {
      oldData.add(task.file());
      task.deletes().forEach(d -> oldDeletes.put(d.location(), d));
    }
    String where = "partition " + spec.partitionToPath(partition) + " of table " + table.name();
    String generic = ArrowCompaction.unsupported(table, tasks);
    List<DataFile> written = null;
    long rows = 0;
    if (generic == null) {
      LOG.info("Compacting {} ({} data files) with Iceberg's Arrow reader and Crest's columnar"
          + " writer", where, tasks.size());
      try {
        ArrowCompaction.Rewritten r = ArrowCompaction.rewrite(
            table, spec, partition, tasks, ArrowAllocation.rootAllocator());
        written = r.dataFiles();
        rows = r.rows();
      } catch (UnsupportedOperationException e) {
        generic = "the Arrow path cannot read it: " + e.getMessage();
      } catch (RuntimeException e) {
        throw new IllegalStateException("Cannot compact " + where + ": " + e.getMessage(), e);
      }
    }
    if (written == null) {
      LOG.info("Compacting {} ({} data files) with Iceberg's record reader and writer, because {}",
          where, tasks.size(), generic);
      DataWriteResult result = rewriteGeneric(spec, partition, tasks, target, where);
      written = result.dataFiles();
      rows = written.stream().mapToLong(DataFile::recordCount).sum();
    }
    int arrowFiles = generic == null ? oldData.size() : 0;
    return commit(snapshot, spec, partition, oldData, oldDeletes, written, rows, arrowFiles);
  }

  private DataWriteResult rewriteGeneric(PartitionSpec spec, StructLike partition,
      List<FileScanTask> tasks, long target, String where) {
    Schema schema = table.schema();
    FileFormat format = FileFormat.fromString(table.properties().getOrDefault(
        TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT));
    OutputFileFactory files = OutputFileFactory.builderFor(table, 0, System.nanoTime())
        .format(format).operationId("compaction-" + UUID.randomUUID()).build();
    GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table)
        .dataFileFormat(format).dataSchema(schema).build();
    RollingDataWriter<Record> writer = new RollingDataWriter<>(
        factory, files, table.io(), target, spec, spec.isUnpartitioned() ? null : partition);
    try {
      // One record, reused: the writer encodes a record before write() returns.
      GenericRecord copy = GenericRecord.create(schema);
      List<Types.NestedField> columns = schema.columns();
      for (FileScanTask task : tasks) {
        try (CloseableIterable<Record> records = read(task, schema)) {
          int[] from = null; // where each column sits in this task's records (delete columns too)
          for (Record r : records) {
            if (from == null) {
              from = new int[columns.size()];
              List<Types.NestedField> read = r.struct().fields();
              for (int i = 0; i < from.length; i++) {
                from[i] = read.indexOf(r.struct().field(columns.get(i).fieldId()));
              }
            }
            for (int i = 0; i < from.length; i++) {
              copy.set(i, r.get(from[i], Object.class));
            }
            writer.write(copy);
          }
        }
      }
      writer.close();
    } catch (IOException | RuntimeException e) {
      abort(writer);
      throw new IllegalStateException("Cannot compact " + where + ": " + e.getMessage(), e);
    }
    return writer.result();
  }

  private CompactionResult commit(Snapshot snapshot, PartitionSpec spec, StructLike partition,
      Set<DataFile> oldData, Map<String, DeleteFile> oldDeletes, List<DataFile> written,
      long rows, int arrowFiles) {
    // Streaming writers commit often: retry conflicts patiently, each attempt the same rewrite.
    for (int attempt = 1; ; attempt++) {
      RewriteFiles rewrite = table.newRewrite()
          .validateFromSnapshot(snapshot.snapshotId())
          // The new files hold rows as of this snapshot: later deletes must still apply to them.
          .dataSequenceNumber(snapshot.sequenceNumber());
      oldData.forEach(rewrite::deleteFile);
      oldDeletes.values().forEach(rewrite::deleteFile);
      written.forEach(rewrite::addFile);
      rewrite.set("crest.maintenance", "compaction");
      try {
        rewrite.commit();
        return new CompactionResult(1, oldData.size(), oldDeletes.size(), written.size(), rows,
            0, arrowFiles > 0 ? 1 : 0, arrowFiles);
      } catch (org.apache.iceberg.exceptions.CommitFailedException e) {
        if (attempt >= RETRY.maxAttempts()) {
          written.forEach(f -> table.io().deleteFile(f.location()));
          throw e;
        }
        table.refresh();
        RETRY.backoff().pause(attempt);
      } catch (org.apache.iceberg.exceptions.ValidationException e) {
        // Someone deleted rows of these files, or rewrote them, since the snapshot we read.
        LOG.info("Skipping compaction of partition {} of {}: {}", spec.partitionToPath(partition),
            table.name(), e.getMessage());
        written.forEach(f -> table.io().deleteFile(f.location()));
        return null;
      }
    }
  }

  /** A data file's rows with its deletes applied, in the table's schema. */
  private CloseableIterable<Record> read(FileScanTask task, Schema schema) {
    GenericDeleteFilter deletes = new GenericDeleteFilter(table.io(), task, schema, schema);
    Schema required = deletes.requiredSchema();
    CloseableIterable<Record> records = Parquet.read(table.io().newInputFile(task.file().location()))
        .project(required)
        .split(task.start(), task.length())
        .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(required, fileSchema))
        .build();
    return deletes.filter(records);
  }

  private void abort(RollingDataWriter<Record> writer) {
    try {
      writer.close();
      writer.result().dataFiles().forEach(f -> table.io().deleteFile(f.location()));
    } catch (IOException | RuntimeException e) {
      LOG.warn("Cannot clean up after a failed compaction of {}", table.name(), e);
    }
  }

  /**
   * Expires snapshots older than {@code olderThan}, keeping at least the last {@code retainLast},
   * and first tags each pipeline's newest snapshot on the main branch ({@value #TAG_PREFIX}{@code
   * <pipeline-id>}) so that it, and the bookkeeping in its summary, stays reachable.
   *
   * @return how many snapshots expired
   * @throws IllegalArgumentException if {@code retainLast} is below 1
   */
  public int expireSnapshots(Duration olderThan, int retainLast) {
    Objects.requireNonNull(olderThan, "olderThan");
    if (retainLast < 1) {
      throw new IllegalArgumentException(
          "Cannot expire snapshots of table " + table.name() + ": retainLast " + retainLast
              + " must be at least 1");
    }
    table.refresh();
    int before = count(table.snapshots());
    Map<String, Long> newest = new LinkedHashMap<>();
    Snapshot current = table.currentSnapshot();
    if (current != null) {
      for (Snapshot s : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
        String pipeline = s.summary().get(PipelineState.SUMMARY_PIPELINE_ID);
        if (pipeline != null) {
          newest.putIfAbsent(pipeline, s.snapshotId());
        }
      }
    }
    if (!newest.isEmpty()) {
      org.apache.iceberg.ManageSnapshots tags = table.manageSnapshots();
      newest.forEach((pipeline, snapshotId) -> {
        String tag = TAG_PREFIX + pipeline;
        if (table.refs().containsKey(tag)) {
          tags.replaceTag(tag, snapshotId);
        } else {
          tags.createTag(tag, snapshotId);
        }
      });
      tags.commit();
    }
    table.expireSnapshots()
        .expireOlderThan(System.currentTimeMillis() - olderThan.toMillis())
        .retainLast(retainLast)
        .commit();
    table.refresh();
    int expired = before - count(table.snapshots());
    LOG.info("Expired {} snapshots of {}; kept the newest of pipelines {}", expired, table.name(),
        newest.keySet());
    return expired;
  }

  /**
   * Deletes files under the table's location that no snapshot, tag or metadata file references
   * and that are older than {@code safetyWindow}, so files of commits still in flight are never
   * touched. Needs a {@code FileIO} that can list (Hadoop, S3 and most others can).
   *
   * @return the locations deleted
   * @throws IllegalArgumentException if the window is shorter than one minute
   * @throws UnsupportedOperationException if the table's FileIO cannot list files
   */
  public List<String> removeOrphanFiles(Duration safetyWindow) {
    Objects.requireNonNull(safetyWindow, "safetyWindow");
    if (safetyWindow.compareTo(Duration.ofMinutes(1)) < 0) {
      throw new IllegalArgumentException(
          "Cannot remove orphan files of table " + table.name() + " younger than " + safetyWindow
              + ": the safety window must be at least one minute, or files of commits in flight"
              + " could be deleted");
    }
    if (!(table.io() instanceof SupportsPrefixOperations)) {
      throw new UnsupportedOperationException(
          "Cannot remove orphan files of table " + table.name() + ": its FileIO "
              + table.io().getClass().getSimpleName() + " cannot list files");
    }
    table.refresh();
    Set<String> reachable = reachable();
    long cutoff = System.currentTimeMillis() - safetyWindow.toMillis();
    List<String> deleted = new ArrayList<>();
    for (FileInfo file : ((SupportsPrefixOperations) table.io()).listPrefix(table.location())) {
      if (file.createdAtMillis() < cutoff && !reachable.contains(normalize(file.location()))) {
        table.io().deleteFile(file.location());
        deleted.add(file.location());
      }
    }
    LOG.info("Removed {} orphan files of {}", deleted.size(), table.name());
    return deleted;
  }

  private Set<String> reachable() {
    Set<String> paths = new HashSet<>();
    ReachableFileUtil.metadataFileLocations(table, true).forEach(p -> paths.add(normalize(p)));
    ReachableFileUtil.manifestListLocations(table).forEach(p -> paths.add(normalize(p)));
    ReachableFileUtil.statisticsFilesLocations(table).forEach(p -> paths.add(normalize(p)));
    paths.add(normalize(ReachableFileUtil.versionHintLocation(table)));
    for (Snapshot snapshot : table.snapshots()) {
      for (ManifestFile manifest : snapshot.allManifests(table.io())) {
        if (!paths.add(normalize(manifest.path()))) {
          continue; // carried over from an earlier snapshot: read once
        }
        try {
          if (manifest.content() == org.apache.iceberg.ManifestContent.DATA) {
            try (ManifestReader<DataFile> reader = ManifestFiles.read(manifest, table.io(), table.specs())) {
              reader.forEach(f -> paths.add(normalize(f.location())));
            }
          } else {
            try (ManifestReader<DeleteFile> reader =
                ManifestFiles.readDeleteManifest(manifest, table.io(), table.specs())) {
              reader.forEach(f -> paths.add(normalize(f.location())));
            }
          }
        } catch (IOException e) {
          throw new UncheckedIOException("Cannot read manifest " + manifest.path(), e);
        }
      }
    }
    return paths;
  }

  /** The path of a location, so {@code file:/a} and {@code file:///a} compare equal. */
  private static String normalize(String location) {
    try {
      URI uri = URI.create(location);
      return uri.getScheme() == null || "file".equals(uri.getScheme())
          ? uri.getPath()
          : uri.getScheme() + "://" + uri.getAuthority() + uri.getPath();
    } catch (IllegalArgumentException e) {
      return location;
    }
  }

  private static int count(Iterable<?> items) {
    int n = 0;
    for (Object ignored : items) {
      n++;
    }
    return n;
  }

}
