package io.crest.internal;

import io.crest.SchemaChange;
import io.crest.SchemaEvolutionPolicy;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/** The built-in {@link SchemaEvolutionPolicy} instances: a name and the kinds they allow. */
public final class BuiltinSchemaPolicy implements SchemaEvolutionPolicy {
  public static final SchemaEvolutionPolicy STRICT =
      new BuiltinSchemaPolicy("strict", EnumSet.noneOf(SchemaChange.Kind.class));
  public static final SchemaEvolutionPolicy ADD_COLUMNS =
      new BuiltinSchemaPolicy("addColumns", EnumSet.of(SchemaChange.Kind.ADD_COLUMN));
  public static final SchemaEvolutionPolicy WIDEN =
      new BuiltinSchemaPolicy(
          "widen",
          EnumSet.of(
              SchemaChange.Kind.ADD_COLUMN,
              SchemaChange.Kind.WIDEN_TYPE,
              SchemaChange.Kind.MAKE_OPTIONAL));
  public static final SchemaEvolutionPolicy FULL =
      new BuiltinSchemaPolicy(
          "full",
          EnumSet.of(
              SchemaChange.Kind.ADD_COLUMN,
              SchemaChange.Kind.WIDEN_TYPE,
              SchemaChange.Kind.MAKE_OPTIONAL,
              SchemaChange.Kind.MISSING_COLUMN,
              SchemaChange.Kind.REORDER));

  private final String name;
  private final Set<SchemaChange.Kind> allowed;

  private BuiltinSchemaPolicy(String name, Set<SchemaChange.Kind> allowed) {
    this.name = name;
    this.allowed = allowed;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public boolean allows(SchemaChange change) {
    return allowed.contains(Objects.requireNonNull(change, "change").kind());
  }

  @Override
  public String toString() {
    return name;
  }
}
