package io.crest.iceberg.maintenance;

import java.util.List;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.expressions.Expression;

/**
 * A data file's scan task without its deletes, for Iceberg's vectorized Arrow reader, which
 * refuses tasks that carry any: the caller applies the deletes itself (position deletes as a row
 * filter; a task with equality deletes must take another path). Immutable.
 */
public final class TaskWithoutDeletes implements FileScanTask {
  private final FileScanTask task;

  /** The task of {@code task}'s data file range, without its delete files. */
  public TaskWithoutDeletes(FileScanTask task) {
    this.task = task;
  }

  @Override
  public DataFile file() {
    return task.file();
  }

  @Override
  public List<DeleteFile> deletes() {
    return List.of();
  }

  @Override
  public PartitionSpec spec() {
    return task.spec();
  }

  @Override
  public StructLike partition() {
    return task.partition();
  }

  @Override
  public long start() {
    return task.start();
  }

  @Override
  public long length() {
    return task.length();
  }

  @Override
  public Expression residual() {
    return task.residual();
  }

  @Override
  public Iterable<FileScanTask> split(long targetSplitSize) {
    return List.of(this);
  }
}
