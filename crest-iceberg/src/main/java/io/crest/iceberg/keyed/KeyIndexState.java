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
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(KeyIndexState.class);

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
  private boolean warned; // that the index is too small for the table

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
      long live = liveRows(snapshot == null ? null : t.snapshot(snapshot));
      warnTooSmall(t.name(), live > index.maxKeys() ? live : index.maxKeys(),
          live > index.maxKeys());
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
    long live = liveRows(tasks);
    if (live > index.maxKeys()) {
      // More rows than the index holds: reading them all would only overflow it.
      warnTooSmall(t.name(), live, true);
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
    if (index.evictions() != evictions) {
      warnTooSmall(t.name(), live, true);
    }
    complete = !tooLarge;
    evictionsSeen = index.evictions();
  }

  /**
   * Says once, naming the table and the setting, that the index cannot hold the table's keys, so
   * every flush reads key columns of the table, and how much memory would hold them all.
   *
   * @param keys the table's live keys ({@code exact}), or a number it has more than
   */
  private void warnTooSmall(String table, long keys, boolean exact) {
    if (warned) {
      return;
    }
    warned = true;
    long needed = LongKeyIndex.memoryFor(keys, index.isWide());
    io.crest.DataSize memory = needed < (1 << 20)
        ? io.crest.DataSize.kib((needed + 1023) >> 10)
        : io.crest.DataSize.mib((needed + (1 << 20) - 1) >> 20);
    String fix = exact ? "A keyIndexMemory of " + memory + " would hold "
        + LongKeyIndex.maxKeys(memory.toBytes(), index.isWide()) + " keys"
        : "Raise keyIndexMemory (" + (index.isWide() ? LongKeyIndex.WIDE_BYTES_PER_KEY
            : LongKeyIndex.BYTES_PER_KEY) + " bytes per key held)";
    LOG.warn("The key index of table {} holds {} keys (in {} bytes) and the table has {}{} live"
        + " keys: each flush looks up the keys the index lacks by reading the key columns of the"
        + " table's data files. {}.", table, index.maxKeys(), index.memoryBytes(),
        exact ? "" : "more than ", exact ? keys : index.maxKeys(), fix);
  }

  /** The live rows of a snapshot by its summary (rows less position deletes), or -1. */
  private static long liveRows(Snapshot s) {
    if (s == null) {
      return -1;
    }
    try {
      return Long.parseLong(s.summary().getOrDefault("total-records", "-1"))
          - Long.parseLong(s.summary().getOrDefault("total-position-deletes", "0"));
    } catch (NumberFormatException e) {
      return -1;
    }
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
