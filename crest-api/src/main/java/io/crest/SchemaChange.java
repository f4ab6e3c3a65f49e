package io.crest;

import java.util.Objects;

/**
 * One difference between the schema of an incoming batch and the schema of the target table, as
 * judged by a {@link SchemaEvolutionPolicy}. Immutable and thread-safe.
 *
 * @param kind what differs
 * @param column the column's path, dotted for nested fields (such as {@code payload.tags})
 * @param tableType the column's type in the table, or {@code null} when the table lacks it
 * @param batchType the field's type in the batch, or {@code null} when the batch lacks it
 */
public record SchemaChange(Kind kind, String column, String tableType, String batchType) {

  /** The kinds of difference, from harmless to impossible. */
  public enum Kind {
    /** The batch has a column (or nested struct field) the table lacks; it would be added as optional. */
    ADD_COLUMN,
    /** The batch lacks a table column; its rows would get nulls there (the column must be optional or made so). */
    MISSING_COLUMN,
    /** The batch's type is wider than the table's (int to long, float to double, a larger decimal precision). */
    WIDEN_TYPE,
    /** The batch may hold nulls in a required table column; the column would become optional. */
    MAKE_OPTIONAL,
    /** The batch has the table's columns in another order; they would be matched by name. */
    REORDER,
    /** The batch's type cannot be written to the table's column (string to int, say). Never applied. */
    INCOMPATIBLE_TYPE
  }

  /** Creates a change, checking that kind and column are given. */
  public SchemaChange {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(column, "column");
  }

  /** A readable description, such as {@code ADD_COLUMN 'discount' (batch: decimal(10, 2))}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(kind.name()).append(" '").append(column).append('\'');
    if (tableType != null || batchType != null) {
      sb.append(" (");
      if (tableType != null) {
        sb.append("table: ").append(tableType);
      }
      if (batchType != null) {
        sb.append(tableType != null ? ", " : "").append("batch: ").append(batchType);
      }
      sb.append(')');
    }
    return sb.toString();
  }
}
