package io.crest.errors;

/**
 * A pipeline stopped because of a failure, which is the cause. What was committed before the
 * failure stays committed; what was not is read again by the next run from the last committed
 * positions.
 */
public class PipelineFailedException extends CrestException {
  private static final long serialVersionUID = 1L;

  private final String pipelineId;

  /** Creates the exception for pipeline {@code pipelineId}. */
  public PipelineFailedException(String pipelineId, Throwable cause) {
    super("Pipeline " + pipelineId + " failed: " + cause.getMessage(), cause);
    this.pipelineId = pipelineId;
  }

  /** The id of the pipeline that failed. */
  public String pipelineId() {
    return pipelineId;
  }
}
