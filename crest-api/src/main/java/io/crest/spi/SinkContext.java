package io.crest.spi;

import java.util.Objects;

/**
 * What a pipeline tells a sink when it opens it. Immutable and thread-safe.
 */
public final class SinkContext {
  private final String pipelineId;
  private final String sourceName;
  private final String sourceInstance;

  private SinkContext(String pipelineId, String sourceName, String sourceInstance) {
    this.pipelineId = pipelineId;
    this.sourceName = sourceName;
    this.sourceInstance = sourceInstance;
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
    return new SinkContext(pipelineId, sourceName, null);
  }

  /**
   * Returns this context with the source's instance id (see {@link Source#instanceId()}), which the
   * sink records with every commit.
   */
  public SinkContext withSourceInstance(String sourceInstance) {
    Objects.requireNonNull(sourceInstance, "sourceInstance");
    return new SinkContext(pipelineId, sourceName, sourceInstance);
  }

  /** The id under which the pipeline records its commits, stable across restarts. */
  public String pipelineId() {
    return pipelineId;
  }

  /** The {@link Source#name()} of the pipeline's source. */
  public String sourceName() {
    return sourceName;
  }

  /** The source's instance id, when the source reports one. */
  public java.util.Optional<String> sourceInstance() {
    return java.util.Optional.ofNullable(sourceInstance);
  }
}
