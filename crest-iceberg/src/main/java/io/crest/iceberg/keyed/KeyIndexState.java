package io.crest.iceberg.keyed;

import io.crest.iceberg.commit.PipelineState;
import java.util.Map;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.util.ContentFileUtil;

/**
 * A keyed writer's {@link LongKeyIndex} and what it is known to hold: every live key of the table
 * as of a snapshot (<em>complete</em>: a key it lacks is absent), or only some keys (a key it
 * lacks is looked up in the table), because the table's keys outgrew it, another writer changed
 * the table, or rows it pointed at moved. Not thread-safe: the writer thread owns it.
 */
final class KeyIndexState {
  /** Where the row at {@code position} of data file {@code path} is, as an index location. */
  @FunctionalInterface
  interface Locations {
    long of(String path, FileScanTask task, long position);
  }

  private final String pipelineId;
  private final KeyCodec codec;
  private final LongKeyIndex index;
  // The index holds every live key of the table as of knownSnapshot: a key it lacks is absent.
  private boolean complete;
  // A load of every key overflowed the index: keys it lacks are looked up per flush.
  private boolean tooLarge;
  private Long knownSnapshot;
  private long evictionsSeen;

  KeyIndexState(String pipelineId, KeyCodec codec, long indexBytes) {
    this.pipelineId = pipelineId;
    this.codec = codec;
    this.index = LongKeyIndex.withMemory(indexBytes, codec.wide());
  }

  LongKeyIndex index() {
    return index;
  }

  /** Whether every live key of the table is in the index. */
  boolean isComplete() {
    return complete;
  }

  /** Whether a {@link #load} may make the index complete. */
  boolean loadable() {
    return !complete && !tooLarge;
  }

  /** Rows the index pointed at moved (their file left the table): their keys are not in it. */
  void lostKeys() {
    complete = false;
  }

  /** The index holds the table's keys as of {@code snapshot} (plus what was put since). */
  void known(Long snapshot) {
    knownSnapshot = snapshot;
  }

  /** Forgets every indexed key (after a failed or foreign change to the table). */
  void forget() {
    index.clear();
    complete = false;
    tooLarge = false;
  }

  /**
   * Keeps the index complete only while every snapshot from {@code snapshot} back to the one it
   * was complete for is this pipeline's own or a compaction (which moves rows but adds no key),
   * and nothing was evicted.
   */
  void checkStillComplete(Table t, Long snapshot) {
    if (!complete) {
      return;
    }
    if (index.evictions() != evictionsSeen) {
      complete = false;
      tooLarge = true; // the table's keys outgrew the index
      return;
    }
    Long id = snapshot;
    while (id != null && !id.equals(knownSnapshot)) {
      Snapshot s = t.snapshot(id);
      if (s == null) {
        break; // the history was cut (expiry): the gap cannot be checked
      }
      boolean ours = pipelineId.equals(s.summary().get(PipelineState.SUMMARY_PIPELINE_ID));
      if (!ours && !"replace".equals(s.operation())) {
        complete = false; // another writer: it may have written keys
        return;
      }
      id = s.parentId();
    }
    if (id == null ? knownSnapshot != null : !id.equals(knownSnapshot)) {
      complete = false;
    }
  }

  /**
   * Fills the index with every live key of the data files {@code tasks} (the index starts over):
   * from then on a key it lacks is absent, unless the table is too large for it or a key has two
   * live rows.
   */
  void load(Table t, Map<String, FileScanTask> tasks, Locations locations) {
    if (liveRows(tasks) > index.maxKeys()) {
      // More rows than the index holds: reading them all would only overflow it.
      index.clear();
      tooLarge = true;
      complete = false;
      evictionsSeen = index.evictions();
      return;
    }
    index.clear();
    long evictions = index.evictions();
    boolean[] duplicate = {false};
    KeyResolver.all(t, tasks.values(), codec, row -> {
      long location = locations.of(row.file(), tasks.get(row.file()), row.position());
      if (index.get(row.hi(), row.lo()) != LongKeyIndex.NONE) {
        duplicate[0] = true; // written by another engine: look such keys up in the table
      }
      index.put(row.hi(), row.lo(), location);
    });
    // Too large, or a key with two live rows (written by another engine): keys are then looked
    // up in the table per flush, which deletes every row of a key.
    tooLarge = index.evictions() != evictions || duplicate[0];
    complete = !tooLarge;
    evictionsSeen = index.evictions();
  }

  /** The live rows of the data files, as their counts and their position deletes tell. */
  private static long liveRows(Map<String, FileScanTask> tasks) {
    long rows = 0;
    for (FileScanTask task : tasks.values()) {
      rows += task.file().recordCount();
      for (DeleteFile d : task.deletes()) {
        if (d.content() == FileContent.POSITION_DELETES && ContentFileUtil.isFileScoped(d)) {
          rows -= d.recordCount();
        }
      }
    }
    return rows;
  }
}
