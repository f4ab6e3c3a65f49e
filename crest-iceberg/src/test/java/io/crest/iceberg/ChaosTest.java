package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a pipeline with SIGKILL at random instants, many times, restarting it each time, then lets
 * it finish and checks the table by key: every source row exactly once.
 *
 * <p>The pipeline runs in a child JVM ({@link ChaosChild}) against Flight views served from this
 * JVM that grow while the kills happen, and a SQLite JDBC catalog in a temporary directory. The
 * kill delays come from a seeded random generator (0 to 2 s after the child reports that its pipeline runs, or 0 to 1 s
 * after its first commit), printed with the result. Run more kills with
 * {@code mvn -pl crest-iceberg -am verify -Pchaos -Dtest=ChaosTest -Dsurefire.failIfNoSpecifiedTests=false}
 * (100 kills) or {@code -Dcrest.chaos.kills=N}; another seed with {@code -Dcrest.chaos.seed=S}.
 *
 * <p>The second test does the same to a change-data-capture pipeline ({@code
 * CommitStrategy.upsertWithOps("op", "id")}) reading {@link ChangeViewServer} streams: inserts,
 * updates and deletes of a small key space, with every 7th batch poisoned (a null id) so that the
 * sink rejects it and the pipeline dead-letters it. The table, read through Iceberg's generic
 * reader, must hold exactly one row per key of the model (the changes replayed in order, poisoned
 * batches skipped) with the key's latest name, and the dead-letter directory exactly one file per
 * poisoned batch. The seed also drives the changes.
 */
class ChaosTest {
  private static final List<String> STREAMS = List.of("chaos_a", "chaos_b", "chaos_c");
  private static final long ROWS_PER_STREAM = 30_000;
  private static final TableIdentifier CHANGES = TableIdentifier.of("chaos", "changes");
  private static final List<String> CDC_STREAMS = List.of("changes_a", "changes_b");
  private static final long CDC_ROWS_PER_STREAM = 20_000;
  private static final int CDC_BATCH_ROWS = 200;
  private static final int CDC_KEYS = 2_000; // per stream: each key changes about 10 times
  private static final int CDC_POISON_EVERY = 7; // batches 6, 13, ...: 14 of 100 per stream

  @TempDir Path dir;

  @Test
  void sigkillAtRandomInstants_thenRestart_leavesEveryRowExactlyOnce() throws Exception {
    int kills = Integer.getInteger("crest.chaos.kills", 20);
    long seed = Long.getLong("crest.chaos.seed", 20261121L);
    Random random = new Random(seed);
    Path warehouse = dir.resolve("warehouse");
    try (BufferAllocator allocator = new RootAllocator();
        ViewServer server = new ViewServer(allocator, 500)) {
      // The views grow for about as long as the kills go on (about 3 s a run), so kills land
      // while the pipeline reads, writes, commits and catches up.
      long rate = Math.max(100, ROWS_PER_STREAM * 1_000 / (kills * 3_000L)); // rows/s per stream
      for (int i = 0; i < STREAMS.size(); i++) {
        server.growingView(STREAMS.get(i), i * 1_000_000L, ROWS_PER_STREAM, rate);
      }
      Kills k = killRepeatedly(kills, random,
          run -> startChild("append", warehouse, server.uri(), STREAMS, run));
      int killed = k.killed();
      int finishedEarly = k.finishedEarly();
      int run = k.runs();
      long committedBeforeFinalRun = countRows(warehouse);
      assertThat(killed).as("SIGKILLs delivered").isEqualTo(kills);
      Process last = startChild("append", warehouse, server.uri(), STREAMS, run);
      assertThat(last.waitFor(5, TimeUnit.MINUTES)).as("final run finished").isTrue();
      assertThat(last.exitValue()).as("final run exit; its log ends:%n%s", tail(run)).isZero();

      Map<Long, Integer> seen = readIds(warehouse);
      long expected = ROWS_PER_STREAM * STREAMS.size();
      long found = seen.values().stream().mapToLong(Integer::longValue).sum();
      long duplicates = seen.values().stream().filter(n -> n > 1).mapToLong(n -> n - 1).sum();
      List<Long> lost = new ArrayList<>();
      for (int i = 0; i < STREAMS.size(); i++) {
        for (long id = i * 1_000_000L; id < i * 1_000_000L + ROWS_PER_STREAM; id++) {
          if (!seen.containsKey(id)) {
            lost.add(id);
          }
        }
      }
      System.out.printf(
          "chaos seed=%d kills=%d (runs that finished before their kill: %d; rows committed by"
              + " killed runs: %d): rows expected %d, found %d, duplicates %d, losses %d%n",
          seed, killed, finishedEarly, committedBeforeFinalRun, expected, found, duplicates,
          lost.size());
      assertThat(committedBeforeFinalRun).as("the killed runs made progress").isPositive();
      assertThat(duplicates).as("duplicated rows").isZero();
      assertThat(lost).as("lost ids").isEmpty();
      assertThat(found).isEqualTo(expected);
      assertThat(seen).hasSize((int) expected);
    }
  }

