package io.crest.bench;

import io.crest.BatchPolicy;
import io.crest.CommitEvent;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.iceberg.TableMaintenance;
import io.crest.iceberg.keyed.LongKeyIndex;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.FileScanTask;
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
  private static final Duration DEADLINE = Duration.ofMinutes(10);
  private static final String TABLE = "bench.keyed";
  private static final Schema SCHEMA = new Schema(List.of(
      new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("v", FieldType.notNullable(new ArrowType.Int(64, true)), null)));
  /** The same rows with string keys ({@code -p key=string}): {@code customer-0000123456}. */
  private static final Schema STRING_SCHEMA = new Schema(List.of(
      new Field("id", FieldType.notNullable(ArrowType.Utf8.INSTANCE), null),
      new Field("v", FieldType.notNullable(new ArrowType.Int(64, true)), null)));

  private static byte[][] stringKeys = new byte[0][];

  /**
   * The string keys of key numbers 0 to {@code max}, as UTF-8: made once (outside the measured
   * operations: setups call this first) and kept.
   */
  static synchronized byte[][] stringKeys(int max) {
    if (stringKeys.length <= max) {
      byte[][] more = java.util.Arrays.copyOf(stringKeys, max + 1);
      for (int i = stringKeys.length; i <= max; i++) {
        more[i] = String.format("customer-%010d", i)
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
      }
      stringKeys = more;
    }
    return stringKeys;
  }

  /** The stream's keys, row by row: the same for every variant and trial. */
  static long[] keys(int flushes) {
    Random random = new Random(42);
    long[] keys = new long[flushes * FLUSH_ROWS];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = random.nextInt(KEYS);
    }
    return keys;
  }

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
    Path warehouse;
    int run;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
      allocator = new RootAllocator();
      keys = keys(FLUSHES);
      if (key.equals("string")) {
        stringKeys(KEYS); // not in the measured operations
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
    long[] values = new long[ROWS];
    for (int i = 0; i < ROWS; i++) {
      values[i] = i;
    }
    PipelineStats stats = ingest(s.allocator, s.warehouse, s.mode, s.formatVersion, s.keys,
        values, ROWS, FLUSH_ROWS, "ingest-" + s.run++, s.key.equals("string"));
    if (stats.rowsCommitted() != rowsWritten(s.mode, s.keys, 0, ROWS)
        || stats.commits() != FLUSHES) {
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
        stats = ingest(allocator, warehouse, "append", formatVersion, finalKeys, finalValues,
            n, n, "read-setup");
      } else {
        stats = ingest(allocator, warehouse, mode, formatVersion, keys, 0, keys.length,
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
        stats = ingest(allocator, warehouse, restart, formatVersion, keys,
            values(0, RESTART_BASE_FLUSHES * FLUSH_ROWS), RESTART_BASE_FLUSHES * FLUSH_ROWS,
            FLUSH_ROWS, "restart-setup", strings);
      } else {
        long[] base = new long[baseKeys];
        for (int i = 0; i < baseKeys; i++) {
          base[i] = i;
        }
        stats = ingest(allocator, warehouse, "append", formatVersion, base, base, baseKeys,
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
    PipelineStats stats = ingest(s.allocator, s.warehouse, s.restart, s.formatVersion,
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

  /** The values {@code from}, {@code from + 1}, ... of {@code count} rows: each row's index. */
  static long[] values(int from, int count) {
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      values[i] = from + i;
    }
    return values;
  }

  /** Ingests {@code count} rows of {@code keys} from {@code from}, {@code v} the row's index. */
  static PipelineStats ingest(BufferAllocator allocator, Path warehouse, String mode,
      int formatVersion, long[] keys, int from, int count, String id)
      throws InterruptedException {
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      values[i] = from + i;
    }
    long[] slice = java.util.Arrays.copyOfRange(keys, from, from + count);
    return ingest(allocator, warehouse, mode, formatVersion, slice, values, count, FLUSH_ROWS,
        id);
  }

  static PipelineStats ingest(BufferAllocator allocator, Path warehouse, String mode,
      int formatVersion, long[] keys, long[] values, int count, int flushRows, String id)
      throws InterruptedException {
    return ingest(allocator, warehouse, mode, formatVersion, keys, values, count, flushRows, id,
        false);
  }

  static PipelineStats ingest(BufferAllocator allocator, Path warehouse, String mode,
      int formatVersion, long[] keys, long[] values, int count, int flushRows, String id,
      boolean stringKeys) throws InterruptedException {
    IcebergSink.Builder b = IcebergSink.builder().localWarehouse(warehouse).table(TABLE)
        .formatVersion(formatVersion);
    if (mode.startsWith("keyed:")) { // keyed:<max deleted ratio>
      b.maxDeletedRatio(Double.parseDouble(mode.substring("keyed:".length())));
    }
    switch (mode.startsWith("keyed:") ? "keyed" : mode) {
      case "append":
        break;
      case "keyed":
        b.commitStrategy(CommitStrategy.upsert("id"));
        break;
      case "equality":
        b.commitStrategy(CommitStrategy.upsert("id")).equalityDeletes();
        break;
      default:
        throw new IllegalArgumentException("Cannot ingest in mode " + mode
            + ": append, keyed, keyed:<max deleted ratio> or equality");
    }
    List<Long> commitTimes = new java.util.concurrent.CopyOnWriteArrayList<>();
    long started = System.nanoTime();
    try (Pipeline p = Pipeline.from(new KeysSource(allocator, keys, values, count, stringKeys))
        .id(id)
        .batch(BatchPolicy.rows(flushRows))
        .listener(new PipelineListener() {
          @Override
          public void onCommit(CommitEvent event) {
            commitTimes.add(System.nanoTime());
          }
        })
        .to(b.build())) {
      p.start();
      if (!p.awaitIdle(DEADLINE)) {
        throw new IllegalStateException("Cannot ingest " + count + " rows (" + mode
            + ") within " + DEADLINE + ": " + p.stats());
      }
      if (!id.startsWith("ingest-") && commitTimes.size() > 1) {
        // how a flush's cost grows with the table: seconds per flush, first to last
        StringBuilder line = new StringBuilder("[flushes] " + id + " " + mode + ": s per flush");
        long previous = started;
        for (int i = 0; i < commitTimes.size(); i++) {
          long t = commitTimes.get(i);
          if (i < 3 || (i + 1) % 10 == 0 || i == commitTimes.size() - 1) {
            line.append(String.format(" #%d %.2f", i + 1, (t - previous) / 1e9));
          }
          previous = t;
        }
        System.out.println(line);
      }
      return p.stats();
    }
  }

  /** Prints the key index's bytes per key: by its own account and by the heap it allocates. */
  static void printIndexBytes() {
    long budget = io.crest.iceberg.IcebergSink.Builder.DEFAULT_KEY_INDEX_MEMORY.toBytes();
    java.lang.management.ThreadMXBean mx =
        java.lang.management.ManagementFactory.getThreadMXBean();
    long before = allocated(mx);
    LongKeyIndex index = LongKeyIndex.withMemory(budget);
    long allocated = allocated(mx) - before;
    int max = index.maxKeys();
    Random random = new Random(7);
    for (int i = 0; i < max; i++) {
      index.put(random.nextLong() & Long.MAX_VALUE, LongKeyIndex.location(i & 1023, i));
    }
    long filled = allocated(mx) - before;
    System.out.printf("%n[index] budget %d B: maxKeys %d, memoryBytes %d, memoryBytes/maxKeys"
            + " %.2f B, heap allocated by withMemory %d B (%.2f B/key), after %d puts %d B"
            + " (%.2f B/key), held %d keys, %d evictions%n", budget, max, index.memoryBytes(),
        (double) index.memoryBytes() / max, allocated, (double) allocated / max, max, filled,
        (double) filled / max, index.size(), index.evictions());
  }

  private static long allocated(java.lang.management.ThreadMXBean mx) {
    return mx instanceof com.sun.management.ThreadMXBean
        ? ((com.sun.management.ThreadMXBean) mx).getThreadAllocatedBytes(
            Thread.currentThread().getId())
        : -1;
  }

  static void printFiles(String name, Table table) {
    long dataFiles = 0;
    long dataRows = 0;
    long deleteFiles = 0;
    long deletedRecords = 0;
    java.util.Map<String, Integer> kinds = new java.util.TreeMap<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      java.util.Set<String> deletes = new java.util.HashSet<>();
      for (FileScanTask t : tasks) {
        dataFiles++;
        dataRows += t.file().recordCount();
        for (org.apache.iceberg.DeleteFile d : t.deletes()) {
          String key = d.location() + "@" + d.contentOffset();
          if (deletes.add(key)) {
            deleteFiles++;
            deletedRecords += d.recordCount();
            kinds.merge(d.content() + "/" + d.format(), 1, Integer::sum);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    System.out.printf("[table] %s: %d data files, %d rows in them, %d deletes %s covering %d"
        + " records%n", name, dataFiles, dataRows, deleteFiles, kinds, deletedRecords);
  }

  /**
   * A one-stream source of {@code (id, v)} rows from arrays, in {@value #BATCH_ROWS}-row batches,
   * then complete. Batches are built as they are emitted, from a child of the trial's allocator.
   */
  static final class KeysSource implements Source {
    private final BufferAllocator allocator;
    private final long[] keys;
    private final long[] values;
    private final int count;
    private final byte[][] strings; // the string of each key number, or null for long keys
    private Thread reader;

    KeysSource(BufferAllocator parent, long[] keys, long[] values, int count,
        boolean stringKeys) {
      this.allocator = parent.newChildAllocator("keys-source", 0, Long.MAX_VALUE);
      this.keys = keys;
      this.values = values;
      this.count = count;
      // made before the pipeline starts, not on the source's thread
      strings = stringKeys
          ? stringKeys((int) java.util.Arrays.stream(keys, 0, count).max().orElse(0)) : null;
    }

    @Override
    public String name() {
      return "keys";
    }

    @Override
    public void start(SourceContext context) {
      SourcePosition resume = context.resumePositions().get("keys");
      long skip = resume == null ? 0 : resume.asOffset();
      reader = new Thread(() -> {
        try {
          for (int off = (int) skip; off < count; off += BATCH_ROWS) {
            int n = Math.min(BATCH_ROWS, count - off);
            if (!context.emit(SourceBatch.of("keys", batch(off, n),
                SourcePosition.ofOffset(off + n)))) {
              return;
            }
          }
          context.complete();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
          context.fail(e);
        }
      }, "keys-source");
      reader.start();
    }

    private VectorSchemaRoot batch(int off, int n) {
      VectorSchemaRoot root = VectorSchemaRoot.create(strings == null ? SCHEMA : STRING_SCHEMA,
          allocator);
      BigIntVector v = (BigIntVector) root.getVector(1);
      v.allocateNew(n);
      if (strings == null) {
        BigIntVector id = (BigIntVector) root.getVector(0);
        id.allocateNew(n);
        for (int i = 0; i < n; i++) {
          id.set(i, keys[off + i]);
        }
      } else {
        org.apache.arrow.vector.VarCharVector id =
            (org.apache.arrow.vector.VarCharVector) root.getVector(0);
        id.allocateNew(20L * n, n);
        for (int i = 0; i < n; i++) {
          id.setSafe(i, strings[(int) keys[off + i]]);
        }
      }
      for (int i = 0; i < n; i++) {
        v.set(i, values[off + i]);
      }
      root.setRowCount(n);
      return root;
    }

    @Override
    public void close() {
      if (reader != null) {
        reader.interrupt();
        try {
          reader.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      allocator.close();
    }
  }

  private static Path scratch(String prefix) {
    try {
      Path shm = Path.of("/dev/shm");
      return Files.isDirectory(shm) && Files.isWritable(shm)
          ? Files.createTempDirectory(shm, prefix) : Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create a benchmark scratch directory", e);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
