package io.crest.spi;

import java.util.Objects;

/**
 * What a pipeline tells a sink when it opens it. Immutable and thread-safe.
 */
public final class SinkContext {
  private final String pipelineId;
  private final String sourceName;

  private SinkContext(String pipelineId, String sourceName) {
    this.pipelineId = pipelineId;
    this.sourceName = sourceName;
  }

  /**
   * Returns a context for the pipeline {@code pipelineId} reading {@code sourceName}.
   *
   * @throws IllegalArgumentException if {@code pipelineId} is empty
   */
  public static SinkContext of(String pipelineId, String sourceName) {
    Objects.requireNonNull(pipelineId, "pipelineId");
    Objects.requireNonNull(sourceName, "sourceName");
    if (pipelineId.isEmpty()) {
      throw new IllegalArgumentException("Cannot create SinkContext: empty pipeline id");
    }
    return new SinkContext(pipelineId, sourceName);
  }

  /** The id under which the pipeline records its commits, stable across restarts. */
  public String pipelineId() {
    return pipelineId;
  }

  /** The {@link Source#name()} of the pipeline's source. */
  public String sourceName() {
    return sourceName;
  }
}
