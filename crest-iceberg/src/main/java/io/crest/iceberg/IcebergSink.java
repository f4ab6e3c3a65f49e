package io.crest.iceberg;

import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.CommitStrategy;
import io.crest.errors.CrestException;
import io.crest.SchemaEvolutionPolicy;
import io.crest.iceberg.commit.CommitRetry;
import io.crest.iceberg.commit.CommitSettings;
import io.crest.iceberg.schema.TableLayouts;
import io.crest.iceberg.write.WriteSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * A {@link Sink} that appends to one Apache Iceberg table, creating the namespace and the table
 * from the first batch's Arrow schema when they do not exist.
 *
 * <p>Each commit is one Iceberg snapshot (a fast append) whose summary records the pipeline id, a
 * commit id and every stream's position ({@code crest.pipeline-id}, {@code crest.commit-id},
 * {@code crest.positions}). When a pipeline opens the sink, it walks the table's snapshot ancestry
 * back to its own newest snapshot and resumes from the positions recorded there.
 *
 * <pre>{@code
 * IcebergSink.builder()
 *     .catalog(Map.of("type", "rest", "uri", "http://127.0.0.1:8181"))
 *     .table("shop.orders")
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe. A sink built from catalog properties opens its own catalog for each
 * pipeline run and closes it with the run; a {@link Catalog} instance passed in stays the caller's
 * to close.
 */
public final class IcebergSink implements Sink {
  private final TableIdentifier table;
  private final Supplier<Catalog> catalogFactory;
  private final boolean ownsCatalog;
  private final String catalogDescription;
  private final SinkSettings settings;

  private IcebergSink(Builder b) {
    this.table = b.table;
    this.catalogFactory = b.catalogFactory;
    this.ownsCatalog = b.ownsCatalog;
    this.catalogDescription = b.catalogDescription;
    CommitStrategy strategy = b.strategy != null ? b.strategy : CommitStrategy.append();
    this.settings = new SinkSettings(
        new WriteSettings(
            b.tableProperties,
            b.partitionBy,
            b.sortBy,
            b.location,
            b.evolution != null ? b.evolution : SchemaEvolutionPolicy.strict(),
            strategy,
            b.maxOpenFiles,
            b.clustered,
            b.genericWriter,
            b.encoderThreads,
            b.equalityDeletes,
            b.keyIndexMemory.toBytes(),
            b.maxDeletedRatio),
        new CommitSettings(
            strategy,
            strategy instanceof IcebergCommitStrategies.OverwriteByFilter
                ? ((IcebergCommitStrategies.OverwriteByFilter) strategy).filter() : null,
            b.branch,
            b.retry));
  }

  /** Starts building a sink. */
  public static Builder builder() {
    return new Builder();
  }

  /** The table this sink writes, such as {@code shop.orders}. */
  @Override
  public String name() {
    return table.toString();
  }

  /** The table this sink writes. */
  public TableIdentifier table() {
    return table;
  }

  @Override
  public SinkWriter open(SinkContext context) {
    Objects.requireNonNull(context, "context");
    Catalog catalog;
    try {
      catalog = catalogFactory.get();
    } catch (RuntimeException e) {
      // Never the properties in the message: they may hold credentials.
      throw new CrestException(
          "Cannot open catalog " + catalogDescription + " for table " + table + ": "
              + e.getMessage() + " (check the catalog uri and credentials)", e);
    }
    try {
      return new IcebergSinkWriter(catalog, ownsCatalog, table, settings, context);
    } catch (org.apache.iceberg.exceptions.RESTException e) { // 401, 403, 503 and the like
      if (ownsCatalog) {
        IcebergCatalogs.closeQuietly(catalog);
      }
      throw new CrestException(
          "Cannot read table " + table + " in catalog " + catalogDescription + ": "
              + e.getMessage() + " (check the catalog uri and credentials)", e);
    } catch (RuntimeException e) {
      if (ownsCatalog) {
        IcebergCatalogs.closeQuietly(catalog);
      }
      throw e;
    }
  }

  @Override
  public String toString() {
    return "IcebergSink[" + table + " in " + catalogDescription + ", "
        + settings.commit().strategy().name() + ", schema " + settings.write().evolution().name()
        + (settings.commit().branch() == null ? "" : ", branch " + settings.commit().branch())
        + "]";
  }

  /**
   * Builds an {@link IcebergSink}. A table and exactly one catalog setting are required: {@link
   * #catalog(Map)} or {@link #catalog(String, Map)} for catalog properties, {@link
   * #catalog(Catalog)} for a catalog the caller owns, or {@link #localWarehouse(Path)} for the
   * embedded local warehouse. There is no default catalog. Not thread-safe.
   */
  public static final class Builder {
    /** The default cap on files open at once in one flush. */
    public static final int DEFAULT_MAX_OPEN_FILES = 100;
    /** The default heap of the key index of an upsert deleting by position: 64 MiB. */
    public static final io.crest.DataSize DEFAULT_KEY_INDEX_MEMORY = io.crest.DataSize.mib(64);
    /**
     * The default share of a keyed table's rows that may be deleted rows before a flush rewrites
     * the most deleted data files: 0.3, so that readers scan at most about 1.43 times the live
     * rows (Iceberg's {@code RewriteDataFiles} rewrites a file past the same ratio).
     */
    public static final double DEFAULT_MAX_DELETED_RATIO = 0.3;

    private TableIdentifier table;
    private Supplier<Catalog> catalogFactory;
    private boolean ownsCatalog;
    private String catalogDescription;
    private final Map<String, String> tableProperties = new LinkedHashMap<>();
    private CommitRetry retry = CommitRetry.DEFAULT;
    private final List<String> partitionBy = new ArrayList<>();
    private final List<String> sortBy = new ArrayList<>();
    private String location;
    private SchemaEvolutionPolicy evolution;
    private CommitStrategy strategy;
    private String branch;
    private int maxOpenFiles = DEFAULT_MAX_OPEN_FILES;
    private boolean maxOpenFilesSet;
    private boolean clustered;
    private boolean genericWriter;
    private boolean equalityDeletes;
    private io.crest.DataSize keyIndexMemory = DEFAULT_KEY_INDEX_MEMORY;
    private boolean keyIndexMemorySet;
    private double maxDeletedRatio = DEFAULT_MAX_DELETED_RATIO;
    private boolean maxDeletedRatioSet;
    private int encoderThreads = 1;
    private boolean encoderThreadsSet;
    private boolean attemptsSet;
    private boolean backoffSet;

    private Builder() {}

    /**
     * Uses a catalog built from Iceberg catalog properties, named {@value
     * IcebergCatalogs#DEFAULT_NAME}. The sink opens and closes it for each pipeline run.
     *
     * @throws IllegalArgumentException if the properties name no catalog type or implementation
     * @throws IllegalStateException if a catalog was set before
     */
    public Builder catalog(Map<String, String> properties) {
      return catalog(IcebergCatalogs.DEFAULT_NAME, properties);
    }

    /**
     * Uses a catalog named {@code name} built from Iceberg catalog properties ({@code type} or
     * {@code catalog-impl}, {@code uri}, {@code warehouse}, credentials...). The sink opens and
     * closes it for each pipeline run.
     *
     * @throws IllegalArgumentException if the properties name no catalog type or implementation
     * @throws IllegalStateException if a catalog was set before
     */
    public Builder catalog(String name, Map<String, String> properties) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(properties, "properties");
      if (!properties.containsKey("type") && !properties.containsKey("catalog-impl")) {
        throw new IllegalArgumentException(
            "Cannot use catalog " + name + ": its properties set neither 'type' nor "
                + "'catalog-impl' (for example type=rest with uri=http://host:8181)");
      }
      Map<String, String> copy = Map.copyOf(properties);
      String description = name + " (" + properties.getOrDefault("type",
          properties.get("catalog-impl")) + ")";
      return setCatalog(() -> IcebergCatalogs.open(name, copy), true, description);
    }

    /**
     * Uses a catalog the caller already has and keeps closing.
     *
     * @throws IllegalStateException if a catalog was set before
     */
    public Builder catalog(Catalog catalog) {
      Objects.requireNonNull(catalog, "catalog");
      return setCatalog(() -> catalog, false, catalog.name());
    }

    /**
     * Uses the embedded local warehouse in {@code directory}: a JDBC catalog in a SQLite file with
     * the data beside it (see {@link IcebergCatalogs#localWarehouse}).
     *
     * @throws IllegalStateException if a catalog was set before
     */
    public Builder localWarehouse(Path directory) {
      Map<String, String> props = IcebergCatalogs.localWarehouse(directory);
      return setCatalog(
          () -> IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, props),
          true,
          "local warehouse " + directory);
    }

    private Builder setCatalog(Supplier<Catalog> factory, boolean owns, String description) {
      if (catalogFactory != null) {
        throw new IllegalStateException(
            "Cannot use catalog " + description + ": already set to " + catalogDescription);
      }
      this.catalogFactory = factory;
      this.ownsCatalog = owns;
      this.catalogDescription = description;
      return this;
    }

    /**
     * Sets the table, as {@code namespace.table} (nested namespaces separated by dots too).
     *
     * @throws IllegalArgumentException if the name has no namespace or an empty part
     * @throws IllegalStateException if the table was set before
     */
    public Builder table(String name) {
      Objects.requireNonNull(name, "name");
      String[] parts = name.split("\\.", -1);
      if (parts.length < 2) {
        throw new IllegalArgumentException(
            "Cannot use table '" + name + "': name it with its namespace, as namespace.table");
      }
      for (String part : parts) {
        if (part.isBlank()) {
          throw new IllegalArgumentException(
              "Cannot use table '" + name + "': it has an empty name part");
        }
      }
      return table(TableIdentifier.of(parts));
    }

    /**
     * Sets the table.
     *
     * @throws IllegalArgumentException if the identifier has no namespace
     * @throws IllegalStateException if the table was set before
     */
    public Builder table(TableIdentifier identifier) {
      Objects.requireNonNull(identifier, "identifier");
      if (identifier.namespace().isEmpty()) {
        throw new IllegalArgumentException(
            "Cannot use table '" + identifier + "': name it with its namespace, as namespace.table");
      }
      if (this.table != null) {
        throw new IllegalStateException(
            "Cannot use table " + identifier + ": already set to " + this.table);
      }
      this.table = identifier;
      return this;
    }

    /**
     * Sets a table property applied when the sink creates the table, such as {@code
     * write.parquet.compression-codec} or {@code write.target-file-size-bytes}. An existing table
     * keeps its own properties.
     *
     * @throws IllegalStateException if the property was set before
     */
    public Builder tableProperty(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      if (tableProperties.containsKey(key)) {
        throw new IllegalStateException(
            "Cannot set table property " + key + "=" + value + ": already set to "
                + tableProperties.get(key));
      }
      tableProperties.put(key, value);
      return this;
    }

    /**
     * Sets the partition fields of a table the sink creates, in Iceberg's transform names: {@code
     * region}, {@code bucket(16, customer)}, {@code truncate(4, name)}, {@code
     * year|month|day|hour(ts)}. An existing table keeps its spec, whatever it is (partition
     * evolution included): the sink always writes to the table's current spec.
     *
     * @throws IllegalArgumentException if a field is not of one of these forms
     * @throws IllegalStateException if the partition fields were set before
     */
    public Builder partitionBy(String... fields) {
      if (!partitionBy.isEmpty()) {
        throw new IllegalStateException(
            "Cannot partition by " + List.of(fields) + ": already partitioned by " + partitionBy);
      }
      for (String field : fields) {
        TableLayouts.checkPartitionField(Objects.requireNonNull(field, "field"));
      }
      partitionBy.addAll(List.of(fields));
      return this;
    }

    /**
     * Sets the sort order of a table the sink creates, as {@code column [ASC|DESC] [NULLS
     * FIRST|LAST]} fields.
     *
     * @throws IllegalArgumentException if a field is not of that form
     * @throws IllegalStateException if the sort order was set before
     */
    public Builder sortBy(String... fields) {
      if (!sortBy.isEmpty()) {
        throw new IllegalStateException(
            "Cannot sort by " + List.of(fields) + ": already sorted by " + sortBy);
      }
      for (String field : fields) {
        TableLayouts.checkSortField(Objects.requireNonNull(field, "field"));
      }
      sortBy.addAll(List.of(fields));
      return this;
    }

    /**
     * Sets the location of a table the sink creates, instead of the catalog's default.
     *
     * @throws IllegalStateException if the location was set before
     */
    public Builder location(String tableLocation) {
      Objects.requireNonNull(tableLocation, "tableLocation");
      if (location != null) {
        throw new IllegalStateException(
            "Cannot set table location to " + tableLocation + ": already set to " + location);
      }
      location = tableLocation;
      return this;
    }

    /**
     * Sets the format version of a table the sink creates (1, 2 or 3; Iceberg's default is 2).
     * A table with nanosecond timestamps is created with version 3 unless this says otherwise.
     *
     * @throws IllegalArgumentException if the version is not 1, 2 or 3
     * @throws IllegalStateException if the version was set before
     */
    public Builder formatVersion(int version) {
      if (version < 1 || version > 3) {
        throw new IllegalArgumentException(
            "Cannot set format version " + version + ": Iceberg 1.12 writes versions 1 to 3");
      }
      return tableProperty("format-version", Integer.toString(version));
    }

    /**
     * Sets how the sink reconciles a batch schema that differs from the table's. Defaults to
     * {@link SchemaEvolutionPolicy#strict()}.
     *
     * @throws IllegalStateException if the policy was set before
     */
    public Builder schemaEvolution(SchemaEvolutionPolicy policy) {
      Objects.requireNonNull(policy, "policy");
      if (evolution != null) {
        throw new IllegalStateException(
            "Cannot set schema evolution to " + policy.name() + ": already set to "
                + evolution.name());
      }
      evolution = policy;
      return this;
    }

    /**
     * Sets what each commit does with its files. Defaults to {@link CommitStrategy#append()}.
     *
     * @throws IllegalStateException if the strategy was set before
     */
    public Builder commitStrategy(CommitStrategy commitStrategy) {
      Objects.requireNonNull(commitStrategy, "commitStrategy");
      if (strategy != null) {
        throw new IllegalStateException(
            "Cannot set commit strategy to " + commitStrategy.name() + ": already set to "
                + strategy.name());
      }
      strategy = commitStrategy;
      return this;
    }

    /**
     * Commits to branch {@code name} instead of the main branch (write-audit-publish); the branch
     * is created by the first commit if it does not exist. The pipeline's state is read from that
     * branch too.
     *
     * @throws IllegalArgumentException if the name is blank
     * @throws IllegalStateException if the branch was set before
     */
    public Builder branch(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("Cannot commit to branch '" + name + "': blank name");
      }
      if (branch != null) {
        throw new IllegalStateException(
            "Cannot commit to branch " + name + ": already set to " + branch);
      }
      branch = name;
      return this;
    }

    /**
     * Sets how many files of different partitions one flush may keep open at once (default
     * {@value #DEFAULT_MAX_OPEN_FILES}). When a batch would open one more, every open file is
     * closed first, so memory stays bounded at the cost of more, smaller files. 0 means no cap.
     *
     * @throws IllegalArgumentException if {@code files} is negative
     * @throws IllegalStateException if the cap was set before
     */
    public Builder maxOpenFiles(int files) {
      if (files < 0) {
        throw new IllegalArgumentException(
            "Cannot set max open files to " + files + ": it must be 0 (no cap) or more");
      }
      if (maxOpenFilesSet) {
        throw new IllegalStateException(
            "Cannot set max open files to " + files + ": already set to " + maxOpenFiles);
      }
      maxOpenFilesSet = true;
      maxOpenFiles = files;
      return this;
    }

    /**
     * Declares that the rows of each flush arrive grouped by partition (sorted input), so one file
     * is open at a time. Rows of a partition whose file was already closed fail the batch.
     */
    public Builder clustered() {
      clustered = true;
      return this;
    }

    /**
     * Writes through Iceberg's generic row writer (Arrow rows to Iceberg records to Parquet)
     * instead of Crest's columnar writer, which encodes Parquet straight from Arrow buffers and is
     * the default for the append and overwrite strategies, partitioned or not (upserts, other file
     * formats and partition source columns of decimal, uuid or nanosecond timestamp type use the
     * generic writer either way).
     */
    public Builder genericWriter() {
      genericWriter = true;
      return this;
    }

    /**
     * Makes upserts delete replaced rows by equality (Iceberg's equality-delta writer: an equality
     * delete per key not written earlier in the same flush), the only way for key columns of
     * types the key index does not hold (float, double, decimal, boolean, time, nanosecond
     * timestamp). By default an upsert (key columns of int, long, date, timestamp, string, uuid,
     * fixed or binary) deletes by position: through a key index it finds the row each key has now
     * and deletes it
     * with a deletion vector (format 3) or a position delete (format 2), which readers apply
     * without joining; a key proven absent gets no delete. Equality deletes cost nothing to find
     * but every later read joins every data file against them.
     */
    public Builder equalityDeletes() {
      equalityDeletes = true;
      return this;
    }

    /**
     * Sets the share of a keyed table's rows (an upsert deleting by position) that may be
     * deleted rows (default {@link #DEFAULT_MAX_DELETED_RATIO}). A reader
     * scans every row of a data file and drops the deleted ones, so a table whose keys were
     * replaced many times costs more to read than its live rows; a flush that would push the
     * deleted rows above this share also rewrites the most deleted data files without them, in
     * its own commit, until the share is met. Readers then scan at most {@code 1 / (1 - ratio)}
     * times the live rows. A lower ratio reads faster and writes more: under upserts spread
     * evenly over the keys, the rows rewritten per flush grow as the ratio falls (see {@code
     * crest-bench/README.md}). {@code 1.0} rewrites nothing; at any ratio a data file whose every
     * row is deleted leaves the table.
     *
     * @throws IllegalArgumentException if {@code ratio} is not above 0 and at most 1
     * @throws IllegalStateException if the ratio was set before
     */
    public Builder maxDeletedRatio(double ratio) {
      if (!(ratio > 0 && ratio <= 1)) {
        throw new IllegalArgumentException(
            "Cannot set max deleted ratio to " + ratio + ": it must be above 0 and at most 1");
      }
      if (maxDeletedRatioSet) {
        throw new IllegalStateException("Cannot set max deleted ratio to " + ratio
            + ": already set to " + maxDeletedRatio);
      }
      maxDeletedRatioSet = true;
      maxDeletedRatio = ratio;
      return this;
    }

    /**
     * Sets the heap the key index of an upsert deleting by position may take (default {@link
     * #DEFAULT_KEY_INDEX_MEMORY}; about 22 bytes per key of one int or long column, 33 per other
     * key, held by its 128-bit hash). Keys it does not hold (evicted, or after a restart) are
     * looked up in the table once per flush: in every data file whose key bounds may hold them
     * (every data file for hashed keys), reading the key columns.
     *
     * @throws IllegalArgumentException if {@code memory} is below 1 KiB
     * @throws IllegalStateException if the memory was set before
     */
    public Builder keyIndexMemory(io.crest.DataSize memory) {
      Objects.requireNonNull(memory, "memory");
      if (memory.toBytes() < 1024) {
        throw new IllegalArgumentException(
            "Cannot set key index memory to " + memory + ": it must be at least 1 KiB");
      }
      if (keyIndexMemorySet) {
        throw new IllegalStateException(
            "Cannot set key index memory to " + memory + ": already set to " + keyIndexMemory);
      }
      keyIndexMemorySet = true;
      keyIndexMemory = memory;
      return this;
    }

    /**
     * Sets how many threads encode the Parquet files of an unpartitioned table (default 1): each
     * thread writes its own files, so a commit adds up to {@code threads} files, and batches are
     * handed to the threads without copying. More threads raise throughput when encoding is the
     * bottleneck and cores are free; partitioned tables and Iceberg's generic writer always
     * encode on the pipeline's writer thread. Up to {@code 2 x threads} written batches wait for
     * or are being encoded on those threads; their Arrow buffers count against the pipeline's
     * {@link io.crest.Pipeline.Builder#bufferLimit} until a thread let go of them, so the source
     * waits for the encoders rather than exceed it (a limit of fewer than about {@code 2 x
     * threads} batches leaves threads idle).
     *
     * @throws IllegalArgumentException if {@code threads} is not positive
     * @throws IllegalStateException if the threads were set before
     */
    public Builder encoderThreads(int threads) {
      if (threads < 1) {
        throw new IllegalArgumentException(
            "Cannot set encoder threads to " + threads + ": at least one is needed");
      }
      if (encoderThreadsSet) {
        throw new IllegalStateException(
            "Cannot set encoder threads to " + threads + ": already set to " + encoderThreads);
      }
      encoderThreadsSet = true;
      encoderThreads = threads;
      return this;
    }

    /**
     * Sets how many times a commit is attempted when it conflicts with other writers after
     * Iceberg's own retries ({@code commit.retry.*} table properties) gave up, or when its outcome
     * is unknown and it is not in the table. Defaults to 8. Each attempt commits the same files
     * under the same commit id, and is refused if another copy of the pipeline committed.
     *
     * @throws IllegalArgumentException if {@code attempts} is not positive
     * @throws IllegalStateException if the attempts were set before
     */
    public Builder commitAttempts(int attempts) {
      if (attempts < 1) {
        throw new IllegalArgumentException(
            "Cannot set commit attempts to " + attempts + ": at least one attempt is needed");
      }
      if (attemptsSet) {
        throw new IllegalStateException(
            "Cannot set commit attempts to " + attempts + ": already set to "
                + retry.maxAttempts());
      }
      attemptsSet = true;
      retry = retry.withAttempts(attempts);
      return this;
    }

    /**
     * Sets the pause between commit attempts: it starts at {@code initial}, doubles up to {@code
     * max}, and is jittered (between half and all of it), the rule of {@link
     * io.crest.spi.Backoff}. Defaults to 200 ms up to 30 s.
     *
     * @throws IllegalArgumentException if {@code initial} is negative or {@code max} is below it
     * @throws IllegalStateException if the backoff was set before
     */
    public Builder commitBackoff(Duration initial, Duration max) {
      Objects.requireNonNull(initial, "initial");
      Objects.requireNonNull(max, "max");
      if (initial.isNegative() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "Cannot set commit backoff " + initial + ".." + max
                + ": it must be non-negative and max must not be below initial");
      }
      if (backoffSet) {
        throw new IllegalStateException(
            "Cannot set commit backoff to " + initial + ".." + max + ": already set to "
                + retry.backoff().initial() + ".." + retry.backoff().max());
      }
      backoffSet = true;
      retry = retry.withBackoff(initial, max);
      return this;
    }

    /** The checks of an upsert that need no table: they fail at build time, not at a batch. */
    private void checkUpsert() {
      if (clustered) {
        throw new IllegalStateException(
            "Cannot build IcebergSink: strategy " + strategy.name() + " keeps a writer per"
                + " partition and cannot use clustered()");
      }
      if ("1".equals(tableProperties.get("format-version"))) {
        throw new IllegalStateException(
            "Cannot build IcebergSink for table " + table + ": strategy " + strategy.name()
                + " needs row-level deletes, which format version 1 does not have (use"
                + " formatVersion(2) or 3)");
      }
      // Deleting by position finds a key's row in any partition; equality deletes only within
      // the row's partition, so there a key must never move between partitions. (Keys of types
      // the index does not read fall back to equality deletes: checked against the table.)
      boolean byPosition = !equalityDeletes;
      for (String field : byPosition ? List.<String>of() : partitionBy) {
        String column = TableLayouts.sourceColumn(field);
        if (!strategy.keyColumns().contains(column)) {
          throw new IllegalStateException(
              "Cannot build IcebergSink for table " + table + ": partition field '" + field
                  + "' comes from column '" + column + "', which is not a key of strategy "
                  + strategy.name() + " (add it to the keys, so a key never moves between"
                  + " partitions: equality deletes only reach rows of their own partition)");
        }
      }
    }

    /**
     * Builds the sink.
     *
     * @throws IllegalStateException if no table or no catalog was set
     */
    public IcebergSink build() {
      if (table == null) {
        throw new IllegalStateException("Cannot build IcebergSink: no table (call table(\"ns.name\"))");
      }
      if (strategy != null && strategy.mode() == CommitStrategy.Mode.UPSERT) {
        checkUpsert();
      }
      if (strategy != null && strategy.mode() == CommitStrategy.Mode.OVERWRITE_BY_FILTER
          && !(strategy instanceof IcebergCommitStrategies.OverwriteByFilter)) {
        throw new IllegalStateException(
            "Cannot build IcebergSink: strategy " + strategy.name() + " asks for"
                + " OVERWRITE_BY_FILTER but gives no Iceberg filter (use"
                + " IcebergCommitStrategies.overwriteByFilter(filter) itself, not a strategy"
                + " that delegates its mode to it)");
      }
      if (catalogFactory == null) {
        throw new IllegalStateException(
            "Cannot build IcebergSink for table " + table + ": no catalog (call catalog(Map) with"
                + " catalog properties, catalog(Catalog) with a catalog you own, or"
                + " localWarehouse(dir) for the embedded local warehouse in a directory)");
      }
      return new IcebergSink(this);
    }
  }
}
