package io.crest;

import io.crest.spi.SourcePosition;
import java.nio.file.Path;

/**
 * A batch the sink rejected, written to the pipeline's dead-letter directory instead of stopping
 * the pipeline, as reported to {@link PipelineListener#onDeadLetter}. Immutable and thread-safe.
 *
 * @param pipelineId the pipeline that read the batch
 * @param stream the stream the batch came from
 * @param positionAfter the stream position after the batch; the pipeline moved past it
 * @param rows the rows of the batch, all in the file
 * @param file the Arrow IPC file holding the batch, with the reason in its footer metadata
 * @param reason why the sink rejected the batch
 */
public record DeadLetterEvent(
    String pipelineId,
    String stream,
    SourcePosition positionAfter,
    int rows,
    Path file,
    String reason) {}