  @Test
  void upsertWithOps_sigkillAtRandomInstants_thenRestart_leavesTheModelsRowPerKey()
      throws Exception {
    int kills = Integer.getInteger("crest.chaos.kills", 20);
    long seed = Long.getLong("crest.chaos.seed", 20261121L);
    Random random = new Random(seed);
    Path warehouse = dir.resolve("warehouse");
    Path deadLetters = ChaosChild.deadLetters(warehouse);
    try (BufferAllocator allocator = new RootAllocator();
        ChangeViewServer server = new ChangeViewServer(
            allocator, CDC_BATCH_ROWS, CDC_KEYS, CDC_POISON_EVERY, seed)) {
      assertThat(server.poisoned(CDC_ROWS_PER_STREAM / CDC_BATCH_ROWS - 1))
          .as("the last batch of a stream is not poisoned (no later commit would record that the"
              + " stream moved past it, so every restart would dead-letter it again)")
          .isFalse();
      // As in the append test: the streams grow for about as long as the kills go on.
      long rate = Math.max(CDC_BATCH_ROWS, CDC_ROWS_PER_STREAM * 1_000 / (kills * 3_000L));
      for (int i = 0; i < CDC_STREAMS.size(); i++) {
        server.growingView(CDC_STREAMS.get(i), keyBase(i), CDC_ROWS_PER_STREAM, rate);
      }
      Kills k = killRepeatedly(kills, random,
          run -> startChild("cdc", warehouse, server.uri(), CDC_STREAMS, run));
      int snapshotsBeforeFinalRun = countSnapshots(warehouse, CHANGES);
      int deadLettersBeforeFinalRun = deadLetterFiles(deadLetters).size();
      assertThat(k.killed()).as("SIGKILLs delivered").isEqualTo(kills);
      Process last = startChild("cdc", warehouse, server.uri(), CDC_STREAMS, k.runs());
      assertThat(last.waitFor(5, TimeUnit.MINUTES)).as("final run finished").isTrue();
      assertThat(last.exitValue()).as("final run exit; its log ends:%n%s", tail(k.runs()))
          .isZero();

      // The model: each stream's changes replayed in order, poisoned batches skipped whole.
      Map<Long, String> expected = new HashMap<>();
      Set<String> poisoned = new TreeSet<>();
      for (int i = 0; i < CDC_STREAMS.size(); i++) {
        expected.putAll(server.model(keyBase(i), CDC_ROWS_PER_STREAM));
        for (long b = 0; b < CDC_ROWS_PER_STREAM / CDC_BATCH_ROWS; b++) {
          if (server.poisoned(b)) {
            poisoned.add(CDC_STREAMS.get(i) + "@" + (b + 1) * CDC_BATCH_ROWS);
          }
        }
      }
      long started = System.nanoTime();
      Map<Long, List<String>> found = readNames(warehouse, CHANGES);
      long readMs = (System.nanoTime() - started) / 1_000_000;
      List<String> duplicated = new ArrayList<>();
      List<String> resurrected = new ArrayList<>();
      List<String> wrongName = new ArrayList<>();
      for (Map.Entry<Long, List<String>> e : found.entrySet()) {
        long key = e.getKey();
        List<String> names = e.getValue();
        if (names.size() > 1) {
          duplicated.add("key " + key + ": " + names.size() + " rows " + names);
        } else if (!expected.containsKey(key)) {
          resurrected.add("key " + key + " (name " + names.get(0) + ")");
        } else if (!Objects.equals(expected.get(key), names.get(0))) {
          wrongName.add("key " + key + ": expected " + expected.get(key) + ", found "
              + names.get(0));
        }
      }
      List<Long> lost = expected.keySet().stream().filter(key -> !found.containsKey(key))
          .sorted().toList();
      List<DeadLetterFile> files = deadLetterFiles(deadLetters);
      Map<String, Long> filesPerBatch = new TreeMap<>();
      files.forEach(f -> filesPerBatch.merge(f.batch(), 1L, Long::sum));
      List<String> repeated = filesPerBatch.entrySet().stream().filter(e -> e.getValue() > 1)
          .map(e -> e.getKey() + " x" + e.getValue()).toList();
      long temporary = temporaryFiles(deadLetters);
      System.out.printf(
          "chaos cdc seed=%d kills=%d (runs that finished before their kill: %d; snapshots by"
              + " killed runs: %d, dead-letter files by killed runs: %d): keys expected %d,"
              + " found %d, lost %d, resurrected %d, duplicated %d, wrong name %d; poisoned"
              + " batches %d, dead-letter files %d (batches with more than one: %d, temporary"
              + " files left: %d); final read %d ms%n",
          seed, k.killed(), k.finishedEarly(), snapshotsBeforeFinalRun,
          deadLettersBeforeFinalRun, expected.size(), found.size(), lost.size(),
          resurrected.size(), duplicated.size(), wrongName.size(), poisoned.size(), files.size(),
          repeated.size(), temporary, readMs);

      SoftAssertions softly = new SoftAssertions();
      softly.assertThat(snapshotsBeforeFinalRun).as("the killed runs made progress").isPositive();
      softly.assertThat(first(lost)).as("keys lost (seed %d)", seed).isEmpty();
      softly.assertThat(first(resurrected)).as("keys deleted but in the table (seed %d)", seed)
          .isEmpty();
      softly.assertThat(first(duplicated)).as("keys with more than one row (seed %d)", seed)
          .isEmpty();
      softly.assertThat(first(wrongName)).as("keys whose row is not their latest change (seed %d)",
          seed).isEmpty();
      softly.assertThat(found.keySet()).as("keys in the table").hasSameSizeAs(expected.keySet());
      // A kill half-way through a dead-letter write leaves a temporary file; the replay of that
      // batch writes the file again and removes it.
      softly.assertThat(temporary).as("temporary dead-letter files left").isZero();
      softly.assertThat(files).as("dead-letter files").allSatisfy(f -> assertThat(f.rows())
          .as("rows of dead-letter file %s", f.file()).isEqualTo(CDC_BATCH_ROWS));
      softly.assertThat(filesPerBatch.keySet())
          .as("the batches of the dead-letter files (stream@position after the batch, seed %d)",
              seed)
          .containsExactlyElementsOf(poisoned);
      // A replay of a dead-lettered batch whose position was not committed yet must replace its
      // file, not add one: the file name must follow from (pipeline id, stream, position).
      softly.assertThat(first(repeated))
          .as("poisoned batches with more than one dead-letter file: a replay after a crash must"
              + " not add another file for the same batch (seed %d)", seed)
          .isEmpty();
      softly.assertThat(files.size())
          .as("dead-letter files, one per poisoned batch (seed %d)", seed)
          .isEqualTo(poisoned.size());
      softly.assertAll();
    }
  }

