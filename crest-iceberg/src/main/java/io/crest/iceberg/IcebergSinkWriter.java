package io.crest.iceberg;

import io.crest.errors.CrestException;
import io.crest.iceberg.commit.PipelineState;
import io.crest.iceberg.commit.TableCommittable;
import io.crest.iceberg.commit.TableCommitter;
import io.crest.iceberg.write.TableFileWriter;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.util.Map;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One pipeline run's writer for an Iceberg table, in two halves that meet only through immutable
 * {@link TableCommittable}s: a {@link TableFileWriter} on the pipeline's writer thread (schema,
 * routing, open files) and a {@link TableCommitter} on its committer thread (state, fencing,
 * retries, the Iceberg operations). Each half owns its own {@link Table} instance.
 *
 * <p>Threads follow {@link SinkWriter}. {@link #close} closes both halves, and the catalog when
 * the sink opened it.
 */
final class IcebergSinkWriter implements SinkWriter {
  private static final Logger LOG = LoggerFactory.getLogger(IcebergSinkWriter.class);

  private final Catalog catalog;
  private final boolean ownsCatalog;
  private final TableIdentifier identifier;
  private final String branch;
  private final CommittedState restored;
  private final TableFileWriter writer;
  private final TableCommitter committer;
  private boolean closed;

  IcebergSinkWriter(
      Catalog catalog,
      boolean ownsCatalog,
      TableIdentifier identifier,
      SinkSettings settings,
      SinkContext context) {
    // Initialise Iceberg's thread pools now: their class registers a JVM shutdown hook when first
    // used, which fails if that first use is a commit made while the JVM shuts down (a pipeline
    // stopped from a shutdown hook).
    org.apache.iceberg.util.ThreadPools.getWorkerPool();
    org.apache.iceberg.util.ThreadPools.getDeleteWorkerPool();
    this.catalog = catalog;
    this.ownsCatalog = ownsCatalog;
    this.identifier = identifier;
    this.branch = settings.commit().branch();
    // The committer's own table instance: read for the state here, then handed to the committer
    // before the pipeline's threads start.
    Table table = catalog.tableExists(identifier) ? catalog.loadTable(identifier) : null;
    if (table != null) {
      TableFileWriter.prepareForShutdownCommits(table);
    }
    this.restored = table == null
        ? CommittedState.empty()
        : PipelineState.find(table, settings.commit().branch(), context.pipelineId());
    this.writer = new TableFileWriter(catalog, identifier, settings.write(), context.pipelineId(),
        settings.commit().branch());
    this.committer = new TableCommitter(catalog, identifier, table, settings.commit(),
        context.pipelineId(), context.sourceInstance().orElse(null),
        restored.commitId().orElse(null));
  }

  @Override
  public CommittedState restoredState() {
    return restored;
  }

  /** Reads a table instance of its own, so any thread may call it. */
  @Override
  public Map<String, CommittedState> committedStates(String pipelineIdPrefix) {
    if (!catalog.tableExists(identifier)) {
      return Map.of();
    }
    return PipelineState.findAll(catalog.loadTable(identifier), branch, pipelineIdPrefix);
  }

  @Override
  public void write(SourceBatch batch) {
    writer.write(batch.root());
  }

  @Override
  public long heldBytes() {
    return writer.heldBytes();
  }

  @Override
  public void onHeldBytesReleased(Runnable listener) {
    writer.onHeldBytesReleased(listener);
  }

  @Override
  public void checkSchema(Schema schema) {
    writer.checkSchema(schema);
  }

  @Override
  public Committable prepareCommit(Map<String, SourcePosition> positions) {
    return writer.prepare(positions);
  }

  @Override
  public CommitResult commit(Committable committable) {
    Snapshot snapshot;
    long redos = committer.redos();
    try {
      snapshot = committer.commit((TableCommittable) committable);
      if (committer.redos() != redos) {
        writer.keyIndexStale(); // rows moved under the index (compaction): it starts over
      }
    } catch (RuntimeException | Error e) {
      writer.commitEnded(false);
      throw e;
    }
    writer.tableCommitted(committer.schemaId(), committer.specId());
    writer.commitEnded(true, new io.crest.iceberg.keyed.KeyedWriter.Committed(
        snapshot.snapshotId(), snapshot.parentId(), committer.redos() != redos));
    return CommitResult.of("snapshot " + snapshot.snapshotId(), committer.lastConflicts(),
        committer.lastRetries());
  }

  @Override
  public void abort(Committable committable) {
    try {
      committer.abort((TableCommittable) committable);
    } finally {
      writer.commitEnded(false);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    CrestException failure = null;
    try {
      writer.close();
    } catch (CrestException e) {
      failure = e;
    }
    committer.close();
    if (ownsCatalog) {
      IOException e = IcebergCatalogs.closeQuietly(catalog);
      if (e != null) {
        LOG.warn("Cannot close catalog {}", catalog.name(), e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }
}
