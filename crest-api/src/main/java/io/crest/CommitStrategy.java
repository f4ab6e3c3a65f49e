package io.crest;

import io.crest.internal.BuiltinCommitStrategy;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a sink turns the files of one flush into a table change: append them, replace the
 * partitions they touch, or upsert rows by key. One flush is always one commit.
 *
 * <p>Built-ins come from the static factories. A user strategy implements this interface,
 * usually by delegating {@link #mode()}, {@link #keyColumns()} and {@link #opColumn()} to a
 * built-in and adding {@link #snapshotProperties} (an audit trail, a job id). Sinks may offer
 * more modes through their own factories (the Iceberg sink's overwrite-by-filter, say).
 *
 * <p>Implementations must be immutable and thread-safe; {@link #snapshotProperties} runs on the
 * committer thread before each commit attempt. If it throws, or returns a key the sink reserves
 * for itself ({@code crest.*}), the commit is not attempted and the pipeline fails: a strategy can
 * stop a commit but not corrupt one.
 */
public interface CommitStrategy {

  /** What a commit does with its files. */
  enum Mode {
    /** Adds the files; nothing else changes. */
    APPEND,
    /** Replaces every partition the files touch with the files' rows (dynamic overwrite). */
    OVERWRITE_PARTITIONS,
    /** Replaces rows matching a filter the sink defines (see the sink's own factories). */
    OVERWRITE_BY_FILTER,
    /** Leaves exactly the latest row of each key: deletes earlier rows of every key written. */
    UPSERT
  }

  /** A short name for logs and errors, such as {@code upsert[order_id]}. */
  String name();

  /** What a commit does with its files. */
  Mode mode();

  /** The key columns, for {@link Mode#UPSERT}; empty otherwise. */
  default List<String> keyColumns() {
    return List.of();
  }

  /**
   * The column that says what each row is ({@code insert}, {@code update} or {@code delete}, as
   * change-data-capture streams carry), for {@link Mode#UPSERT}. A {@code delete} row removes its
   * key; the others upsert. The column itself is not written to the table. Empty when every row is
   * an upsert.
   */
  default Optional<String> opColumn() {
    return Optional.empty();
  }

  /** Properties to add to the summary of the snapshot a commit makes. None by default. */
  default Map<String, String> snapshotProperties(CommitInfo commit) {
    return Map.of();
  }

  /** Appends every file; the default. */
  static CommitStrategy append() {
    return BuiltinCommitStrategy.APPEND;
  }

  /** Replaces the partitions each commit's files touch (the whole table, if unpartitioned). */
  static CommitStrategy overwritePartitions() {
    return BuiltinCommitStrategy.OVERWRITE_PARTITIONS;
  }

  /**
   * Upserts rows by {@code keyColumns}: after each commit every key has exactly its latest row.
   * A key written twice in one flush keeps the later row; a key from an earlier commit is deleted
   * there. Partition source columns must be among the keys.
   *
   * @throws IllegalArgumentException if no key column is given or one is blank or repeated
   */
  static CommitStrategy upsert(String... keyColumns) {
    return BuiltinCommitStrategy.upsert(List.of(keyColumns), null);
  }

  /**
   * Like {@link #upsert(String...)}, with the operation of each row in {@code opColumn}: rows whose
   * op is {@code delete} (or {@code d}, {@code -d}; case-insensitive) remove their key, every other
   * row upserts.
   *
   * @throws IllegalArgumentException if the op column is blank or also a key
   */
  static CommitStrategy upsertWithOps(String opColumn, String... keyColumns) {
    return BuiltinCommitStrategy.upsert(List.of(keyColumns), opColumn);
  }
}
