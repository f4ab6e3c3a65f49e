package io.crest.internal;

import io.crest.CommitStrategy;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** The built-in {@link CommitStrategy} instances. */
public final class BuiltinCommitStrategy implements CommitStrategy {
  public static final CommitStrategy APPEND = new BuiltinCommitStrategy(Mode.APPEND, List.of(), null);
  public static final CommitStrategy OVERWRITE_PARTITIONS =
      new BuiltinCommitStrategy(Mode.OVERWRITE_PARTITIONS, List.of(), null);

  private final Mode mode;
  private final List<String> keys;
  private final String opColumn;

  private BuiltinCommitStrategy(Mode mode, List<String> keys, String opColumn) {
    this.mode = mode;
    this.keys = keys;
    this.opColumn = opColumn;
  }

  /** An upsert on {@code keys}, with the op column or {@code null}. */
  public static CommitStrategy upsert(List<String> keys, String opColumn) {
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("Cannot create upsert strategy: no key column given");
    }
    HashSet<String> seen = new HashSet<>();
    for (String key : keys) {
      Objects.requireNonNull(key, "key column");
      if (key.isBlank()) {
        throw new IllegalArgumentException("Cannot create upsert strategy: blank key column");
      }
      if (!seen.add(key)) {
        throw new IllegalArgumentException(
            "Cannot create upsert strategy: key column '" + key + "' given twice");
      }
    }
    if (opColumn != null && (opColumn.isBlank() || seen.contains(opColumn))) {
      throw new IllegalArgumentException(
          "Cannot create upsert strategy: op column '" + opColumn
              + "' must be a non-blank column that is not a key");
    }
    return new BuiltinCommitStrategy(Mode.UPSERT, List.copyOf(keys), opColumn);
  }

  @Override
  public String name() {
    switch (mode) {
      case UPSERT:
        return "upsert" + keys + (opColumn == null ? "" : " with ops in " + opColumn);
      case OVERWRITE_PARTITIONS:
        return "overwritePartitions";
      default:
        return "append";
    }
  }

  @Override
  public Mode mode() {
    return mode;
  }

  @Override
  public List<String> keyColumns() {
    return keys;
  }

  @Override
  public Optional<String> opColumn() {
    return Optional.ofNullable(opColumn);
  }

  @Override
  public String toString() {
    return name();
  }
}
