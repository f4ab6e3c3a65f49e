package io.crest;

import io.crest.spi.SourcePosition;
import java.util.Map;

/**
 * What a commit is about to record, as shown to {@link CommitStrategy#snapshotProperties}.
 * Immutable and thread-safe.
 *
 * @param pipelineId the pipeline committing
 * @param target the sink's target, such as a table name
 * @param commitId the id of the commit, the same in every attempt
 * @param rows rows the commit writes (data rows; deletes not counted)
 * @param files files the commit adds
 * @param positions every stream's position after the commit
 */
public record CommitInfo(
    String pipelineId,
    String target,
    String commitId,
    long rows,
    int files,
    Map<String, SourcePosition> positions) {}
