package io.crest;

import io.crest.spi.SourcePosition;
import java.time.Duration;
import java.util.Map;

/**
 * One successful commit of a pipeline, as reported to {@link PipelineListener#onCommit}.
 * Immutable and thread-safe.
 *
 * @param pipelineId the pipeline that committed
 * @param sink the sink's name, such as the table
 * @param commitId the commit's id, as recorded in the sink
 * @param reference what the commit made in the sink, such as an Iceberg snapshot id
 * @param rows rows the commit added
 * @param files files the commit added
 * @param bytes bytes of the files the commit added
 * @param latency how long the commit call took
 * @param sinceLastCommit time since the previous commit of this run ended (or since the start)
 * @param positions every stream's position after the commit
 * @param conflicts how many times the commit was applied again to a newer table state because
 *     another writer committed first (see {@link io.crest.spi.CommitResult#conflicts()})
 * @param retries how many attempts the sink made after its first
 */
public record CommitEvent(
    String pipelineId,
    String sink,
    String commitId,
    String reference,
    long rows,
    int files,
    long bytes,
    Duration latency,
    Duration sinceLastCommit,
    Map<String, SourcePosition> positions,
    int conflicts,
    int retries) {

  /** An uncontended commit: no conflict, no retry. */
  public CommitEvent(
      String pipelineId,
      String sink,
      String commitId,
      String reference,
      long rows,
      int files,
      long bytes,
      Duration latency,
      Duration sinceLastCommit,
      Map<String, SourcePosition> positions) {
    this(pipelineId, sink, commitId, reference, rows, files, bytes, latency, sinceLastCommit,
        positions, 0, 0);
  }
}
