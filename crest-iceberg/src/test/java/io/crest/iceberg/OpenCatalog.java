package io.crest.iceberg;

import java.io.Closeable;
import java.io.IOException;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;

/** A catalog a test opened, closed with try-with-resources. */
record OpenCatalog(Catalog catalog) implements AutoCloseable {
  Table loadTable(TableIdentifier identifier) {
    return catalog.loadTable(identifier);
  }

  boolean tableExists(TableIdentifier identifier) {
    return catalog.tableExists(identifier);
  }

  @Override
  public void close() throws IOException {
    if (catalog instanceof Closeable) {
      ((Closeable) catalog).close();
    }
  }
}
