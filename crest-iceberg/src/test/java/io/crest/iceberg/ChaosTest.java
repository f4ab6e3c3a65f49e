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
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
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
 */
class ChaosTest {
  private static final List<String> STREAMS = List.of("chaos_a", "chaos_b", "chaos_c");
  private static final long ROWS_PER_STREAM = 30_000;

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
      int killed = 0;
      int finishedEarly = 0;
      int run = 0;
      // Until the requested number of kills really happened (a run may finish before its kill).
      for (; killed < kills && run < kills * 3; run++) {
        Process child = startChild(warehouse, server.uri(), run);
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
      long committedBeforeFinalRun = countRows(warehouse);
      assertThat(killed).as("SIGKILLs delivered").isEqualTo(kills);
      Process last = startChild(warehouse, server.uri(), run);
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

  private String tail(int run) throws IOException {
    List<String> lines = Files.readAllLines(log(run));
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
  }

  private Path log(int run) {
    return dir.resolve("child-" + run + ".log");
  }

  private Process startChild(Path warehouse, String uri, int run) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    command.add("-Xmx512m");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(ChaosChild.class.getName());
    command.add(warehouse.toString());
    command.add(uri);
    command.addAll(STREAMS);
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