  private static long keyBase(int stream) {
    return stream * 1_000_000L;
  }

  /** The first 20 elements, enough to show what failed without flooding the report. */
  private static <T> List<T> first(List<T> list) {
    return list.subList(0, Math.min(20, list.size()));
  }

  /** A dead-letter file: its batch ({@code stream@position}) from its own metadata, its rows. */
  private record DeadLetterFile(Path file, String batch, int rows) {}

  private static List<DeadLetterFile> deadLetterFiles(Path directory) throws IOException {
    List<DeadLetterFile> files = new ArrayList<>();
    if (!Files.exists(directory)) {
      return files;
    }
    List<Path> paths;
    try (Stream<Path> list = Files.list(directory)) {
      paths = list.filter(f -> !f.getFileName().toString().startsWith("."))
          .filter(f -> f.getFileName().toString().endsWith(".arrow")).sorted().toList();
    }
    try (BufferAllocator allocator = new RootAllocator()) {
      for (Path path : paths) {
        try (ArrowFileReader reader =
            new ArrowFileReader(Files.newByteChannel(path), allocator)) {
          int rows = 0;
          while (reader.loadNextBatch()) {
            rows += reader.getVectorSchemaRoot().getRowCount();
          }
          Map<String, String> meta = reader.getMetaData();
          files.add(new DeadLetterFile(
              path, meta.get("crest.stream") + "@" + meta.get("crest.position"), rows));
        }
      }
    }
    return files;
  }

