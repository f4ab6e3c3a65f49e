package io.crest;

import io.crest.internal.BuiltinSchemaPolicy;

/**
 * Decides which differences between an incoming batch's schema and the table's schema a sink may
 * reconcile, by changing the table or by matching leniently, and which stop the batch.
 *
 * <p>Before it writes the first batch of a new Arrow schema, a sink compares that schema with the
 * table's (by column name, then nested field name) and asks the policy about each {@link
 * SchemaChange}. If the policy allows every change, the sink applies them (adding columns as
 * optional, widening types, making columns optional) in one schema update, then writes; otherwise
 * nothing is written or changed and the batch is rejected with an error naming the table, the
 * columns, both types and the policy. {@link SchemaChange.Kind#INCOMPATIBLE_TYPE} is always
 * rejected, whatever the policy says.
 *
 * <p>Built-ins, each allowing more than the one before:
 *
 * <ul>
 *   <li>{@link #strict()}: no difference at all.
 *   <li>{@link #addColumns()}: new columns, nested struct fields too.
 *   <li>{@link #widen()}: also int to long, float to double, a larger decimal precision, and
 *       required to optional.
 *   <li>{@link #full()}: also columns missing from the batch (written as null) and another column
 *       order.
 * </ul>
 *
 * <p>Implementations must be immutable, thread-safe, quick and free of side effects: a sink may ask
 * about the same change more than once. An implementation that throws rejects the batch.
 */
public interface SchemaEvolutionPolicy {

  /** A short name used in error messages, such as {@code addColumns}. */
  String name();

  /** Whether the sink may reconcile {@code change}. */
  boolean allows(SchemaChange change);

  /** Accepts only batches whose schema matches the table's. The default of sinks. */
  static SchemaEvolutionPolicy strict() {
    return BuiltinSchemaPolicy.STRICT;
  }

  /** Adds columns and nested struct fields the table lacks, as optional. */
  static SchemaEvolutionPolicy addColumns() {
    return BuiltinSchemaPolicy.ADD_COLUMNS;
  }

  /** {@link #addColumns()}, plus type widening and required-to-optional. */
  static SchemaEvolutionPolicy widen() {
    return BuiltinSchemaPolicy.WIDEN;
  }

  /** {@link #widen()}, plus columns missing from the batch and any column order. */
  static SchemaEvolutionPolicy full() {
    return BuiltinSchemaPolicy.FULL;
  }
}
