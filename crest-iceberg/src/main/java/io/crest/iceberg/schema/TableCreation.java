package io.crest.iceberg.schema;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.SortOrder;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates a sink's table (and its namespace) from the first batch's Arrow schema, with the
 * layout the sink was built with. Stateless and thread-safe.
 */
public final class TableCreation {
  private static final Logger LOG = LoggerFactory.getLogger(TableCreation.class);

  private TableCreation() {}

  /**
   * Creates {@code identifier} from {@code arrowSchema} less the {@code ignored} columns, or loads
   * it when another writer created it first.
   *
   * @param location the table location, {@code null} for the catalog's default
   * @throws io.crest.errors.ValidationException if the schema or layout cannot be mapped
   */
  public static Table create(
      Catalog catalog,
      TableIdentifier identifier,
      org.apache.arrow.vector.types.pojo.Schema arrowSchema,
      Set<String> ignored,
      List<String> partitionBy,
      List<String> sortBy,
      Map<String, String> tableProperties,
      String location) {
    String tableName = identifier.toString();
    List<Field> fields = arrowSchema.getFields().stream()
        .filter(f -> !ignored.contains(f.getName())).toList();
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(
        new org.apache.arrow.vector.types.pojo.Schema(fields, arrowSchema.getCustomMetadata()),
        tableName);
    PartitionSpec spec = TableLayouts.partitionSpec(schema, partitionBy, tableName);
    SortOrder order = TableLayouts.sortOrder(schema, sortBy, tableName);
    if (catalog instanceof SupportsNamespaces) {
      SupportsNamespaces namespaces = (SupportsNamespaces) catalog;
      if (!namespaces.namespaceExists(identifier.namespace())) {
        try {
          // A mutable map: Iceberg's REST client fails on an immutable empty one.
          namespaces.createNamespace(identifier.namespace(), new HashMap<>());
        } catch (AlreadyExistsException e) {
          // created concurrently by another writer: fine
        } catch (RuntimeException e) {
          // The JDBC catalog reports a concurrent creation as a failed INSERT (unique key), not
          // as AlreadyExistsException: fine if the namespace is there now.
          if (!namespaces.namespaceExists(identifier.namespace())) {
            throw e;
          }
          LOG.debug("Namespace {} was created concurrently", identifier.namespace(), e);
        }
      }
    }
    Map<String, String> properties = new HashMap<>(tableProperties);
    if (needsFormatV3(schema) && !properties.containsKey(TableProperties.FORMAT_VERSION)) {
      // timestamp_ns exists only from format v3 on; the alternative would lose precision.
      properties.put(TableProperties.FORMAT_VERSION, "3");
      LOG.info("Creating {} with format-version 3: it has nanosecond timestamps", tableName);
    }
    try {
      Catalog.TableBuilder builder = catalog.buildTable(identifier, schema)
          .withPartitionSpec(spec)
          .withSortOrder(order)
          .withProperties(properties);
      if (location != null) {
        builder = builder.withLocation(location);
      }
      Table t = builder.create();
      LOG.info("Created table {} with schema {}, partitioned by {}", tableName, t.schema(),
          t.spec());
      return t;
    } catch (AlreadyExistsException e) {
      return catalog.loadTable(identifier);
    }
  }

  private static boolean needsFormatV3(org.apache.iceberg.Schema schema) {
    return TypeUtil.find(schema, type -> type.typeId() == Type.TypeID.TIMESTAMP_NANO) != null;
  }
}
