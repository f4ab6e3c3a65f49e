package io.crest.iceberg.write;

import io.crest.DataSize;
import io.crest.writer.ParquetEncoderPool;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.util.PropertyUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The columnar writer's open files for one flush at a time ({@link ArrowTableWriter}), and the
 * Parquet encoders kept from one flush's writers to the next's ({@link ParquetEncoderPool}), so a
 * writer per commit does not grow its buffers again. Not thread-safe: the writer thread owns it.
 * {@link #close} discards open files and the pool.
 */
final class ColumnarFiles implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ColumnarFiles.class);
  private static final AtomicLong TASK_IDS = new AtomicLong();

  private final String tableName;
  private final WriteSettings settings;
  private final HeldBytes heldBytes;
  private ArrowTableWriter writer;
  private int schemaId = -1;
  private ParquetEncoderPool pool;
  private long poolBudget;
  private long reused;
  private long built;

  /** Tells {@code heldBytes} of the batches the open writers' encoder threads hold. */
  ColumnarFiles(String tableName, WriteSettings settings, HeldBytes heldBytes) {
    this.tableName = tableName;
    this.settings = settings;
    this.heldBytes = heldBytes;
  }

  /** The open writer, or {@code null} when no file is open. */
  ArrowTableWriter writer() {
    return writer;
  }

  /** Whether the open writer writes another schema or spec than the table's now. */
  boolean isStale(Table t) {
    return writer != null
        && (schemaId != t.schema().schemaId() || writer.specId() != t.spec().specId());
  }

  /**
   * Opens a writer for the table's schema and spec.
   *
   * @throws IllegalArgumentException if the columnar writer cannot write this table (a codec,
   *     type, setting or partition transform it does not handle)
   */
  ArrowTableWriter open(Table t, Schema arrowSchema) {
    ArrowPartitioner partitioner = t.spec().isUnpartitioned()
        ? null : ArrowPartitioner.create(t.schema(), t.spec(), arrowSchema);
    writer = ArrowTableWriter.open(t, partitioner, settings.maxOpenFiles(), settings.clustered(),
        settings.encoderThreads(), TASK_IDS.incrementAndGet(), pool(t), heldBytes);
    schemaId = t.schema().schemaId();
    return writer;
  }

  /**
   * The encoder pool for writers of the table's current schema and properties (a new one after
   * they changed: the old encoders fit no writer any more). Owned here; closed by {@link #close}.
   */
  ParquetEncoderPool pool(Table t) {
    long budget = encoderBudget(t);
    if (pool == null || poolBudget != budget) {
      closePool();
      pool = ParquetEncoderPool.create(DataSize.bytes(budget));
      poolBudget = budget;
    }
    return pool;
  }

  /** Closes the open files and returns them; none when no writer is open. */
  List<DataFile> complete() {
    if (writer == null) {
      return List.of();
    }
    ArrowTableWriter w = writer;
    writer = null;
    try {
      return w.complete();
    } finally {
      w.close();
    }
  }

  /** Deletes the open files it never returned and releases the encoders. Safe to call twice. */
  @Override
  public void close() {
    try {
      if (writer != null) {
        ArrowTableWriter w = writer;
        writer = null;
        w.close(); // deletes the files it never returned
      }
    } finally {
      closePool();
      if (reused + built > 0) {
        LOG.info("Parquet column encoders of {}: reused {}, built {} (writers that took an earlier"
            + " writer's buffers, and writers that grew their own)", tableName, reused, built);
        reused = 0;
        built = 0;
      }
    }
  }

  /**
   * What the idle column encoders of one commit's writers may keep for the next: per encoder
   * thread (and one more for the settings check), a row group's column chunks with the slack of
   * their doubling buffers, and per leaf column its page buffers and a full dictionary. That is
   * what those writers held at their peak; the pool keeps no more than what they grew.
   */
  private long encoderBudget(Table t) {
    Map<String, String> props = t.properties();
    long rowGroup = longProperty(props, TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES,
        TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT);
    long page = longProperty(props, TableProperties.PARQUET_PAGE_SIZE_BYTES,
        TableProperties.PARQUET_PAGE_SIZE_BYTES_DEFAULT);
    long dict = longProperty(props, TableProperties.PARQUET_DICT_SIZE_BYTES,
        TableProperties.PARQUET_DICT_SIZE_BYTES_DEFAULT);
    long leaves = TypeUtil.indexById(t.schema().asStruct()).values().stream()
        .filter(f -> f.type().isPrimitiveType()).count();
    long perWriter = 2 * rowGroup + leaves * (4 * page + 2 * dict);
    return perWriter * (settings.encoderThreads() + 1);
  }

  private static long longProperty(Map<String, String> props, String name, long fallback) {
    try {
      return Math.max(0, PropertyUtil.propertyAsLong(props, name, fallback));
    } catch (NumberFormatException e) {
      return fallback; // the writer's settings check names the malformed property
    }
  }

  private void closePool() {
    if (pool != null) {
      reused += pool.reusedCount();
      built += pool.builtCount();
      pool.close();
      pool = null;
    }
  }
}
