package io.crest.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a pipeline's last commit to a sink recorded: its commit id and every stream's position.
 * Immutable and thread-safe.
 */
public final class CommittedState {
  private static final CommittedState EMPTY = new CommittedState(null, Map.of(), null);

  private final String commitId;
  private final Map<String, SourcePosition> positions;
  private final String sourceInstance;

  private CommittedState(
      String commitId, Map<String, SourcePosition> positions, String sourceInstance) {
    this.commitId = commitId;
    this.positions = positions;
    this.sourceInstance = sourceInstance;
  }

  /** The state of a pipeline that never committed. */
  public static CommittedState empty() {
    return EMPTY;
  }

  /** The state recorded by commit {@code commitId}, with the given positions (copied). */
  public static CommittedState of(String commitId, Map<String, SourcePosition> positions) {
    return of(commitId, positions, null);
  }

  /**
   * The state recorded by commit {@code commitId}, with the given positions (copied) and the source
   * instance id they were recorded under ({@code null} when the source reported none).
   */
  public static CommittedState of(
      String commitId, Map<String, SourcePosition> positions, String sourceInstance) {
    Objects.requireNonNull(commitId, "commitId");
    return new CommittedState(commitId, Map.copyOf(positions), sourceInstance);
  }

  /** The id of the last commit, empty when the pipeline never committed. */
  public Optional<String> commitId() {
    return Optional.ofNullable(commitId);
  }

  /** Every stream's position after the last commit, by stream id. Immutable. */
  public Map<String, SourcePosition> positions() {
    return positions;
  }

  /** The source instance id the positions were recorded under, when the source reported one. */
  public Optional<String> sourceInstance() {
    return Optional.ofNullable(sourceInstance);
  }

  @Override
  public String toString() {
    return commitId == null ? "CommittedState[none]"
        : "CommittedState[commitId=" + commitId + ", positions=" + positions
            + (sourceInstance == null ? "" : ", sourceInstance=" + sourceInstance) + "]";
  }
}
