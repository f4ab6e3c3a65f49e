package io.crest.iceberg.commit;

import io.crest.CommitInfo;
import io.crest.CommitStrategy;
import io.crest.errors.CommitFailedException;
import io.crest.errors.CommitStateUnknownException;
import io.crest.errors.PipelineFencedException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import org.apache.iceberg.AppendFiles;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.OverwriteFiles;
import org.apache.iceberg.ReplacePartitions;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.SnapshotAncestryValidator;
import org.apache.iceberg.SnapshotUpdate;
import org.apache.iceberg.Table;
import org.apache.iceberg.Transaction;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The committing half of an Iceberg sink: turns each {@link TableCommittable} into one atomic
 * Iceberg metadata commit (the strategy's snapshot operations, Crest's state in the snapshot
 * summary and the state property), fenced against other copies of the pipeline and retried by
 * {@link CommitRetry}. Knows nothing of Arrow.
 *
 * <p>Outcomes:
 *
 * <ul>
 *   <li>a conflict is retried with the same files and commit id;
 *   <li>an unknown outcome is resolved by reading the table for the commit id: found is success;
 *       absent is retried; a failed read is not "absent";
 *   <li>when the last attempt's outcome is unknown, the commit fails as {@link
 *       CommitStateUnknownException} and the files are kept;
 *   <li>once any attempt's outcome was unknown, the commit fails as {@link
 *       CommitFailedException} (after which {@link #abort} deletes the files) only when a
 *       successful read of the table proved the commit absent; a failed read makes it {@link
 *       CommitStateUnknownException}.
 * </ul>
 *
 * <p>Not thread-safe: one committer thread uses it. It owns its own {@link Table} instance (loaded
 * from the catalog, or handed over before that thread starts) and shares it with no other thread.
 * {@link #close} stops its manifest pool; the catalog stays the caller's.
 */
public final class TableCommitter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(TableCommitter.class);

  private final Catalog catalog;
  private final TableIdentifier identifier;
  private final String tableName;
  private final CommitSettings settings;
  private final CommitStrategy strategy;
  private final String pipelineId;
  private final String sourceInstance;
  private Table table;
  // The id of this pipeline's newest commit, which the next commit must follow (the fence).
  private String lastCommitId;
  // Commits with an attempt whose outcome is unknown and that no successful read proved absent.
  private final Set<String> maybeCommitted = new HashSet<>();
  // The latest version of a committable whose deletes were written again, by commit id.
  private final Map<String, TableCommittable> versions = new java.util.HashMap<>();
  private long redos;
  // The snapshot the last commit made, and whether its deletes had to be written again.
  private Snapshot lastSnapshot;
  private boolean lastRedone;
  // Files of a committable's versions replaced by a redo: deleted once the next commit ended,
  // since the writer may have resolved the next flush ahead against them.
  private List<ContentFile<?>> replacedVersions = new ArrayList<>();
  // Of the commit in progress (then the last one): times its operations were applied to a table
  // state (the fence runs once per application) and attempts made.
  private int applications;
  private int attempts;
  // Manifest work of our commits runs on the committing thread (see CallerRunsExecutor).
  private final ExecutorService manifestPool = new CallerRunsExecutor();

  /**
   * Creates a committer for {@code pipelineId}'s commits to {@code identifier}.
   *
   * @param table the table, if the caller has loaded it already; it becomes the committer's own
   *     and must not be used by another thread afterwards. {@code null} loads it at the first
   *     commit.
   * @param sourceInstance the source instance id recorded with every commit, or {@code null}
   * @param lastCommitId the pipeline's last commit as read back at open, {@code null} if none
   */
  public TableCommitter(
      Catalog catalog,
      TableIdentifier identifier,
      Table table,
      CommitSettings settings,
      String pipelineId,
      String sourceInstance,
      String lastCommitId) {
    this.catalog = catalog;
    this.identifier = identifier;
    this.tableName = identifier.toString();
    this.table = table;
    this.settings = settings;
    this.strategy = settings.strategy();
    this.pipelineId = pipelineId;
    this.sourceInstance = sourceInstance;
    this.lastCommitId = lastCommitId;
  }

  /**
   * Commits {@code c} and returns the snapshot it made.
   *
   * @throws CommitFailedException if the commit did not and will not land (conflicts outlasted
   *     the retries, a validation failed, the strategy failed); {@link #abort} may delete its
   *     files
   * @throws PipelineFencedException if another copy of the pipeline committed
   * @throws CommitStateUnknownException if the outcome stays unknown; the files must be kept
   */
  public Snapshot commit(TableCommittable c) {
    long start = System.nanoTime();
    applications = 0;
    attempts = 0;
    long redosBefore = redos;
    List<ContentFile<?>> previousVersions = replacedVersions;
    replacedVersions = new ArrayList<>();
    Snapshot snapshot;
    try {
      snapshot = commitWithRetries(c);
    } finally {
      deleteQuietly(previousVersions);
    }
    lastSnapshot = snapshot;
    lastRedone = redos != redosBefore;
    versions.remove(c.commitId());
    lastCommitId = c.commitId();
    maybeCommitted.remove(c.commitId());
    // A keyed flush may also have rewritten data files without their deleted rows.
    String removed = strategy.mode() != CommitStrategy.Mode.UPSERT ? null
        : snapshot.summary().get(org.apache.iceberg.SnapshotSummary.DELETED_FILES_PROP);
    LOG.info("Committed {} rows in {} files ({} delete files, {} bytes{}) to {} as snapshot {} in"
        + " {} ms ({}, pipeline {})", c.rowCount(), c.fileCount(), c.deleteFileCount(),
        c.byteCount(), removed == null ? ""
            : "; " + removed + " data files rewritten without their deleted rows or dropped",
        tableName, snapshot.snapshotId(), (System.nanoTime() - start) / 1_000_000,
        strategy.name(), pipelineId);
    return snapshot;
  }

  /**
   * Deletes the files of a committable that will not be committed, unless they may be part of the
   * table: when an attempt's outcome was unknown, only a successful read of the table that does
   * not find the commit allows the deletion.
   */
  public void abort(TableCommittable original) {
    // The deletes of a committable may have been written again: abort the version last tried.
    TableCommittable c = versions.getOrDefault(original.commitId(), original);
    versions.remove(original.commitId());
    if (maybeCommitted.contains(c.commitId())) {
      Lookup found = lookUp(c.commitId());
      if (found != Lookup.ABSENT) {
        LOG.warn("Keeping the {} files of commit {} to {}: an attempt's outcome was unknown and"
            + " the table {} (an orphan-file cleanup removes them if they are not referenced)",
            c.fileCount(), c.commitId(), tableName,
            found == Lookup.FOUND ? "holds the commit" : "could not be read to rule it out");
        return;
      }
      maybeCommitted.remove(c.commitId());
    }
    Table t = table();
    for (TableCommittable.FileGroup g : c.groups()) {
      for (ContentFile<?> file : g.data()) {
        t.io().deleteFile(file.location());
      }
      for (ContentFile<?> file : g.deletes()) {
        t.io().deleteFile(file.location());
      }
      for (ContentFile<?> file : g.rewrittenData()) {
        t.io().deleteFile(file.location());
      }
    }
  }

  /**
   * How many times the last commit (the one in progress, during {@link #commit}) was applied again
   * to a newer table state because another writer committed first: by Iceberg's own retries
   * ({@code commit.retry.num-retries}) and by Crest's.
   */
  public int lastConflicts() {
    return Math.max(0, applications - 1);
  }

  /** How many attempts Crest made for the last commit after its first. */
  public int lastRetries() {
    return Math.max(0, attempts - 1);
  }

  /** How many times a commit's deletes were written again after a failed validation. */
  public long redos() {
    return redos;
  }

  private static boolean hasRedo(TableCommittable c) {
    return c.groups().stream().anyMatch(g -> g.redo() != null);
  }

  /**
   * Writes the deletes of every group that can be redone again against the refreshed table;
   * deletes the replaced groups' delete files, which were never committed.
   */
  private TableCommittable redo(TableCommittable c) {
    Table t = refreshed();
    List<TableCommittable.FileGroup> groups = new ArrayList<>();
    List<ContentFile<?>> stale = new ArrayList<>();
    for (TableCommittable.FileGroup g : c.groups()) {
      if (g.redo() == null) {
        groups.add(g);
      } else {
        groups.add(g.redo().redo(t));
        stale.addAll(g.deletes());
        stale.addAll(g.rewrittenData()); // the redo keeps the files they were to replace
      }
    }
    TableCommittable redone = c.withGroups(groups);
    versions.put(c.commitId(), redone);
    replacedVersions.addAll(stale);
    return redone;
  }

  /** The id of the table's current schema, as this committer last read it. */
  public int schemaId() {
    return table().schema().schemaId();
  }

  /** The id of the table's current partition spec, as this committer last read it. */
  public int specId() {
    return table().spec().specId();
  }

  /**
   * Deletes the files of redone commits not deleted yet, and refuses further manifest work. Safe
   * to call twice.
   */
  @Override
  public void close() {
    try {
      deleteQuietly(replacedVersions);
      replacedVersions = new ArrayList<>();
    } finally {
      manifestPool.shutdown();
    }
  }

  private void deleteQuietly(List<ContentFile<?>> files) {
    for (ContentFile<?> f : files) {
      try {
        table().io().deleteFile(f.location());
      } catch (RuntimeException e) {
        LOG.warn("Cannot delete file {} of table {}, written for a commit that was written again"
            + " (an orphan-file cleanup removes it)", f.location(), tableName, e);
      }
    }
  }

  private Table table() {
    if (table == null) {
      table = catalog.loadTable(identifier);
    }
    return table;
  }

  /**
   * Commits with Crest's retries on top of Iceberg's own. Every attempt carries the same commit id
   * and the fencing check, so no attempt can land twice or after another copy of the pipeline.
   */
  private Snapshot commitWithRetries(TableCommittable original) {
    TableCommittable c = original;
    Map<String, String> extra = strategyProperties(c);
    CommitRetry retry = settings.retry();
    RuntimeException last = null;
    for (int attempt = 1; attempt <= retry.maxAttempts(); attempt++) {
      attempts = attempt;
      if (attempt > 1) {
        retry.backoff().pause(attempt - 1);
      }
      Fence fence = new Fence(c.commitId());
      Table t;
      try {
        t = refreshed();
      } catch (RuntimeException e) { // a read that failed commits nothing: try again
        last = e;
        LOG.warn("Cannot read table {} before attempt {} of {} of commit {}: {}", tableName,
            attempt, retry.maxAttempts(), c.commitId(), e.getMessage());
        continue;
      }
      try {
        commitOnce(t, c, fence, extra);
        return PipelineState.findCommit(t, settings.branch(), c.commitId());
      } catch (org.apache.iceberg.exceptions.ValidationException e) {
        if (fence.alreadyCommitted) {
          // An earlier attempt whose outcome was unknown did land.
          return PipelineState.findCommit(refreshed(), settings.branch(), c.commitId());
        }
        Snapshot landed = resolveBeforeGivingUp(c, e);
        if (landed != null) {
          return landed;
        }
        if (!fence.fenced && attempt < retry.maxAttempts() && hasRedo(c)
            && !maybeCommitted.contains(c.commitId())) {
          // The rows the deletes address moved (compaction) or were deleted by another writer
          // since they were resolved: resolve them again against the table as it is now.
          LOG.warn("Commit {} to {} failed validation ({}); writing its deletes again against"
              + " the current snapshot (attempt {} of {})", c.commitId(), tableName,
              e.getMessage(), attempt, retry.maxAttempts());
          c = redo(c);
          redos++;
          continue;
        }
        if (fence.fenced) {
          throw new PipelineFencedException(
              "Cannot commit " + c.fileCount() + " files to table " + tableName + ": pipeline "
                  + pipelineId + " was fenced, commit " + fence.foundCommitId + " of another copy"
                  + " of this pipeline landed "
                  + (lastCommitId == null ? "before this copy's first commit"
                      : "after commit " + lastCommitId + " that this copy continued from")
                  + " (stop this copy: only one copy of a pipeline id may run)", e);
        }
        throw new CommitFailedException(
            "Cannot commit " + c.fileCount() + " files to table " + tableName + " ("
                + strategy.name() + "): " + e.getMessage(), e);
      } catch (org.apache.iceberg.exceptions.CommitFailedException e) {
        last = e;
        LOG.warn("Commit {} to {} conflicted (attempt {} of {}): {}",
            c.commitId(), tableName, attempt, retry.maxAttempts(), e.getMessage());
      } catch (org.apache.iceberg.exceptions.CommitStateUnknownException e) {
        last = e;
        maybeCommitted.add(c.commitId());
        Snapshot landed = findOrNull(c.commitId());
        if (landed != null) {
          LOG.warn("Commit {} to {} reported an unknown state but landed as snapshot {}",
              c.commitId(), tableName, landed.snapshotId());
          return landed;
        }
        LOG.warn("Commit {} to {} has an unknown state and was not found in the table (attempt {}"
            + " of {}); trying again with the same files", c.commitId(), tableName, attempt,
            retry.maxAttempts());
      }
    }
    if (last instanceof org.apache.iceberg.exceptions.CommitStateUnknownException) {
      // The last attempt may still land: never report this as a failure that deletes the files.
      Snapshot landed = findOrNull(c.commitId());
      if (landed != null) {
        return landed;
      }
      throw new CommitStateUnknownException(
          "Cannot tell whether commit " + c.commitId() + " reached table " + tableName + " after "
              + retry.maxAttempts() + " attempts: " + last.getMessage() + " (files kept; a restart"
              + " resumes from what the table really holds)", last);
    }
    Snapshot landed = resolveBeforeGivingUp(c, last);
    if (landed != null) {
      return landed;
    }
    throw new CommitFailedException(
        "Cannot commit " + c.fileCount() + " files (" + c.rowCount() + " rows) to table "
            + tableName + " after " + retry.maxAttempts() + " attempts: " + last.getMessage()
            + " (the files are deleted; a restart reads the rows again)", last);
  }

  /**
   * Before a commit is reported as failed (which lets the files be deleted): if any attempt's
   * outcome was unknown, reads the table once more. Returns the snapshot if the commit is there;
   * {@code null} if a successful read proved it absent.
   *
   * @throws CommitStateUnknownException if the table cannot be read: the files must be kept
   */
  private Snapshot resolveBeforeGivingUp(TableCommittable c, RuntimeException failure) {
    if (!maybeCommitted.contains(c.commitId())) {
      return null;
    }
    Snapshot landed;
    try {
      landed = PipelineState.findCommit(refreshed(), settings.branch(), c.commitId());
    } catch (RuntimeException e) {
      if (failure != null) {
        e.addSuppressed(failure);
      }
      throw new CommitStateUnknownException(
          "Cannot tell whether commit " + c.commitId() + " reached table " + tableName
              + ": an attempt's outcome was unknown and the table cannot be read (" + e.getMessage()
              + "; files kept, a restart resumes from what the table really holds)", e);
    }
    if (landed != null) {
      LOG.warn("Commit {} to {} landed in an attempt whose outcome was unknown, as snapshot {}",
          c.commitId(), tableName, landed.snapshotId());
      return landed;
    }
    maybeCommitted.remove(c.commitId()); // proven absent by a successful read
    return null;
  }

  /** The strategy's own snapshot properties; a failing strategy stops the commit, cleanly. */
  private Map<String, String> strategyProperties(TableCommittable c) {
    Map<String, String> extra;
    try {
      extra = strategy.snapshotProperties(new CommitInfo(
          pipelineId, tableName, c.commitId(), c.rowCount(), c.fileCount(), c.positions()));
    } catch (RuntimeException e) {
      throw new CommitFailedException(
          "Cannot commit to table " + tableName + ": commit strategy " + strategy.name()
              + " failed to give its snapshot properties: " + e.getMessage()
              + " (nothing was committed)", e);
    }
    if (extra == null) {
      return Map.of();
    }
    for (String key : extra.keySet()) {
      if (key == null || key.startsWith(PipelineState.RESERVED_PREFIX)) {
        throw new CommitFailedException(
            "Cannot commit to table " + tableName + ": commit strategy " + strategy.name()
                + " sets snapshot property '" + key + "', and names starting with '"
                + PipelineState.RESERVED_PREFIX + "' are Crest's (nothing was committed)", null);
      }
    }
    return Map.copyOf(extra);
  }

  /** One atomic metadata commit: the strategy's operation(s) with the summary, and the state. */
  private void commitOnce(Table t, TableCommittable c, Fence fence, Map<String, String> extra) {
    String positions = PipelineState.encodePositions(c.positions());
    Transaction tx = t.newTransaction();
    List<SnapshotUpdate<?>> ops = operations(tx, c);
    for (int i = 0; i < ops.size(); i++) {
      SnapshotUpdate<?> op = ops.get(i);
      if (i == 0) {
        op.validateWith(fence);
      }
      if (i == ops.size() - 1) {
        extra.forEach(op::set);
        op.set(PipelineState.SUMMARY_PIPELINE_ID, pipelineId);
        op.set(PipelineState.SUMMARY_COMMIT_ID, c.commitId());
        if (positions.length() <= PipelineState.MAX_SUMMARY_POSITIONS) {
          op.set(PipelineState.SUMMARY_POSITIONS, positions);
        } else {
          op.set(PipelineState.SUMMARY_POSITIONS_IN_STATE, "true");
        }
        if (sourceInstance != null) {
          op.set(PipelineState.SUMMARY_SOURCE_INSTANCE, sourceInstance);
        }
      }
      if (settings.branch() != null) {
        op.toBranch(settings.branch());
      }
      op.scanManifestsWith(manifestPool);
      op.writeManifestsWith(manifestPool, 1);
      op.commit();
    }
    tx.updateProperties()
        .set(PipelineState.STATE_PROPERTY_PREFIX + pipelineId,
            PipelineState.encodeState(c.commitId(), positions, sourceInstance))
        .commit();
    tx.commitTransaction();
  }

  /**
   * The snapshot a group's deletes are validated from: its own, or for a group resolved with the
   * previous commit's files ahead of that commit, the snapshot that commit made when it landed
   * as written (not redone) right on the group's snapshot.
   */
  private Long validateFrom(TableCommittable.FileGroup g) {
    Long from = g.validateFromSnapshot();
    if (g.includesPreviousCommit() && lastSnapshot != null && !lastRedone
        && java.util.Objects.equals(from, lastSnapshot.parentId())) {
      return lastSnapshot.snapshotId();
    }
    if (g.includesPreviousCommit()) {
      LOG.debug("Validating deletes resolved ahead of the previous commit to {} from snapshot {}:"
          + " that commit {}", tableName, from, lastSnapshot == null ? "is not known"
              : lastRedone ? "had its deletes written again" : "did not land on it");
    }
    return from;
  }

  /**
   * The snapshot operations of one commit, in order, inside {@code tx}. A committable without
   * files only moves positions: an empty fast append, whatever the strategy (an empty overwrite
   * by filter would delete rows).
   */
  private List<SnapshotUpdate<?>> operations(Transaction tx, TableCommittable c) {
    List<SnapshotUpdate<?>> ops = new ArrayList<>();
    if (c.positionsOnly()) {
      ops.add(tx.newFastAppend());
      return ops;
    }
    switch (strategy.mode()) {
      case UPSERT:
        for (TableCommittable.FileGroup g : c.groups()) {
          RowDelta delta = tx.newRowDelta();
          g.data().forEach(delta::addRows);
          g.rewrittenData().forEach(delta::addRows);
          g.removedData().forEach(delta::removeRows);
          g.deletes().forEach(delta::addDeletes);
          g.replacedDeletes().forEach(delta::removeDeletes);
          if (g.validateFromSnapshot() != null || g.includesPreviousCommit()) {
            // The deletes address rows as of that snapshot: a file rewritten or deleted since
            // (compaction), or deletes added to the same files since, make the commit fail.
            // (No snapshot: resolved against the empty table, validated from its start.)
            Long from = validateFrom(g);
            if (from != null) {
              delta.validateFromSnapshot(from);
            }
            if (!g.referencedDataFiles().isEmpty()) {
              delta.validateDataFilesExist(g.referencedDataFiles());
            }
            if (!g.referencedDataFiles().isEmpty() || !g.removedData().isEmpty()) {
              // A data file to remove must still be there (a compaction may have replaced it).
              delta.validateDeletedFiles();
            }
            delta.validateNoConflictingDeleteFiles();
          }
          ops.add(delta);
        }
        break;
      case OVERWRITE_PARTITIONS:
        ReplacePartitions replace = tx.newReplacePartitions();
        c.groups().forEach(g -> g.data().forEach(replace::addFile));
        ops.add(replace);
        break;
      case OVERWRITE_BY_FILTER:
        OverwriteFiles overwrite = tx.newOverwrite().overwriteByRowFilter(settings.overwriteFilter());
        c.groups().forEach(g -> g.data().forEach(overwrite::addFile));
        ops.add(overwrite);
        break;
      default:
        AppendFiles append = tx.newFastAppend();
        c.groups().forEach(g -> g.data().forEach(append::appendFile));
        ops.add(append);
    }
    return ops;
  }

  private enum Lookup { FOUND, ABSENT, UNREADABLE }

  private Lookup lookUp(String commitId) {
    try {
      return PipelineState.findCommit(refreshed(), settings.branch(), commitId) != null
          ? Lookup.FOUND : Lookup.ABSENT;
    } catch (RuntimeException e) {
      LOG.warn("Cannot read table {} to resolve commit {}: {}", tableName, commitId, e.getMessage());
      return Lookup.UNREADABLE;
    }
  }

  /** The commit's snapshot, or {@code null} when it is absent or the table cannot be read. */
  private Snapshot findOrNull(String commitId) {
    try {
      return PipelineState.findCommit(refreshed(), settings.branch(), commitId);
    } catch (RuntimeException e) {
      LOG.warn("Cannot read table {} to resolve commit {}: {}", tableName, commitId, e.getMessage());
      return null;
    }
  }

  private Table refreshed() {
    Table t = table();
    t.refresh();
    return t;
  }

  /**
   * The fencing check, run by Iceberg against the refreshed table on every attempt: the newest
   * snapshot of this pipeline in the branch's history must be the commit this copy continued
   * from. It also tells an attempt that an earlier attempt of the same commit already landed.
   */
  private final class Fence implements SnapshotAncestryValidator {
    private final String commitId;
    volatile boolean alreadyCommitted;
    volatile boolean fenced;
    volatile String foundCommitId;

    Fence(String commitId) {
      this.commitId = commitId;
    }

    @Override
    public boolean validate(Iterable<Snapshot> ancestry) {
      applications++; // Iceberg applies the operation again on each of its retries
      alreadyCommitted = false;
      fenced = false;
      for (Snapshot snapshot : ancestry) {
        Map<String, String> summary = snapshot.summary();
        if (pipelineId.equals(summary.get(PipelineState.SUMMARY_PIPELINE_ID))) {
          String found = summary.get(PipelineState.SUMMARY_COMMIT_ID);
          if (commitId.equals(found)) {
            alreadyCommitted = true;
            return false;
          }
          if (found != null && found.equals(lastCommitId)) {
            return true;
          }
          fenced = true;
          foundCommitId = found;
          return false;
        }
      }
      // No commit of this pipeline in the history Iceberg still has: right when it never
      // committed; otherwise its commits expired and the fence cannot be checked here.
      return true;
    }

    @Override
    public String errorMessage() {
      return alreadyCommitted
          ? "commit " + commitId + " of pipeline " + pipelineId + " is already in the table"
          : "pipeline " + pipelineId + " committed " + foundCommitId
              + (lastCommitId == null ? " before this copy's first commit" : " after " + lastCommitId);
    }
  }
}