  /** Temporary files of dead-letter writes that a kill interrupted. */
  private static long temporaryFiles(Path directory) throws IOException {
    if (!Files.exists(directory)) {
      return 0;
    }
    try (Stream<Path> list = Files.list(directory)) {
      return list.filter(f -> f.getFileName().toString().startsWith(".")).count();
    }
  }

  private static int countSnapshots(Path warehouse, TableIdentifier id) throws IOException {
    if (!Files.exists(warehouse.resolve("catalog.db"))) {
      return 0;
    }
    try (OpenCatalog catalog = new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)))) {
      if (!catalog.tableExists(id)) {
        return 0;
      }
      int n = 0;
      for (org.apache.iceberg.Snapshot ignored : catalog.loadTable(id).snapshots()) {
        n++;
      }
      return n;
    }
  }

  /** Key to the names of its rows, read through Iceberg's generic reader (deletes applied). */
  private static Map<Long, List<String>> readNames(Path warehouse, TableIdentifier id)
      throws IOException {
    try (OpenCatalog catalog = new OpenCatalog(IcebergCatalogs.open(
            IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
        CloseableIterable<Record> rows =
            IcebergGenerics.read(catalog.loadTable(id)).select("id", "name").build()) {
      Map<Long, List<String>> found = new HashMap<>();
      for (Record r : rows) {
        Object name = r.getField("name");
        found.computeIfAbsent((Long) r.getField("id"), key -> new ArrayList<>())
            .add(name == null ? null : name.toString());
      }
      return found;
    }
  }

  private String tail(int run) throws IOException {
    List<String> lines = Files.readAllLines(log(run));
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private Path log(int run) {
    return dir.resolve("child-" + run + ".log");
  }

  /** What {@link #killRepeatedly} did. */
  private record Kills(int killed, int finishedEarly, int runs) {}

  /** Starts a child run; {@code run} numbers its log. */
  private interface ChildStarter {
    Process start(int run) throws IOException;
  }

  /**
   * Starts children and kills each with SIGKILL at a random instant of its ingesting phase, until
   * {@code kills} kills really happened (a run may finish before its kill; it must then exit 0).
   */
  private Kills killRepeatedly(int kills, Random random, ChildStarter starter) throws Exception {
    int killed = 0;
    int finishedEarly = 0;
    int run = 0;
    for (; killed < kills && run < kills * 3; run++) {
      Process child = starter.start(run);
      // Kill at a random instant of the ingesting phase, not during JVM start-up: half of the
      // runs count from the moment the pipeline runs, half from its first commit (so kills also
      // land between and during later commits even on a slow machine).
      Path log = log(run);
      String marker = random.nextBoolean() ? ChaosChild.STARTED : ChaosChild.COMMITTED;
      await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(10))
          .until(() -> !child.isAlive()
              || Files.exists(log) && Files.readString(log).contains(marker));
      long delayMs = random.nextInt(marker.equals(ChaosChild.STARTED) ? 2_000 : 1_000);
      if (child.waitFor(delayMs, TimeUnit.MILLISECONDS)) {
        assertThat(child.exitValue()).as("child run %d exit; its log ends:%n%s", run, tail(run))
            .isZero();
        finishedEarly++;
        continue;
      }
      child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no cleanup
      child.waitFor();
      killed++;
    }
    return new Kills(killed, finishedEarly, run);
  }

  private Process startChild(String mode, Path warehouse, String uri, List<String> streams, int run)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    command.add("-Xmx512m");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ChaosChild.class.getName());
    command.add(mode);
    command.add(warehouse.toString());
    command.add(uri);
    command.addAll(streams);
    File logFile = log(run).toFile();
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(logFile).start();
  }

  private static long countRows(Path warehouse) throws IOException {
    if (!Files.exists(warehouse.resolve("catalog.db"))) {
      return 0;
    }
    try (OpenCatalog catalog = new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)))) {
      TableIdentifier id = TableIdentifier.of("chaos", "events");
      return catalog.tableExists(id)
          ? readIds(catalog.loadTable(id)).values().stream().mapToLong(Integer::longValue).sum()
          : 0;
    }
  }

  private static Map<Long, Integer> readIds(Table table) throws IOException {
    Map<Long, Integer> seen = new HashMap<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).select("id").build()) {
      for (Record r : rows) {
        seen.merge((Long) r.getField("id"), 1, Integer::sum);
      }
    }
    return seen;
  }

  private static Map<Long, Integer> readIds(Path warehouse) throws IOException {
    try (OpenCatalog catalog = new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)))) {
      return readIds(catalog.loadTable(TableIdentifier.of("chaos", "events")));
    }
  }
}
