package io.crest.writer;

import static java.util.Objects.requireNonNull;

import io.crest.DataSize;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.writer.internal.ParallelParquetWriter;
import io.crest.writer.internal.ParquetColumnarWriter;
import io.crest.writer.internal.Settings;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongConsumer;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Configures Crest's columnar Parquet writer; get one from {@link FileWriters#parquet}. Defaults
 * follow Iceberg's {@code write.parquet.*} defaults: 512 MiB files, 128 MiB row groups, 1 MiB
 * pages of at most 20,000 rows, 2 MiB dictionaries, zstd at level 3.
 *
 * <p>Each setter may be called once; {@link #build()} checks the whole. Not thread-safe; the
 * writers it builds are independent of it.
 */
public final class ParquetWriterBuilder {
  private final Schema schema;
  private final FileOutputFactory outputs;
  private String target = "parquet files";
  private DataSize targetFileSize;
  private DataSize rowGroupSize;
  private DataSize pageSize;
  private Integer pageRowLimit;
  private DataSize dictionarySize;
  private boolean withoutDictionary;
  private ParquetCodec codec;
  private Integer level;
  private Integer encoderThreads;
  private ParquetEncoderPool pool;
  private LongConsumer heldBytesListener;
  private final Map<String, Double> bloomFpp = new LinkedHashMap<>();
  private DataSize bloomFilterMaxSize;

  ParquetWriterBuilder(Schema schema, FileOutputFactory outputs) {
    this.schema = requireNonNull(schema, "schema");
    this.outputs = requireNonNull(outputs, "outputs");
  }

  /** The Arrow schema of the files the writer writes. */
  public Schema schema() {
    return schema;
  }

  /** Names what the files are for (for example a table) in error messages. */
  public ParquetWriterBuilder target(String name) {
    this.target = requireNonNull(name, "name");
    return this;
  }

  /**
   * Starts a new file once the open one reaches {@code size} ({@code
   * write.target-file-size-bytes}).
   */
  public ParquetWriterBuilder targetFileSize(DataSize size) {
    this.targetFileSize = once(this.targetFileSize, positive(size, "targetFileSize"),
        "targetFileSize");
    return this;
  }

  /** Buffers row groups up to this size ({@code write.parquet.row-group-size-bytes}). */
  public ParquetWriterBuilder rowGroupSize(DataSize size) {
    this.rowGroupSize = once(this.rowGroupSize, positive(size, "rowGroupSize"), "rowGroupSize");
    return this;
  }

  /** Ends pages at about this size ({@code write.parquet.page-size-bytes}). */
  public ParquetWriterBuilder pageSize(DataSize size) {
    this.pageSize = once(this.pageSize, positive(size, "pageSize"), "pageSize");
    return this;
  }

  /** Ends pages after this many rows ({@code write.parquet.page-row-limit}). */
  public ParquetWriterBuilder pageRowLimit(int rows) {
    if (rows <= 0) {
      throw new IllegalArgumentException(
          "Cannot set pageRowLimit to " + rows + ": it must be positive");
    }
    this.pageRowLimit = once(this.pageRowLimit, rows, "pageRowLimit");
    return this;
  }

  /**
   * Lets a column's dictionary grow to this size before the column falls back to plain encoding
   * ({@code write.parquet.dict-size-bytes}). Each column chunk also gives its dictionary up, for
   * the rest of the chunk, when the dictionary and its indices are no smaller than plain values
   * after the first 4,096 values, or at the end of the first page, whichever comes first.
   */
  public ParquetWriterBuilder dictionarySize(DataSize size) {
    this.dictionarySize = once(this.dictionarySize, positive(size, "dictionarySize"),
        "dictionarySize");
    return this;
  }

  /** Writes every column plainly, with no dictionary. */
  public ParquetWriterBuilder withoutDictionary() {
    this.withoutDictionary = true;
    return this;
  }

  /** Compresses pages with {@code codec} ({@code write.parquet.compression-codec}). */
  public ParquetWriterBuilder codec(ParquetCodec codec) {
    this.codec = once(this.codec, requireNonNull(codec, "codec"), "codec");
    return this;
  }

  /**
   * Sets the codec's level ({@code write.parquet.compression-level}): 1 to 22 for zstd, 0 to 9
   * for gzip; other codecs have none.
   */
  public ParquetWriterBuilder compressionLevel(int level) {
    this.level = once(this.level, level, "compressionLevel");
    return this;
  }

  /**
   * Encodes on {@code threads} threads of the writer's own, each writing its own files: batches
   * go to whichever thread is free, so one {@link FileWriter#finish()} returns up to {@code
   * threads} files (more if they roll), and the rows of one file are not in write order across
   * files. With 1 (the default) the writer encodes on the calling thread, as before.
   *
   * <p>With more than one thread, {@link FileWriter#write} checks the batch's columns and types at
   * once but its values (a null in a required column) on a thread, and a failure there is thrown
   * by the next call; the writer holds zero-copy references to up to {@code 2 x threads} batches,
   * counted in the allocator of their vectors, which must stay open until the writer's {@code
   * finish()} or {@code close()} returns ({@link #heldBytesListener} reports them); each thread buffers its own row group. The {@link
   * io.crest.spi.FileOutputFactory} is called by one thread at a time, from the writer's threads.
   *
   * @throws IllegalArgumentException if {@code threads} is less than 1
   * @throws IllegalStateException if it was set before
   */
  public ParquetWriterBuilder encoderThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException(
          "Cannot set encoderThreads to " + threads + ": it must be at least 1");
    }
    this.encoderThreads = once(this.encoderThreads, threads, "encoderThreads");
    return this;
  }

  /**
   * Tells {@code listener} how the Arrow bytes the writer's encoder threads hold change: {@code
   * +n} when {@link FileWriter#write} takes references to a batch of {@code n} bytes (the sum of
   * its vectors' {@code getBufferSize()}), {@code -n} once a thread let go of them (the batch was
   * encoded, or dropped by {@code close()} or after a failure). What it was told sums to 0 again
   * whenever {@code finish()} or {@code close()} returned. With one encoder thread (the default)
   * the writer holds nothing after {@code write} returns and never calls it.
   *
   * <p>The listener is called from the writer's caller and its threads, with no lock of the
   * writer held; it must be thread-safe, quick, and must not throw.
   *
   * @throws IllegalStateException if it was set before
   */
  public ParquetWriterBuilder heldBytesListener(LongConsumer listener) {
    this.heldBytesListener = once(this.heldBytesListener, requireNonNull(listener, "listener"),
        "heldBytesListener");
    return this;
  }

  /**
   * Writes a bloom filter of top-level column {@code column} for each row group ({@code
   * write.parquet.bloom-filter-enabled.column.<column>}), with false-positive probability {@code
   * fpp} ({@code write.parquet.bloom-filter-fpp.column.<column>}, Iceberg's default 0.01): a
   * reader looking for one value skips the row groups whose filter rules it out. Parquet's
   * split-block filter, XXH64 of the plain-encoded value, as parquet-java writes it.
   *
   * <p>Each row group's filter is sized for the distinct values the column had in it: {@code -8
   * n / ln(1 - fpp^(1/8))} bits rounded up to a power of two, at least 32 bytes and at most
   * {@link #bloomFilterMaxSize} (about 1.2 bytes per distinct value at 0.01). Filters go after
   * the last row group, before the footer; while a file is open they are held on the heap, and
   * building one holds up to 128 KiB, or one filter of the maximum size once a row group has more
   * than 8,192 distinct values.
   *
   * @throws IllegalArgumentException if {@code fpp} is not between 0 and 1 (exclusive); {@link
   *     #build()} throws it if {@code column} is not a top-level column of an int, long, date,
   *     time, timestamp, decimal, string, binary, fixed or uuid type
   * @throws IllegalStateException if a filter of {@code column} was set before
   */
  public ParquetWriterBuilder bloomFilter(String column, double fpp) {
    requireNonNull(column, "column");
    if (!(fpp > 0 && fpp < 1)) {
      throw new IllegalArgumentException("Cannot set the bloom filter of column '" + column
          + "' to false-positive probability " + fpp + ": it must be between 0 and 1,"
          + " exclusive (for example 0.01)");
    }
    Double before = bloomFpp.get(column);
    if (before != null) {
      throw new IllegalStateException("Cannot set the bloom filter of column '" + column
          + "' to false-positive probability " + fpp + ": it was already set to " + before);
    }
    bloomFpp.put(column, fpp);
    return this;
  }

  /**
   * Caps each bloom filter of one column of one row group at {@code size} ({@code
   * write.parquet.bloom-filter-max-bytes}); default 1 MiB. A row group with more distinct values
   * than the cap fits at the probability asked gets a filter of the cap, whose probability is
   * then higher. A cap that is not a power of two is used as it is (rounded down to 32 bytes)
   * for such row groups.
   *
   * @throws IllegalArgumentException if {@code size} is less than 32 bytes or more than 128 MiB
   * @throws IllegalStateException if it was set before
   */
  public ParquetWriterBuilder bloomFilterMaxSize(DataSize size) {
    requireNonNull(size, "size");
    if (size.toBytes() < 32 || size.toBytes() > 128L << 20) {
      throw new IllegalArgumentException("Cannot set bloomFilterMaxSize to " + size
          + ": it must be between 32 bytes and 128 MiB");
    }
    this.bloomFilterMaxSize = once(this.bloomFilterMaxSize, size, "bloomFilterMaxSize");
    return this;
  }

  /**
   * Takes the writer's column encoders (page, chunk and dictionary buffers) from {@code pool} and
   * gives them back when the writer closes after finishing its files, for the next writer of the
   * same schema and settings. Without a pool, each writer grows its own buffers.
   *
   * @throws IllegalStateException if it was set before
   */
  public ParquetWriterBuilder encoderPool(ParquetEncoderPool pool) {
    this.pool = once(this.pool, requireNonNull(pool, "pool"), "encoderPool");
    return this;
  }

  /**
   * Builds a writer.
   *
   * @throws IllegalStateException if the settings conflict: a level for a codec without levels or
   *     out of its range, a dictionary size together with {@link #withoutDictionary()}
   * @throws IllegalArgumentException if a field of the schema cannot be written to Parquet, or
   *     a {@linkplain #bloomFilter bloom filter} names a column that cannot have one
   */
  public FileWriter build() {
    ParquetCodec c = codec == null ? ParquetCodec.ZSTD : codec;
    int lvl = Integer.MIN_VALUE;
    if (level != null) {
      switch (c) {
        case ZSTD:
          if (level < 1 || level > 22) {
            throw new IllegalStateException("Cannot build Parquet writer: zstd level " + level
                + " is outside 1..22");
          }
          break;
        case GZIP:
          if (level < 0 || level > 9) {
            throw new IllegalStateException("Cannot build Parquet writer: gzip level " + level
                + " is outside 0..9");
          }
          break;
        default:
          throw new IllegalStateException("Cannot build Parquet writer: codec " + c
              + " has no compression level, but level " + level + " was set (drop the level)");
      }
      lvl = level;
    }
    if (withoutDictionary && dictionarySize != null) {
      throw new IllegalStateException("Cannot build Parquet writer: dictionarySize "
          + dictionarySize + " was set together with withoutDictionary() (pick one)");
    }
    long dict = withoutDictionary ? 0
        : dictionarySize == null ? 2L << 20 : dictionarySize.toBytes();
    Settings settings = new Settings(
        targetFileSize == null ? 512L << 20 : targetFileSize.toBytes(),
        rowGroupSize == null ? 128L << 20 : rowGroupSize.toBytes(),
        pageSize == null ? 1L << 20 : pageSize.toBytes(),
        pageRowLimit == null ? 20_000 : pageRowLimit,
        dict, c, lvl, target, bloomFpp,
        bloomFilterMaxSize == null ? 1 << 20 : (int) bloomFilterMaxSize.toBytes());
    if (encoderThreads != null && encoderThreads > 1) {
      return new ParallelParquetWriter(schema, outputs, settings, encoderThreads,
          pool == null ? null : pool.cache, heldBytesListener);
    }
    return new ParquetColumnarWriter(schema, outputs, settings, pool == null ? null : pool.cache);
  }

  private static DataSize positive(DataSize size, String name) {
    requireNonNull(size, name);
    if (size.toBytes() <= 0) {
      throw new IllegalArgumentException("Cannot set " + name + " to " + size
          + ": it must be positive");
    }
    return size;
  }

  private static <T> T once(T previous, T value, String name) {
    if (previous != null) {
      throw new IllegalStateException("Cannot set " + name + " to " + value
          + ": it was already set to " + previous);
    }
    return value;
  }
}
