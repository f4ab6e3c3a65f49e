package io.crest.iceberg.write;

import io.crest.iceberg.schema.IcebergArrowSchema;
import io.crest.spi.FileOutput;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import io.crest.writer.FileWriters;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.LongConsumer;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DataFiles;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.MetricsConfig;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.encryption.EncryptedOutputFile;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.OutputFileFactory;

/**
 * Writes Arrow batches into an Iceberg table's data files with Crest's columnar Parquet writer,
 * for the sink's hot path: columns are matched to the table schema by name, files are named by
 * Iceberg's {@link OutputFileFactory} and rolled at {@code write.target-file-size-bytes}, and the
 * finished files come back as {@link DataFile}s with metrics that honour the table's metrics
 * config. One writer writes one partition of one spec: the table's unpartitioned data, or the
 * rows of one partition tuple.
 *
 * <p>Lifecycle: {@link #open}, then {@link #write} batches, {@link #complete()} whenever a commit
 * is due (the writer stays usable), {@link #close()} once, which deletes the files of an
 * incomplete file that was never returned by {@link #complete()}.
 *
 * <p>Not thread-safe: one writer thread. The caller keeps owning every batch it passes.
 */
public final class ArrowDataWriter implements AutoCloseable {
  private final Schema schema;
  private final PartitionSpec spec;
  private final StructLike partition;
  private final FileIO io;
  private final MetricsConfig metricsConfig;
  private final String tableName;
  private final FileWriter writer;
  // Filled by the encoder threads when there are several.
  private final Set<String> unreturned = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private boolean closed;

  private ArrowDataWriter(Template template, PartitionSpec spec, StructLike partition,
      OutputFileFactory files, int encoderThreads, LongConsumer heldBytes) {
    this.schema = template.schema;
    this.spec = spec;
    this.partition = partition;
    this.io = template.table.io();
    this.tableName = template.table.name();
    if (spec.isPartitioned() && partition == null) {
      throw new IllegalArgumentException("Cannot write table " + tableName
          + " with one columnar writer: it is partitioned by " + spec
          + ", so a writer needs the partition it writes");
    }
    this.metricsConfig = template.metricsConfig;
    io.crest.writer.ParquetWriterBuilder b = template.builder(() -> output(spec.isPartitioned()
            ? files.newOutputFile(spec, partition)
            : files.newOutputFile()))
        .encoderThreads(encoderThreads);
    if (template.pool != null) {
      b.encoderPool(template.pool);
    }
    if (heldBytes != null) {
      b.heldBytesListener(heldBytes);
    }
    this.writer = b.build();
  }

  /**
   * What every writer of one table state shares, computed and checked once: the Arrow form of
   * the table schema, the metrics config and the {@code write.parquet.*} settings. Immutable;
   * make a new one after the table's schema or properties change.
   */
  public static final class Template {
    private final Table table;
    private final Schema schema;
    private final org.apache.arrow.vector.types.pojo.Schema arrowSchema;
    private final MetricsConfig metricsConfig;
    private final io.crest.writer.ParquetEncoderPool pool;

    private Template(Table table, io.crest.writer.ParquetEncoderPool pool) {
      this.table = table;
      this.pool = pool;
      this.schema = table.schema();
      this.arrowSchema = IcebergArrowSchema.toArrow(schema, table.name());
      this.metricsConfig = MetricsConfig.forTable(table);
      // Checks the settings now (a file is only created by a first write).
      // (with a pool, on idle encoders given straight back: nothing is built per commit)
      io.crest.writer.ParquetWriterBuilder check = builder(() -> {
        throw new IllegalStateException("a settings check writes no file");
      });
      if (pool != null) {
        check.encoderPool(pool);
      }
      check.build().close();
    }

    /**
     * The template of {@code table}'s current schema and properties.
     *
     * @throws IllegalArgumentException as {@link ArrowDataWriter#open(Table, int, long)}
     */
    public static Template of(Table table) {
      return new Template(table, null);
    }

    /**
     * As {@link #of(Table)}, its writers taking their column encoders from {@code pool} (when
     * not null) and giving them back once they finished their files.
     */
    public static Template of(Table table, io.crest.writer.ParquetEncoderPool pool) {
      return new Template(table, pool);
    }

    private io.crest.writer.ParquetWriterBuilder builder(io.crest.spi.FileOutputFactory outputs) {
      return ParquetWriterSettings.apply(
          FileWriters.parquet(arrowSchema, outputs), table.properties(), table.name());
    }

    /** A writer of the rows of one partition of {@code spec}, as {@link ArrowDataWriter#open}. */
    public ArrowDataWriter open(PartitionSpec spec, StructLike partition, OutputFileFactory files,
        int encoderThreads) {
      return open(spec, partition, files, encoderThreads, null);
    }

