package io.crest.iceberg.keyed;

import io.crest.iceberg.commit.DeleteRedo;
import io.crest.iceberg.commit.TableCommittable.FileGroup;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;

/**
 * How a keyed flush's deletes are written again when its commit failed validation: the flush
 * supersedes every row the table has of every key it upserted or deleted, so those rows are
 * resolved afresh from the table's current snapshot and deleted, together with the rows the flush
 * wrote and replaced itself. Immutable; run by the committer.
 */
final class KeyedRedo implements DeleteRedo {
  private final String branch; // null: main
  private final KeyCodec codec;
  private final LongLongMap keys;
  private final List<DataFile> own;
  private final List<PositionDeletes.Target> ownDeletes;

  /**
   * @param keys every key the flush upserted or deleted (not changed afterwards)
   * @param own the data files the flush wrote
   * @param ownDeletes rows of those files the flush replaced itself
   */
  KeyedRedo(String branch, KeyCodec codec, LongLongMap keys, List<DataFile> own,
      List<PositionDeletes.Target> ownDeletes) {
    this.branch = branch;
    this.codec = codec;
    this.keys = keys;
    this.own = own;
    this.ownDeletes = ownDeletes;
  }

  @Override
  public FileGroup redo(Table table) {
    Snapshot base = io.crest.iceberg.commit.PipelineState.head(table, branch);
    Long baseId = base == null ? null : base.snapshotId();
    Map<String, FileScanTask> tasks = PositionDeletes.plan(table, baseId);
    Map<String, List<Long>> byFile = new HashMap<>();
    for (KeyResolver.Row row : KeyResolver.resolve(table, baseId, codec, keys)) {
      byFile.computeIfAbsent(row.file(), f -> new ArrayList<>()).add(row.position());
    }
    List<PositionDeletes.Target> targets = new ArrayList<>(ownDeletes);
    byFile.forEach((path, positions) -> {
      FileScanTask task = tasks.get(path);
      targets.add(new PositionDeletes.Target(path, task.spec(), task.file().partition(),
          positions.stream().mapToLong(Long::longValue).sorted().toArray()));
    });
    PositionDeletes.Written w = PositionDeletes.write(table, tasks, targets);
    Set<String> referenced = new HashSet<>(w.referenced());
    own.forEach(f -> referenced.remove(f.location()));
    return new FileGroup(own, w.files(), w.replaced(), referenced, baseId, this);
  }
}
