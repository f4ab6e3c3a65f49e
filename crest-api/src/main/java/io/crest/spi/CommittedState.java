package io.crest.spi;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * What a pipeline's last commit to a sink recorded: its commit id and every stream's position.
 * Immutable and thread-safe.
 */
public final class CommittedState {
  private static final CommittedState EMPTY = new CommittedState(null, Map.of());

  private final String commitId;
  private final Map<String, SourcePosition> positions;

  private CommittedState(String commitId, Map<String, SourcePosition> positions) {
    this.commitId = commitId;
    this.positions = positions;
  }

  /** The state of a pipeline that never committed. */
  public static CommittedState empty() {
    return EMPTY;
  }

  /** The state recorded by commit {@code commitId}, with the given positions (copied). */
  public static CommittedState of(String commitId, Map<String, SourcePosition> positions) {
    Objects.requireNonNull(commitId, "commitId");
    return new CommittedState(commitId, Map.copyOf(positions));
  }

  /** The id of the last commit, empty when the pipeline never committed. */
  public Optional<String> commitId() {
    return Optional.ofNullable(commitId);
  }

  /** Every stream's position after the last commit, by stream id. Immutable. */
  public Map<String, SourcePosition> positions() {
    return positions;
  }

  @Override
  public String toString() {
    return commitId == null ? "CommittedState[none]"
        : "CommittedState[commitId=" + commitId + ", positions=" + positions + "]";
  }
}
