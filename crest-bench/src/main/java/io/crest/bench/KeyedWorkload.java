package io.crest.bench;

import static io.crest.bench.KeyedTableBenchmark.BATCH_ROWS;
import static io.crest.bench.KeyedTableBenchmark.FLUSH_ROWS;
import static io.crest.bench.KeyedTableBenchmark.KEYS;
import static io.crest.bench.KeyedTableBenchmark.TABLE;

import io.crest.BatchPolicy;
import io.crest.CommitEvent;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.iceberg.IcebergSink;
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
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.io.CloseableIterable;

/**
 * The workload of {@link KeyedTableBenchmark}: the stream of {@code (id, v)} rows (random keys,
 * long or as strings), the source that emits it, the pipelines that ingest it into a local
 * warehouse in each mode (append, keyed, keyed with a max deleted ratio, equality), and what the
 * benchmark prints about the tables and the key index. Static; the key strings are made once and
 * shared (thread-safe).
 */
final class KeyedWorkload {
  private KeyedWorkload() {}

  private static final Duration DEADLINE = Duration.ofMinutes(10);
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


  /** The values {@code from}, {@code from + 1}, ... of {@code count} rows: each row's index. */
  static long[] values(int from, int count) {
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      values[i] = from + i;
    }
    return values;
  }

  /** Ingests {@code count} rows of {@code keys} from {@code from}, {@code v} the row's index. */
  static PipelineStats ingestRows(BufferAllocator allocator, Path warehouse, String mode,
      int formatVersion, long[] keys, int from, int count, String id)
      throws InterruptedException {
    long[] values = new long[count];
    for (int i = 0; i < count; i++) {
      values[i] = from + i;
    }
    long[] slice = java.util.Arrays.copyOfRange(keys, from, from + count);
    return ingestRows(allocator, warehouse, mode, formatVersion, slice, values, count, FLUSH_ROWS,
        id);
  }

  static PipelineStats ingestRows(BufferAllocator allocator, Path warehouse, String mode,
      int formatVersion, long[] keys, long[] values, int count, int flushRows, String id)
      throws InterruptedException {
    return ingestRows(allocator, warehouse, mode, formatVersion, keys, values, count, flushRows, id,
        false);
  }

  static PipelineStats ingestRows(BufferAllocator allocator, Path warehouse, String mode,
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
   * A one-stream source of {@code (id, v)} rows from arrays, in {@value
   * KeyedTableBenchmark#BATCH_ROWS}-row batches, then complete. Batches are built as they are
   * emitted, from a child of the trial's allocator; string keys are copied from {@link
   * #stringKeys}.
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

  static Path scratch(String prefix) {
    try {
      Path shm = Path.of("/dev/shm");
      return Files.isDirectory(shm) && Files.isWritable(shm)
          ? Files.createTempDirectory(shm, prefix) : Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create a benchmark scratch directory", e);
    }
  }

  static void deleteRecursively(Path dir) throws IOException {
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
