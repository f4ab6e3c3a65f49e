package io.crest.iceberg.write;

import io.crest.CommitStrategy;
import io.crest.SchemaEvolutionPolicy;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How a sink's writer writes: the layout of a table it creates, the schema evolution policy, the
 * strategy (append, overwrite, upsert keys and op column) and the writer's own settings. Immutable.
 *
 * @param tableProperties properties of a table the writer creates
 * @param partitionBy partition fields of a table the writer creates, in Iceberg's transform names
 * @param sortBy sort fields of a table the writer creates
 * @param location location of a table the writer creates, {@code null} for the catalog's default
 * @param evolution how batch schemas that differ from the table's are reconciled
 * @param strategy the commit strategy, which decides between append and upsert writing
 * @param maxOpenFiles cap on files open at once in one flush, 0 for none
 * @param clustered whether the rows of a flush arrive grouped by partition
 * @param genericWriter whether Iceberg's generic row writer replaces the columnar one
 * @param encoderThreads threads that encode Parquet files of an unpartitioned table
 * @param equalityDeletes whether upserts delete replaced rows by equality (Iceberg's delta writer)
 *     even where a key index could delete them by position
 * @param keyIndexBytes the heap the key index of an upsert deleting by position may take
 * @param maxDeletedRatio the share of a keyed table's rows that may be deleted rows before a
 *     flush rewrites the most deleted data files without them
 */
public record WriteSettings(
    Map<String, String> tableProperties,
    List<String> partitionBy,
    List<String> sortBy,
    String location,
    SchemaEvolutionPolicy evolution,
    CommitStrategy strategy,
    int maxOpenFiles,
    boolean clustered,
    boolean genericWriter,
    int encoderThreads,
    boolean equalityDeletes,
    long keyIndexBytes,
    double maxDeletedRatio) {

  /** Copies the collections. */
  public WriteSettings {
    tableProperties = Map.copyOf(tableProperties);
    partitionBy = List.copyOf(partitionBy);
    sortBy = List.copyOf(sortBy);
  }

  /**
   * The properties of a table the writer creates: the ones it was given and, for upserts, format
   * version 3 unless a version was given (deletion vectors: one small bitmap per data file that
   * readers apply without a join), and a Parquet bloom filter on each key column ({@code
   * write.parquet.bloom-filter-enabled.column.<key>=true}) unless that property was given, so
   * that finding a key's file and row group skips those whose filter rules the key out.
   */
  public Map<String, String> creationProperties() {
    if (!upsert()) {
      return tableProperties;
    }
    Map<String, String> properties = new java.util.HashMap<>(tableProperties);
    properties.putIfAbsent("format-version", "3");
    for (String key : strategy.keyColumns()) {
      properties.putIfAbsent(
          org.apache.iceberg.TableProperties.PARQUET_BLOOM_FILTER_COLUMN_ENABLED_PREFIX + key,
          "true");
    }
    return Map.copyOf(properties);
  }

  /** Whether rows are upserted by key. */
  public boolean upsert() {
    return strategy.mode() == CommitStrategy.Mode.UPSERT;
  }

  /**
   * Whether upserts into {@code table} go through the key index and delete by position: key
   * columns of the types the index reads ({@link io.crest.iceberg.keyed.KeyCodec}), unless
   * equality deletes were asked for.
   */
  public boolean keyedByIndex(org.apache.iceberg.Schema table) {
    return upsert() && !equalityDeletes
        && io.crest.iceberg.keyed.KeyCodec.unsupported(table, strategy.keyColumns()) == null;
  }

  /** The batch columns that are not table columns: the op column of a CDC upsert. */
  public Set<String> ignoredColumns() {
    return strategy.opColumn().map(Set::of).orElse(Set.of());
  }
}
