package io.crest.iceberg.commit;

import io.crest.CommitStrategy;
import java.util.Objects;
import org.apache.iceberg.expressions.Expression;

/**
 * How a sink's committer commits: the strategy, the row filter of an overwrite-by-filter strategy,
 * the branch and the retry rule. Immutable.
 *
 * @param strategy what each commit does with its files
 * @param overwriteFilter the rows each commit replaces, for {@link
 *     CommitStrategy.Mode#OVERWRITE_BY_FILTER} only, else {@code null}
 * @param branch the branch to commit to, {@code null} for the main branch
 * @param retry how often and how patiently a commit is tried again
 */
public record CommitSettings(
    CommitStrategy strategy, Expression overwriteFilter, String branch, CommitRetry retry) {

  /**
   * Checks that the strategy and the filter go together.
   *
   * @throws IllegalArgumentException if an overwrite-by-filter strategy has no filter
   */
  public CommitSettings {
    Objects.requireNonNull(strategy, "strategy");
    Objects.requireNonNull(retry, "retry");
    if (strategy.mode() == CommitStrategy.Mode.OVERWRITE_BY_FILTER && overwriteFilter == null) {
      throw new IllegalArgumentException("Cannot commit with strategy " + strategy.name()
          + ": it asks for OVERWRITE_BY_FILTER but gives no Iceberg filter (use"
          + " IcebergCommitStrategies.overwriteByFilter)");
    }
  }
}
