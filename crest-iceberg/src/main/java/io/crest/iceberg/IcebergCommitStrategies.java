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
   * (Iceberg's {@code OverwriteFiles.overwriteByRowFilter}). The filter must select whole files,
   * such as whole partitions of a table partitioned by the filtered columns: a file with rows on
   * both sides of it makes the commit fail (Iceberg deletes files here, not rows).
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
