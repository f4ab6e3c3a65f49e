package io.crest.iceberg;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.catalog.Catalog;

/**
 * Ways to reach an Iceberg catalog: from Iceberg's own catalog properties, or the embedded local
 * warehouse (a JDBC catalog in a SQLite file next to the data). Stateless and thread-safe.
 */
public final class IcebergCatalogs {
  /** The catalog name Crest uses when none is given. Every reader of a JDBC catalog must use it. */
  public static final String DEFAULT_NAME = "crest";

  private IcebergCatalogs() {}

  /**
   * The catalog properties of the embedded local warehouse in {@code directory}: table data and
   * metadata under it, the catalog in {@code directory/catalog.db} (SQLite). Pass them to {@link
   * #open} to read the tables a pipeline wrote there.
   */
  public static Map<String, String> localWarehouse(Path directory) {
    Objects.requireNonNull(directory, "directory");
    Path dir = directory.toAbsolutePath().normalize();
    Map<String, String> props = new LinkedHashMap<>();
    props.put(CatalogUtil.ICEBERG_CATALOG_TYPE, CatalogUtil.ICEBERG_CATALOG_TYPE_JDBC);
    props.put(CatalogProperties.URI, "jdbc:sqlite:" + dir.resolve("catalog.db"));
    props.put(CatalogProperties.WAREHOUSE_LOCATION, dir.toUri().toString());
    // Views need the V1 schema of the JDBC catalog tables; it is the one new catalogs should use.
    props.put("jdbc.schema-version", "V1");
    // SQLite serialises writers; wait for the lock instead of failing with SQLITE_BUSY.
    props.put("jdbc.busy_timeout", "30000");
    return props;
  }

  /**
   * Opens a catalog from Iceberg catalog properties ({@code type} or {@code catalog-impl}, {@code
   * uri}, {@code warehouse}, ...), as {@link CatalogUtil#buildIcebergCatalog} does. For a local
   * warehouse, creates its directory first. The caller closes the catalog (see {@link
   * #closeQuietly}).
   *
   * @throws IllegalArgumentException if the properties name no catalog type
   */
  public static Catalog open(String name, Map<String, String> properties) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(properties, "properties");
    if (!properties.containsKey(CatalogUtil.ICEBERG_CATALOG_TYPE)
        && !properties.containsKey(CatalogProperties.CATALOG_IMPL)) {
      throw new IllegalArgumentException(
          "Cannot open catalog " + name + ": the properties set neither '"
              + CatalogUtil.ICEBERG_CATALOG_TYPE + "' nor '" + CatalogProperties.CATALOG_IMPL
              + "' (for example type=rest or type=jdbc)");
    }
    String uri = properties.get(CatalogProperties.URI);
    if (uri != null && uri.startsWith("jdbc:sqlite:")) {
      createParent(Path.of(uri.substring("jdbc:sqlite:".length())));
    }
    return CatalogUtil.buildIcebergCatalog(name, properties, hadoopConf());
  }

  /**
   * The Hadoop configuration behind the catalog's file IO. Local {@code file:} paths use Hadoop's
   * raw local file system with permissions set through java.nio ({@link
   * io.crest.iceberg.catalog.LocalFileSystem}): Iceberg files carry their own integrity checks,
   * and the default checksumming one writes a {@code .crc} side file per file, checksums every
   * byte and, without Hadoop's native library, forks a {@code chmod} process for each file it
   * creates. The file systems are not cached, so nothing else in the JVM sees this choice.
   */
  private static Configuration hadoopConf() {
    Configuration conf = new Configuration();
    conf.set("fs.file.impl", io.crest.iceberg.catalog.LocalFileSystem.class.getName());
    conf.setBoolean("fs.file.impl.disable.cache", true);
    return conf;
  }

  /** Closes {@code catalog} if it holds resources; failures are returned, not thrown. */
  public static IOException closeQuietly(Catalog catalog) {
    if (catalog instanceof Closeable) {
      try {
        ((Closeable) catalog).close();
      } catch (IOException e) {
        return e;
      }
    }
    return null;
  }

  private static void createParent(Path file) {
    Path parent = file.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create catalog directory " + parent, e);
    }
  }
}
