package io.crest.iceberg;

import io.crest.CommitStrategy;
import java.util.Objects;
import org.apache.iceberg.expressions.Expression;

/**
 * Commit strategies only an Iceberg table can carry out, beside the general ones of {@link
 * CommitStrategy}. Stateless.
 */
public final class IcebergCommitStrategies {
  private IcebergCommitStrategies() {}

  /**
   * Each commit deletes the rows matching {@code filter} and adds its files, in one snapshot
   * (Iceberg's {@code OverwriteFiles.overwriteByRowFilter}). Every row a commit writes must match
   * the filter, or the commit fails.
   */
  public static CommitStrategy overwriteByFilter(Expression filter) {
    return new OverwriteByFilter(Objects.requireNonNull(filter, "filter"));
  }

  /** The strategy made by {@link #overwriteByFilter}. */
  record OverwriteByFilter(Expression filter) implements CommitStrategy {
    @Override
    public String name() {
      return "overwriteByFilter[" + filter + "]";
    }

    @Override
    public Mode mode() {
      return Mode.OVERWRITE_BY_FILTER;
    }
  }
}
