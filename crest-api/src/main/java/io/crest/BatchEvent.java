package io.crest;

import io.crest.spi.SourcePosition;

/**
 * One batch written into the sink's open files, as reported to {@link PipelineListener#onBatch}.
 * Its rows become visible with the next commit. Immutable and thread-safe.
 *
 * @param pipelineId the pipeline that read the batch
 * @param stream the stream the batch came from
 * @param rows the batch's rows
 * @param bytes the batch's Arrow buffer bytes
 * @param positionAfter the stream position after the batch
 * @param arrivalNanos when the batch reached the pipeline, on the {@link System#nanoTime()} clock
 */
public record BatchEvent(
    String pipelineId,
    String stream,
    int rows,
    long bytes,
    SourcePosition positionAfter,
    long arrivalNanos) {}
