package io.crest.bench;

import static io.crest.bench.KeyedWorkload.deleteRecursively;
import static io.crest.bench.KeyedWorkload.ingestRows;
import static io.crest.bench.KeyedWorkload.keys;
import static io.crest.bench.KeyedWorkload.printFiles;
import static io.crest.bench.KeyedWorkload.printIndexBytes;
import static io.crest.bench.KeyedWorkload.scratch;
import static io.crest.bench.KeyedWorkload.stringKeys;
import static io.crest.bench.KeyedWorkload.values;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.iceberg.TableMaintenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Keyed tables (issue 14): upserts by one long key that delete replaced rows by position through
 * the key index, against appending the same stream and against Iceberg's equality-delta writer
 * ({@code IcebergSink.Builder.equalityDeletes()}), all in one run.
 *
 * <p>The workload: {@value #FLUSHES} flushes of {@value #FLUSH_ROWS} rows ({@code id} long key,
 * {@code v} long value) whose keys are drawn at random (seed 42) from {@value #KEYS} keys, so a key
 * comes back about every {@value #KEYS} / {@value #FLUSH_ROWS} flushes and now and then twice in
 * one flush. {@code v} is the row's index in the stream: the live row of a key is the last one
 * written. The rows go through a real {@link Pipeline} (a small in-memory source of {@value
 * #BATCH_ROWS}-row batches, {@code BatchPolicy.rows(FLUSH_ROWS)}: one commit per flush) and an
 * {@link IcebergSink} into a local warehouse (SQLite catalog) on tmpfs, format version 3
 * (deletion vectors) unless {@code -p formatVersion=2} (position delete files).
 *
 * <ul>
 *   <li>{@link #ingest}: a fresh table per operation, the whole stream ingested; score rows per
 *       second. {@code mode=append} appends every row, {@code keyed} upserts by {@code id} through
 *       the key index (64 MiB default, holds every key) with the default max deleted ratio (a
 *       flush rewrites the most deleted data files once deleted rows pass 30% of the table's),
 *       {@code keyed:<ratio>} with that ratio ({@code keyed:1.0}: no rewrites), {@code equality}
 *       upserts with equality deletes. Each operation checks rows committed and the number of
 *       commits. {@code -p key=string} makes the key a 19-byte string column ({@code
 *       customer-0000123456}) for every mode, which the index holds by its 128-bit hash.
 *   <li>{@link #read}: a full scan of a table prepared once per trial, through Iceberg's generic
 *       reader ({@code IcebergGenerics}), counting the rows and summing {@code v}; score the time
 *       per scan. {@code table=keyed@20} is the keyed table after 20 flushes; {@code append@20}
 *       the same final rows (one per key, the last written) appended once into a fresh table, the
 *       baseline; {@code keyed:1.0@20} the keyed table written without rewrites; {@code
 *       equality@20} the equality-delete table; {@code keyed@100}, {@code keyed:1.0@100} and
 *       {@code append@100} the same after 100 flushes; {@code keyed:1.0@20+compacted} and {@code
 *       keyed:1.0@100+compacted} the keyed tables written without rewrites after one {@code
 *       TableMaintenance.compact(2)}, which applies the deletes (no {@code equality@100}: every
 *       data file would be
 *       joined against up to 99 equality-delete files, minutes per scan on 2 cores). The setup
 *       checks that every table reads back exactly one row per distinct key, each with its last
 *       value, and every scan checks the count and the sum.
 *   <li>{@link #restart}: a pipeline started against the keyed table after {@value
 *       #RESTART_BASE_FLUSHES} flushes, with a cold index, ingesting one more flush of {@value
 *       #FLUSH_ROWS} upserts: time from start to the first commit, pipeline close included (its
 *       keys are resolved from the table). {@code restart=append} does the same with an append of
 *       one flush to the appended table, the cost of a restart without keys. {@code
 *       baseKeys=10000000} starts instead against a table of 10,000,000 keys appended once (one
 *       row each, more than the default index holds), the flush's keys drawn from all of them.
 *       Every operation adds a flush to the table.
 * </ul>
 *
 * <p>The setup of {@link #read} prints the key index's bytes per key ({@code memoryBytes() /
 * maxKeys()}, and the heap its filled arrays take) as {@code [index]} lines, the tables' files
 * as {@code [table]} lines and the seconds each of their flushes took as {@code [flushes]} lines.
 * The whole run takes 5-10 minutes; results and their reading are in crest-bench/README.md.
 *
 * <pre>
 * mvn -B -pl crest-bench -am package -Pbench -DskipTests
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar \
 *     KeyedTableBenchmark -f 1 -wi 1 -i 3 -w 1s -r 1s
 * </pre>
 */
// slf4j-simple at warn: Iceberg logs a scan report per read and a line per commit at info
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx4g",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class KeyedTableBenchmark {
  /** Flushes (commits) of one ingest operation. */
  static final int FLUSHES = 20;
  /** Rows per flush. */
  static final int FLUSH_ROWS = 50_000;
  /** Distinct keys the rows are drawn from. */
  static final int KEYS = 250_000;
  /** Rows per Arrow batch the source emits. */
  static final int BATCH_ROWS = 10_000;
  /** Rows of one ingest operation. */
  static final int ROWS = FLUSHES * FLUSH_ROWS;
  /** Flushes in the table {@link #restart} starts against. */
  static final int RESTART_BASE_FLUSHES = 20;
  static final String TABLE = "bench.keyed";

  /** Ingest of the whole stream into a fresh table per operation. */
  @State(Scope.Benchmark)
  public static class IngestState {
    @Param({"append", "keyed", "keyed:1.0", "equality"})
    public String mode;

    @Param({"3"})
    public int formatVersion;

    /**
     * The key column: {@code long}, or {@code string} (19-byte strings, which the index holds by
     * their 128-bit hash); the append baseline appends the same rows.
     */
    @Param({"long"})
    public String key;

    BufferAllocator allocator;
    long[] keys;
    long[] values;
    long expectedRows; // what each operation must commit
    Path warehouse;
    int run;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      allocator = new RootAllocator();
      // Made once, not in the measured operations
      keys = keys(FLUSHES);
      values = values(0, ROWS);
      expectedRows = rowsWritten(mode, keys, 0, ROWS);
      if (key.equals("string")) {
        stringKeys(KEYS);
      }
      warehouse = scratch("crest-keyed-ingest");
    }

    @TearDown(Level.Invocation)
    public void dropTable() throws IOException {
      deleteRecursively(warehouse);
      Files.createDirectories(warehouse);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      try {
        allocator.close();
      } finally {
        deleteRecursively(warehouse);
      }
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.Throughput)
  @OutputTimeUnit(TimeUnit.SECONDS)
  @OperationsPerInvocation(ROWS)
  public long ingest(IngestState s) throws InterruptedException {
    PipelineStats stats = ingestRows(s.allocator, s.warehouse, s.mode, s.formatVersion, s.keys,
        s.values, ROWS, FLUSH_ROWS, "ingest-" + s.run++, s.key.equals("string"));
    if (stats.rowsCommitted() != s.expectedRows || stats.commits() != FLUSHES) {
      throw new IllegalStateException("Cannot ingest " + ROWS + " rows in " + FLUSHES
          + " commits (" + s.mode + "): " + stats);
    }
    return stats.rowsCommitted();
  }

  /**
   * The rows a mode writes of {@code count} keys from {@code from}: every row, except that keyed
   * upserts write one row per key of each {@value #BATCH_ROWS}-row batch (its last).
   */
  static long rowsWritten(String mode, long[] keys, int from, int count) {
    if (!mode.startsWith("keyed")) {
      return count;
    }
    long rows = 0;
    for (int off = 0; off < count; off += BATCH_ROWS) {
      rows += java.util.Arrays.stream(keys, from + off, from + Math.min(count, off + BATCH_ROWS))
          .distinct().count();
    }
    return rows;
  }

  /** Tables prepared once per trial, read in full by every operation. */
  @State(Scope.Benchmark)
  public static class ReadState {
    /** The table kind and the flushes that wrote it ({@code append@n}: its final rows at once). */
    @Param({"append@20", "keyed@20", "keyed:1.0@20", "keyed:1.0@20+compacted", "equality@20",
        "append@100", "keyed@100", "keyed:1.0@100", "keyed:1.0@100+compacted"})
    public String table;

    @Param({"3"})
    public int formatVersion;

    BufferAllocator allocator;
    Path warehouse;
    Catalog catalog;
    Table iceberg;
    long expectedRows;
    long expectedSum;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
      if (table.startsWith("keyed")) {
        printIndexBytes();
      }
      allocator = new RootAllocator();
      warehouse = scratch("crest-keyed-read");
      String mode = table.substring(0, table.indexOf('@'));
      boolean compacted = table.endsWith("+compacted");
      int flushes = Integer.parseInt(table.substring(table.indexOf('@') + 1,
          compacted ? table.indexOf('+') : table.length()));
      long[] keys = keys(flushes);
      // v of the live row of each key: the index of its last occurrence
      long[] last = new long[KEYS];
      java.util.Arrays.fill(last, -1);
      for (int i = 0; i < keys.length; i++) {
        last[(int) keys[i]] = i;
      }
      for (long v : last) {
        if (v >= 0) {
          expectedRows++;
          expectedSum += v;
        }
      }
      long started = System.nanoTime();
      PipelineStats stats;
      if (mode.equals("append")) {
        // the final rows, in the order they were last written, appended in one flush
        long[] finalKeys = new long[(int) expectedRows];
        long[] finalValues = new long[(int) expectedRows];
        int n = 0;
        for (int i = 0; i < keys.length; i++) {
          if (last[(int) keys[i]] == i) {
            finalKeys[n] = keys[i];
            finalValues[n++] = i;
          }
        }
        stats = ingestRows(allocator, warehouse, "append", formatVersion, finalKeys, finalValues,
            n, n, "read-setup");
      } else {
        stats = ingestRows(allocator, warehouse, mode, formatVersion, keys, 0, keys.length,
            "read-setup");
      }
      System.out.printf("%n[table] %s: ingested %d rows in %d commits in %.1f s%n", table,
          stats.rowsCommitted(), stats.commits(), (System.nanoTime() - started) / 1e9);
      catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
          IcebergCatalogs.localWarehouse(warehouse));
      iceberg = catalog.loadTable(TableIdentifier.parse(TABLE));
      if (compacted) {
        long compacting = System.nanoTime();
        TableMaintenance.CompactionResult r = TableMaintenance.of(iceberg).compact(2);
        System.out.printf("[table] %s: compaction rewrote %d data files into %d (%d rows) in"
            + " %.1f s%n", table, r.dataFilesRemoved(), r.dataFilesAdded(), r.rows(),
            (System.nanoTime() - compacting) / 1e9);
        iceberg.refresh();
      }
      printFiles(table, iceberg);
      verify();
    }

    /** Every key read once with its last value, as many rows as distinct keys. */
    private void verify() {
      long[] seen = new long[KEYS];
      java.util.Arrays.fill(seen, -1);
      long rows = 0;
      long sum = 0;
      try (CloseableIterable<Record> records = IcebergGenerics.read(iceberg).build()) {
        for (Record r : records) {
          long id = (Long) r.getField("id");
          long v = (Long) r.getField("v");
          if (seen[(int) id] >= 0) {
            throw new IllegalStateException("Cannot verify " + table + ": key " + id
                + " read twice (v " + seen[(int) id] + " and " + v + ")");
          }
          seen[(int) id] = v;
          rows++;
          sum += v;
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (rows != expectedRows || sum != expectedSum) {
        throw new IllegalStateException("Cannot verify " + table + ": read " + rows
            + " rows summing to " + sum + ", expected " + expectedRows + " rows (one per distinct"
            + " key) summing to " + expectedSum);
      }
      System.out.printf("[table] %s: verified %d rows (distinct keys), sum of v %d%n", table,
          rows, sum);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      try {
        IcebergCatalogs.closeQuietly(catalog);
        allocator.close();
      } finally {
        deleteRecursively(warehouse);
      }
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public long read(ReadState s) throws IOException {
    long rows = 0;
    long sum = 0;
    try (CloseableIterable<Record> records = IcebergGenerics.read(s.iceberg).build()) {
      for (Record r : records) {
        rows++;
        sum += (Long) r.getField("v");
      }
    }
    if (rows != s.expectedRows || sum != s.expectedSum) {
      throw new IllegalStateException("Cannot read " + s.table + ": " + rows + " rows, sum "
          + sum + "; expected " + s.expectedRows + ", " + s.expectedSum);
    }
    return sum;
  }

  /** A table of {@value #RESTART_BASE_FLUSHES} flushes that each operation restarts against. */
  @State(Scope.Benchmark)
  public static class RestartState {
    @Param({"append", "keyed"})
    public String restart;

    @Param({"3"})
    public int formatVersion;

    /**
     * Keys in the base table: {@value #KEYS} (the keyed or appended table after {@value
     * #RESTART_BASE_FLUSHES} flushes), or a larger number appended once, each key one row, the
     * restarts upserting keys drawn from all of them.
     */
    @Param({"250000", "10000000"})
    public int baseKeys;

    /** The key column: {@code long}, or {@code string} (held by the index by their hash). */
    @Param({"long"})
    public String key;

    BufferAllocator allocator;
    Path warehouse;
    long[] keys;
    int run;

    @Setup(Level.Trial)
    public void setUp() throws InterruptedException {
      allocator = new RootAllocator();
      warehouse = scratch("crest-keyed-restart");
      long started = System.nanoTime();
      PipelineStats stats;
      boolean strings = key.equals("string");
      if (strings) {
        stringKeys(Math.max(baseKeys, KEYS)); // not in the measured restarts
      }
      if (baseKeys == KEYS) {
        keys = keys(RESTART_BASE_FLUSHES + 200);
        stats = ingestRows(allocator, warehouse, restart, formatVersion, keys,
            values(0, RESTART_BASE_FLUSHES * FLUSH_ROWS), RESTART_BASE_FLUSHES * FLUSH_ROWS,
            FLUSH_ROWS, "restart-setup", strings);
      } else {
        long[] base = new long[baseKeys];
        for (int i = 0; i < baseKeys; i++) {
          base[i] = i;
        }
        stats = ingestRows(allocator, warehouse, "append", formatVersion, base, base, baseKeys,
            1_000_000, "restart-setup", strings);
        // The restarts' keys come after RESTART_BASE_FLUSHES flushes' worth of unused ones.
        Random random = new Random(42);
        keys = new long[(RESTART_BASE_FLUSHES + 200) * FLUSH_ROWS];
        for (int i = RESTART_BASE_FLUSHES * FLUSH_ROWS; i < keys.length; i++) {
          keys[i] = random.nextInt(baseKeys);
        }
      }
      System.out.printf("%n[restart] %s: base table of %d rows in %d commits in %.1f s%n",
          restart, stats.rowsCommitted(), stats.commits(), (System.nanoTime() - started) / 1e9);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
      try {
        allocator.close();
      } finally {
        deleteRecursively(warehouse);
      }
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  public long restart(RestartState s) throws InterruptedException {
    int flush = RESTART_BASE_FLUSHES + s.run;
    if ((flush + 1) * FLUSH_ROWS > s.keys.length) {
      throw new IllegalStateException("Cannot restart more than 200 times in one trial");
    }
    PipelineStats stats = ingestRows(s.allocator, s.warehouse, s.restart, s.formatVersion,
        java.util.Arrays.copyOfRange(s.keys, flush * FLUSH_ROWS, (flush + 1) * FLUSH_ROWS),
        values(flush * FLUSH_ROWS, FLUSH_ROWS), FLUSH_ROWS, FLUSH_ROWS, "restart-" + s.run++,
        s.key.equals("string"));
    if (stats.rowsCommitted() != rowsWritten(s.restart, s.keys, flush * FLUSH_ROWS, FLUSH_ROWS)
        || stats.commits() != 1) {
      throw new IllegalStateException("Cannot restart and commit " + FLUSH_ROWS + " rows: "
          + stats);
    }
    return stats.rowsCommitted();
  }

}
