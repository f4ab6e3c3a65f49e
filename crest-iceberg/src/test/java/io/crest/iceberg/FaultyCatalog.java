package io.crest.iceberg;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.HasTableOperations;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableOperations;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.encryption.EncryptionManager;
import org.apache.iceberg.exceptions.CommitFailedException;
import org.apache.iceberg.exceptions.CommitStateUnknownException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.LocationProvider;

/**
 * A real catalog whose tables fail their next commits on request, at the table-operations level
 * where a catalog's own failures happen: a conflict (nothing committed), an unknown outcome after
 * the commit landed, or an unknown outcome without it. Tables must exist before they are loaded
 * through this catalog.
 */
final class FaultyCatalog implements Catalog {
  final AtomicInteger conflicts = new AtomicInteger();
  final AtomicInteger unknownAfterCommit = new AtomicInteger();
  final AtomicInteger unknownWithoutCommit = new AtomicInteger();
  final AtomicInteger commitCalls = new AtomicInteger();
  /** Refreshes (reads of the table's current metadata) that fail from now on, counted down. */
  final AtomicInteger failingRefreshes = new AtomicInteger();
  /** Run once, on the committing thread, before the next commit reaches the real catalog. */
  final java.util.concurrent.atomic.AtomicReference<Runnable> beforeNextCommit =
      new java.util.concurrent.atomic.AtomicReference<>();
  /** Called with "conflict" or "unknown" after each injected commit failure. */
  volatile java.util.function.Consumer<String> onInjected = kind -> {};
  /** The names of the pipeline threads (writer, committer) that used each loaded table. */
  final Map<Table, java.util.Set<String>> pipelineThreads =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final Catalog delegate;

  FaultyCatalog(Catalog delegate) {
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public Table loadTable(TableIdentifier identifier) {
    Table table = delegate.loadTable(identifier);
    Ops ops = new Ops(((HasTableOperations) table).operations());
    BaseTable loaded = new BaseTable(ops, table.name());
    ops.table = loaded;
    pipelineThreads.put(loaded, java.util.concurrent.ConcurrentHashMap.newKeySet());
    return loaded;
  }

  @Override
  public boolean tableExists(TableIdentifier identifier) {
    return delegate.tableExists(identifier);
  }

  @Override
  public TableBuilder buildTable(TableIdentifier identifier, Schema schema) {
    throw new UnsupportedOperationException("create " + identifier + " through the real catalog");
  }

  @Override
  public List<TableIdentifier> listTables(Namespace namespace) {
    return delegate.listTables(namespace);
  }

  @Override
  public boolean dropTable(TableIdentifier identifier, boolean purge) {
    return delegate.dropTable(identifier, purge);
  }

  @Override
  public void renameTable(TableIdentifier from, TableIdentifier to) {
    delegate.renameTable(from, to);
  }

  @Override
  public void initialize(String name, Map<String, String> properties) {}

  private final class Ops implements TableOperations {
    private final TableOperations ops;
    volatile Table table;

    Ops(TableOperations ops) {
      this.ops = ops;
    }

    /** Notes which pipeline thread uses this table instance. */
    private void used() {
      String thread = Thread.currentThread().getName();
      if (table != null && thread.startsWith("crest-")
          && (thread.endsWith("-writer") || thread.endsWith("-committer"))) {
        pipelineThreads.get(table).add(thread);
      }
    }

    @Override
    public TableMetadata current() {
      used();
      return ops.current();
    }

    @Override
    public TableMetadata refresh() {
      used();
      if (take(failingRefreshes)) {
        throw new org.apache.iceberg.exceptions.ServiceUnavailableException(
            "Injected: cannot read the table");
      }
      return ops.refresh();
    }

    @Override
    public void commit(TableMetadata base, TableMetadata metadata) {
      used();
      commitCalls.incrementAndGet();
      Runnable before = beforeNextCommit.getAndSet(null);
      if (before != null) {
        before.run();
      }
      if (take(conflicts)) {
        onInjected.accept("conflict");
        throw new CommitFailedException("Injected conflict");
      }
      if (take(unknownWithoutCommit)) {
        onInjected.accept("unknown");
        throw new CommitStateUnknownException(new RuntimeException("injected: no answer, not committed"));
      }
      ops.commit(base, metadata);
      if (take(unknownAfterCommit)) {
        onInjected.accept("unknown");
        throw new CommitStateUnknownException(new RuntimeException("injected: no answer, committed"));
      }
    }

    @Override
    public FileIO io() {
      used();
      return ops.io();
    }

    @Override
    public EncryptionManager encryption() {
      return ops.encryption();
    }

    @Override
    public String metadataFileLocation(String fileName) {
      return ops.metadataFileLocation(fileName);
    }

    @Override
    public LocationProvider locationProvider() {
      return ops.locationProvider();
    }

    @Override
    public TableOperations temp(TableMetadata uncommittedMetadata) {
      return ops.temp(uncommittedMetadata);
    }

    @Override
    public long newSnapshotId() {
      return ops.newSnapshotId();
    }

    private boolean take(AtomicInteger counter) {
      return counter.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
    }
  }
}
