package io.crest.iceberg;

import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import java.nio.file.Path;
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
  private final Map<String, String> tableProperties;
  private final CommitRetry retry;

  private IcebergSink(Builder b) {
    this.table = b.table;
    this.catalogFactory = b.catalogFactory;
    this.ownsCatalog = b.ownsCatalog;
    this.catalogDescription = b.catalogDescription;
    this.tableProperties = Map.copyOf(b.tableProperties);
    this.retry = b.retry;
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
    Catalog catalog = catalogFactory.get();
    try {
      return new IcebergSinkWriter(catalog, ownsCatalog, table, tableProperties, retry, context);
    } catch (RuntimeException e) {
      if (ownsCatalog) {
        IcebergCatalogs.closeQuietly(catalog);
      }
      throw e;
    }
  }

  @Override
  public String toString() {
    return "IcebergSink[" + table + " in " + catalogDescription + "]";
  }

  /**
   * Builds an {@link IcebergSink}. Exactly one catalog setting is allowed; without one, the sink
   * uses the embedded local warehouse in {@code ./crest-warehouse}. Not thread-safe.
   */
  public static final class Builder {
    private TableIdentifier table;
    private Supplier<Catalog> catalogFactory;
    private boolean ownsCatalog;
    private String catalogDescription;
    private final Map<String, String> tableProperties = new LinkedHashMap<>();
    private CommitRetry retry = CommitRetry.DEFAULT;
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
     * max}, and is jittered (between half and all of it). Defaults to 200 ms up to 30 s.
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
                + retry.initialBackoff() + ".." + retry.maxBackoff());
      }
      backoffSet = true;
      retry = retry.withBackoff(initial, max);
      return this;
    }

    /**
     * Builds the sink.
     *
     * @throws IllegalStateException if no table was set
     */
    public IcebergSink build() {
      if (table == null) {
        throw new IllegalStateException("Cannot build IcebergSink: no table (call table(\"ns.name\"))");
      }
      if (catalogFactory == null) {
        localWarehouse(Path.of("crest-warehouse"));
      }
      return new IcebergSink(this);
    }
  }
}
