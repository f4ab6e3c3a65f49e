package io.crest;

import java.time.Duration;

/**
 * A consistent-enough snapshot of a pipeline's counters, taken by {@link Pipeline#stats()}.
 * Immutable and thread-safe; each counter is read atomically but the set is not one instant.
 *
 * @param rowsIn rows received from the source
 * @param batchesIn batches received from the source
 * @param bytesIn Arrow buffer bytes received from the source
 * @param rowsCommitted rows made visible in the sink by commits
 * @param filesCommitted files added to the sink by commits
 * @param bytesCommitted bytes of the files added to the sink by commits
 * @param commits successful commits
 * @param lastCommitLatency how long the last successful commit took, zero before the first
 * @param errors failures the pipeline saw (at most one is fatal; others are from cleanup)
 * @param deadLettered batches the sink rejected that went to the dead-letter directory
 * @param bufferedBytes Arrow bytes received but not yet written into files, now: the bytes the
 *     buffer limit counts (waiting, being written, or still held by the sink, as {@link
 *     io.crest.spi.SinkWriter#heldBytes()})
 * @param commitConflicts over all successful commits, how many times a commit was applied again
 *     because another writer committed to the target first ({@link CommitEvent#conflicts()})
 * @param commitRetries over all successful commits, the sink's attempts after the first ({@link
 *     CommitEvent#retries()})
 */
public record PipelineStats(
    long rowsIn,
    long batchesIn,
    long bytesIn,
    long rowsCommitted,
    long filesCommitted,
    long bytesCommitted,
    long commits,
    Duration lastCommitLatency,
    long errors,
    long deadLettered,
    long bufferedBytes,
    long commitConflicts,
    long commitRetries) {}