    /**
     * As {@link #open(PartitionSpec, StructLike, OutputFileFactory, int)}, telling {@code
     * heldBytes} (when not null) of the Arrow bytes of the batches its encoder threads still hold
     * after {@link ArrowDataWriter#write} returned, as {@link
     * io.crest.writer.ParquetWriterBuilder#heldBytesListener} describes.
     */
    public ArrowDataWriter open(PartitionSpec spec, StructLike partition, OutputFileFactory files,
        int encoderThreads, LongConsumer heldBytes) {
      return new ArrowDataWriter(
          this, spec, spec.isPartitioned() ? partition : null, files, encoderThreads, heldBytes);
    }
  }

  /**
   * Opens a writer for the current schema, spec and properties of an unpartitioned {@code table}.
   * Reopen it after the table's schema changes.
   *
   * @param partitionId and {@code taskId} become part of the file names, as in Iceberg's writers
   * @throws IllegalArgumentException if the table is partitioned, has a column type the
   *     columnar writer cannot write, or has a malformed or unsupported {@code write.parquet.*}
   *     property; the message names the table and what to change
   */
  public static ArrowDataWriter open(Table table, int partitionId, long taskId) {
    return Template.of(table).open(table.spec(), null, fileFactory(table, partitionId, taskId), 1);
  }

  /**
   * Opens a writer for the rows of one partition of {@code spec} (one of the table's specs), in
   * the table's current schema, with files named by {@code files}.
   *
   * @param partition the partition tuple of {@code spec} every written row belongs to, which the
   *     writer keeps (pass a copy no one changes); ignored for an unpartitioned spec
   * @throws IllegalArgumentException as {@link #open(Table, int, long)}, except that partitioned
   *     specs are accepted
   */
  public static ArrowDataWriter open(
      Table table, PartitionSpec spec, StructLike partition, OutputFileFactory files) {
    return open(table, spec, partition, files, 1);
  }

  /**
   * As {@link #open(Table, PartitionSpec, StructLike, OutputFileFactory)}, encoding on {@code
   * encoderThreads} threads of its own when more than 1, each writing its own files. The threads
   * hold references to the buffers of the batches passed to {@link #write} (the caller may close
   * its batches), so the allocator of those batches must stay open until {@link #complete()} or
   * {@link #close()} returns.
   */
  public static ArrowDataWriter open(Table table, PartitionSpec spec, StructLike partition,
      OutputFileFactory files, int encoderThreads) {
    return Template.of(table).open(spec, partition, files, encoderThreads);
  }

  /** The file factory the writers of one task share, as Iceberg's writers name their files. */
  public static OutputFileFactory fileFactory(Table table, int partitionId, long taskId) {
    return OutputFileFactory.builderFor(table, partitionId, taskId)
        .format(FileFormat.PARQUET)
        .operationId(UUID.randomUUID().toString())
        .build();
  }

  private FileOutput output(EncryptedOutputFile file) {
    org.apache.iceberg.io.OutputFile out = file.encryptingOutputFile();
    String location = out.location();
    unreturned.add(location);
    return new FileOutput() {
      @Override
      public String location() {
        return location;
      }

      @Override
      public OutputStream create() {
        return out.create();
      }
    };
  }

  /**
   * Encodes the rows of {@code batch}, matched to the table's columns by name.
   *
   * @throws io.crest.errors.ValidationException if the batch does not fit the table (unknown
   *     column, incompatible type, null in a required column); discard the writer then
   */
  public void write(VectorSchemaRoot batch) {
    writer.write(batch);
  }

  /** The bytes of the open file so far (written and buffered); 0 when none is open. */
  public long openFileBytes() {
    return writer.openFileBytes();
  }

  /** Finishes the open file and returns every file finished since the last call. */
  public List<DataFile> complete() {
    List<DataFile> result = new ArrayList<>();
    for (WrittenFile f : writer.finish()) {
      unreturned.remove(f.location());
      result.add(DataFiles.builder(spec)
          .withPartition(partition)
          .withPath(f.location())
          .withFormat(FileFormat.PARQUET)
          .withFileSizeInBytes(f.sizeInBytes())
          .withMetrics(IcebergFileMetrics.of(f, schema, metricsConfig))
          .withSplitOffsets(f.splitOffsets())
          .build());
    }
    return result;
  }

  /**
   * Releases the writer and deletes every file it started but never returned from {@link
   * #complete()}. Safe to call twice.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      writer.close();
    } finally {
      // files finished but not yet taken are also discarded: complete() never returned them
      for (String location : unreturned) {
        io.deleteFile(location);
      }
      unreturned.clear();
    }
  }

  /**
   * Closes every writer (each, even if one fails) and deletes {@code finished}: files finished but
   * never handed on. Throws the first failure with the others suppressed.
   */
  static void discard(List<ArrowDataWriter> writers, FileIO io, List<DataFile> finished) {
    RuntimeException failure = null;
    for (ArrowDataWriter writer : writers) {
      try {
        writer.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    try {
      for (DataFile file : finished) {
        io.deleteFile(file.location());
      }
    } finally {
      finished.clear();
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return "ArrowDataWriter[" + tableName + "]";
  }
}
