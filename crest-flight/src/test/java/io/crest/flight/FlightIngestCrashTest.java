package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Push ingest across real crashes: the application ({@link IngestCrashChild}, a Flight ingest
 * server and its pipeline into a {@link DirectorySink}) runs in a child JVM that is killed with
 * SIGKILL while producers put, several times, and restarted. Real Flight producers with ids keep
 * their unacknowledged batches and re-send them to the restarted application. After every kill
 * every acknowledged batch is in the committed files, and at the end every row is there exactly
 * once. Kill delays come from a seeded generator ({@code -Dcrest.crash.seed=S}).
 */
@Timeout(300)
class FlightIngestCrashTest extends FlightTestSupport {
  private static final String TABLE = "shop.orders";
  private static final int PRODUCERS = 3;
  private static final long BATCHES = 300;
  private static final int ROWS = 100;
  private static final int KILLS = 3;

  @TempDir Path dir;

  @Test
  void sigkillBetweenPutAndCommit_producersResendUnacknowledged_everyRowExactlyOnce()
      throws Exception {
    long seed = Long.getLong("crest.crash.seed", 20261122L);
    Random random = new Random(seed);
    Path table = dir.resolve("table");
    long[] next = new long[PRODUCERS]; // per producer: the first sequence without an ack
    java.util.Arrays.fill(next, 1);
    long unacknowledgedAtKills = 0;
    long committedUnacknowledged = 0; // the commit was durable, the ack lost with the process
    for (int run = 0; run <= KILLS; run++) {
      Process child = startChild(table, run);
      try {
        int port = awaitPort(child, run);
        List<TestProducer.Put> puts = new ArrayList<>();
        try (FlightClient client = FlightClient.builder(
            allocator, Location.forGrpcInsecure("127.0.0.1", port)).build()) {
          for (int p = 0; p < PRODUCERS; p++) {
            puts.add(TestProducer.start(client, allocator, TABLE, "p" + p, base(p), next[p],
                BATCHES, ROWS));
          }
          if (run < KILLS) {
            // Kill while batches are in flight: once a random number of them was acknowledged.
            int acks = 1 + random.nextInt(40);
            try {
              await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(1))
                  .until(() -> puts.stream().mapToInt(put -> put.acks.size()).sum() >= acks);
            } catch (ConditionTimeoutException e) {
              throw new AssertionError(acks + " acknowledgements did not come in "
                  + describe(run, puts), e);
            }
            child.destroyForcibly(); // SIGKILL: no shutdown hook, no flush, no commit
            child.waitFor();
            for (TestProducer.Put put : puts) {
              awaitEnd(put);
              unacknowledgedAtKills += put.sent.get() - put.acks.size();
            }
          } else {
            for (TestProducer.Put put : puts) {
              put.done.get(2, TimeUnit.MINUTES);
            }
          }
        }
        Set<Long> ids = DirectorySink.committedIds(table).keySet();
        for (int p = 0; p < PRODUCERS; p++) {
          next[p] = checkAcknowledged(puts.get(p), next[p], p, ids);
          long from = base(p) + (next[p] - 1) * ROWS;
          long to = base(p + 1);
          committedUnacknowledged += ids.stream().filter(id -> id >= from && id < to).count()
              / ROWS;
        }
      } finally {
        child.destroyForcibly();
        child.waitFor();
      }
    }

    Map<Long, Integer> committed = DirectorySink.committedIds(table);
    System.out.printf("crash seed=%d kills=%d: batches sent but unacknowledged at the kills %d"
        + " (of them committed %d), rows committed %d%n", seed, KILLS, unacknowledgedAtKills,
        committedUnacknowledged, committed.size());
    assertThat(unacknowledgedAtKills).as("batches in flight when the kills came").isPositive();
    assertThat(next).containsOnly(BATCHES + 1);
    assertThat(committed.values()).as("times each row is committed").containsOnly(1);
    for (int p = 0; p < PRODUCERS; p++) {
      assertThat(missing(committed.keySet(), base(p), BATCHES)).as("lost rows of producer %d", p)
          .isEmpty();
    }
    assertThat(committed).hasSize((int) (PRODUCERS * BATCHES * ROWS));
  }

  private static long base(int producer) {
    return producer * 1_000_000L;
  }

  /**
   * Checks that {@code put}, which started at sequence {@code from}, was acknowledged in order
   * and that every acknowledged batch is committed; returns the first unacknowledged sequence.
   */
  private static long checkAcknowledged(
      TestProducer.Put put, long from, int producer, Set<Long> committed) {
    List<String> expected = new ArrayList<>();
    for (long s = from; s < from + put.acks.size(); s++) {
      expected.add(Long.toString(s));
    }
    assertThat(put.acks).as("acks of producer %d", producer).containsExactlyElementsOf(expected);
    long next = from + put.acks.size();
    assertThat(missing(committed, base(producer), next - 1))
        .as("acknowledged rows of producer %d that are not committed", producer).isEmpty();
    return next;
  }

  /** The ids of batches 1..{@code batches} (from {@code base}) that are not {@code committed}. */
  private static List<Long> missing(Set<Long> committed, long base, long batches) {
    return TestProducer.ids(base, 1, batches, ROWS).stream()
        .filter(id -> !committed.contains(id)).collect(Collectors.toList());
  }

  private static void awaitEnd(TestProducer.Put put) throws InterruptedException {
    try {
      put.done.get(1, TimeUnit.MINUTES);
    } catch (ExecutionException e) {
      // expected: the server died under the put
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("a put did not end after its server was killed", e);
    }
  }

  private Process startChild(Path table, int run) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-opens=java.base/java.nio=ALL-UNNAMED");
    command.add("-Xmx256m");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(IngestCrashChild.class.getName());
    command.add(table.toString());
    return new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(log(run).toFile()).start();
  }

  private int awaitPort(Process child, int run) throws IOException {
    AtomicInteger port = new AtomicInteger();
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(20)).until(() -> {
      assertThat(child.isAlive()).as("child %d alive; its log: %s", run, log(run)).isTrue();
      for (String line : Files.readAllLines(log(run))) {
        if (line.startsWith(IngestCrashChild.READY)) {
          port.set(Integer.parseInt(line.substring(IngestCrashChild.READY.length())));
        }
      }
      return port.get() > 0;
    });
    return port.get();
  }

  private String describe(int run, List<TestProducer.Put> puts) throws IOException {
    StringBuilder text = new StringBuilder("run " + run + ":");
    for (TestProducer.Put put : puts) {
      text.append(" [sent ").append(put.sent.get()).append(", acks ").append(put.acks.size())
          .append(", ").append(put.done).append(']');
    }
    List<String> lines = Files.readAllLines(log(run));
    return text.append("; child log ends:\n")
        .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())))
        .toString();
  }

  private Path log(int run) {
    return dir.resolve("child-" + run + ".log");
  }
}
