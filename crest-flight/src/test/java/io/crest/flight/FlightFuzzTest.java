package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.errors.SourceException;
import io.crest.testing.MemorySink;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.Location;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Seeded fuzzing of both Flight edges with {@link HostileFrames}: hostile {@code DoPut} calls
 * against a running ingest server while good producers put beside them, and a {@code
 * FlightSource} reading hostile streams from a misbehaving server while a good stream is read
 * beside them. For every case: the JVM and the pipeline live, nothing a strict Arrow reader
 * rejects is committed (or emitted), every error the server words names the put's producer, and
 * the good producers' rows are all committed once. Leaks fail the test when the allocators close.
 * Prints and writes {@code target/fuzz-report.txt}. Bounded: {@value #PUT_CASES} + {@value
 * #READ_CASES} cases, loopback only, in about half a minute.
 *
 * <p>Reproduce: {@code mvn -o -pl crest-flight -am verify -Dtest='FlightFuzzTest*'
 * -Dsurefire.failIfNoSpecifiedTests=false} (seed: {@code -Dcrest.fuzz.seed=N}).
 */
@Timeout(240)
class FlightFuzzTest extends FlightTestSupport {
  static final int PUT_CASES = 700;
  static final int READ_CASES = 400;
  private static final String TABLE = "shop.orders";
  private static final long SEED = Long.getLong("crest.fuzz.seed", 20261202L);
  private static final long HOSTILE_BASE = 10_000_000L;
  private static final Map<String, String> REPORT = new TreeMap<>();

  private final AtomicInteger uncaught = new AtomicInteger();
  private Thread.UncaughtExceptionHandler previousHandler;

  @BeforeEach
  void countUncaught() {
    previousHandler = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.incrementAndGet());
  }

  @AfterEach
  void restoreHandler() throws Exception {
    Thread.setDefaultUncaughtExceptionHandler(previousHandler);
    StringBuilder text = new StringBuilder();
    REPORT.forEach((k, v) -> text.append(k).append(": ").append(v).append('\n'));
    Path report = Path.of("target", "fuzz-report.txt");
    Files.createDirectories(report.getParent());
    Files.writeString(report, text.toString());
  }

  @Test
  void doPut_hostileCases_neverCommitBadInputNorHurtGoodProducers() throws Exception {
    long started = System.nanoTime();
    BufferAllocator fuzz = flightAllocator();
    FlightIngestServer server = FlightIngestServer.builder(fuzz, "grpc://127.0.0.1:0")
        .table(TABLE, HostileFrames.SCHEMA)
        .idleTimeout(Duration.ofSeconds(3))
        .maxMessageSize(DataSize.kib(256))
        .build();
    resources.push(() -> {
      try {
        server.close();
      } catch (IllegalStateException e) {
        // Flight's transport allocator kept what arrow-java leaked: reported, not Crest's
        REPORT.put("doPut.serverCloseWithFlightLeak", e.getMessage().lines().findFirst().orElse(""));
      }
    });
    MemorySink sink = new MemorySink();
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("fuzz")
        .batch(BatchPolicy.rows(200).orEvery(Duration.ofMillis(20))).to(sink);
    register(pipeline::stop);
    pipeline.start();

    // Good producers beside the hostile ones, each re-putting until the fuzzing is over.
    AtomicBoolean fuzzing = new AtomicBoolean(true);
    List<Long> goodIds = new ArrayList<>();
    List<Thread> good = new ArrayList<>();
    List<Throwable> goodFailures = new ArrayList<>();
    AtomicLong[] lastSequence = {new AtomicLong(), new AtomicLong()};
    for (int p = 0; p < 2; p++) {
      int producer = p;
      FlightClient client = register(FlightClient.builder(allocator,
          Location.forGrpcInsecure("127.0.0.1", server.port())).build());
      Thread thread = new Thread(() -> {
        long next = 1;
        while (fuzzing.get()) {
          TestProducer.Put put = TestProducer.start(client, allocator, TABLE, "good-" + producer,
              producer * 1_000_000L, next, next + 4, 10);
          try {
            put.done.get(60, TimeUnit.SECONDS);
          } catch (Exception e) {
            synchronized (goodFailures) {
              goodFailures.add(e);
            }
            return;
          }
          next += 5;
          lastSequence[producer].set(next - 1);
        }
      }, "good-producer-" + p);
      thread.start();
      good.add(thread);
    }

    HostileFrames frames = new HostileFrames(allocator, SEED, TABLE);
    HostileFrames.Kind[] kinds = HostileFrames.Kind.values();
    List<HostileFrames.Case> cases = new ArrayList<>();
    for (int i = 0; i < PUT_CASES; i++) {
      cases.add(frames.make(i, kinds[i % kinds.length], HOSTILE_BASE + i * 1_000L, true));
    }
    Map<String, Integer> outcomes = new ConcurrentHashMap<>();
    List<String> unnamed = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(8);
    List<Future<?>> sent = new ArrayList<>();
    try (AutoCloseableChannel channel = new AutoCloseableChannel(
        RawFlight.channel(server.port()))) {
      for (HostileFrames.Case c : cases) {
        sent.add(pool.submit(() -> {
          RawFlight.PutOutcome outcome = RawFlight.put(channel.channel, c.frames(), c.end(), 20);
          Status status = outcome.status();
          String description = status.getDescription() == null ? "" : status.getDescription();
          String kind;
          if (status.isOk()) {
            kind = "accepted (valid Arrow after the damage)";
          } else if (description.startsWith("Cannot")) {
            kind = "rejected by the ingest server: " + status.getCode();
            if (!description.contains(c.name()) && !description.contains("descriptor")) {
              unnamed.add(c.kind() + ": " + description);
            }
          } else {
            kind = "rejected by gRPC/Flight decoding: " + status.getCode();
          }
          outcomes.merge(kind, 1, Integer::sum);
          return null;
        }));
      }
      for (Future<?> f : sent) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      fuzzing.set(false);
    }
    for (Thread thread : good) {
      thread.join(60_000);
    }
    assertThat(goodFailures).as("good producers' failures").isEmpty();
    for (int p = 0; p < 2; p++) {
      goodIds.addAll(TestProducer.ids(p * 1_000_000L, 1, lastSequence[p].get(), 10));
    }
    waitAtMost().until(() -> server.runningPuts() == 0);
    waitAtMost().until(() -> new HashSet<>(sink.committedIds()).containsAll(goodIds));

    Set<Long> allowed = new HashSet<>();
    for (HostileFrames.Case c : cases) {
      allowed.addAll(c.allowedIds());
    }
    List<Long> committed = sink.committedIds();
    Set<Long> goodSet = new HashSet<>(goodIds);
    List<Long> bad = committed.stream()
        .filter(id -> !goodSet.contains(id) && !allowed.contains(id)).toList();
    long badRows = bad.size();
    Map<String, Integer> badByKind = new TreeMap<>();
    for (Long id : bad) {
      long index = id == null ? -1 : (id - HOSTILE_BASE) / 1_000L;
      String kind = index >= 0 && index < cases.size() ? cases.get((int) index).kind().toString()
          : "unknown id " + id;
      badByKind.merge(kind, 1, Integer::sum);
    }
    long goodCommitted = committed.stream().filter(goodSet::contains).count();
    long transportHeld = server.transportAllocator().getAllocatedMemory();
    long held = server.allocator().getAllocatedMemory() - transportHeld;
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
    boolean pipelineFailed = pipeline.failure().isPresent();

    REPORT.put("doPut.seed", Long.toString(SEED));
    REPORT.put("doPut.casesTried", Integer.toString(cases.size()));
    REPORT.put("doPut.outcomes", new TreeMap<>(outcomes).toString());
    REPORT.put("doPut.crashes", Integer.toString(uncaught.get() + (pipelineFailed ? 1 : 0)));
    REPORT.put("doPut.rowsCommittedFromBadInput", badRows + (bad.isEmpty() ? "" : " " + badByKind));
    REPORT.put("doPut.goodRows", goodIds.size() + " sent, " + goodCommitted + " committed");
    REPORT.put("doPut.leakedBytesInCrestAllocators", Long.toString(held));
    REPORT.put("doPut.bytesFlightTransportStillHeld(upstream arrow-java)",
        Long.toString(transportHeld));
    REPORT.put("doPut.seconds", Long.toString(seconds));
    System.out.println("Fuzz DoPut: " + REPORT);

    assertThat(pipeline.failure()).isEmpty();
    assertThat(uncaught.get()).isZero();
    assertThat(badRows).isZero();
    assertThat(goodCommitted).isEqualTo(goodIds.size()); // each once
    assertThat(unnamed).as("server errors that do not name the put").isEmpty();
    assertThat(held).as("bytes Crest's allocators of the ingest server still hold").isZero();
  }

  @Test
  void flightSource_misbehavingServer_failsTheStreamNamingItAndEmitsNoBadInput()
      throws Exception {
    long started = System.nanoTime();
    BufferAllocator fuzz = flightAllocator();
    RawFlight.MisbehavingServer server = register(new RawFlight.MisbehavingServer());
    HostileFrames frames = new HostileFrames(allocator, SEED + 1, TABLE);
    server.answer("good", frames.valid(null, 0, 200, 10), HostileFrames.End.COMPLETE, 2);
    FlightSource goodSource = source(FlightSource.builder(allocator)
        .endpoint(server.uri(), "good").maxReconnectAttempts(0));
    CollectingSourceContext goodContext = CollectingSourceContext.create();
    goodSource.start(goodContext);

    HostileFrames.Kind[] kinds = HostileFrames.Kind.values();
    List<HostileFrames.Case> cases = new ArrayList<>();
    for (int i = 0; i < READ_CASES; i++) {
      HostileFrames.Case c = frames.make(i, kinds[i % kinds.length], HOSTILE_BASE + i * 1_000L,
          false);
      cases.add(c);
      server.answer(c.name(), c.frames(), c.end(), 0);
    }
    Map<String, Integer> outcomes = new ConcurrentHashMap<>();
    List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicLong badRows = new AtomicLong();
    Map<String, Integer> badKinds = new ConcurrentHashMap<>();
    Map<String, Integer> leakKinds = new ConcurrentHashMap<>();
    AtomicInteger leaks = new AtomicInteger();
    AtomicInteger flightLeaks = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(6);
    List<Future<?>> read = new ArrayList<>();
    for (HostileFrames.Case c : cases) {
      read.add(pool.submit(() -> {
        FlightSource source = FlightSource.builder(fuzz)
            .endpoint(server.uri(), c.name()).maxReconnectAttempts(0).build();
        CollectingSourceContext context = CollectingSourceContext.create();
        try {
          source.start(context);
          if (c.end() == HostileFrames.End.STALL) {
            // A replayed stream may stay open for ever: a stalling server is waited for, not
            // failed, and closing the source must still end the call and free its buffers.
            await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5))
                .until(() -> context.failures().isEmpty());
          } else {
            await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(2))
                .until(() -> context.completions() > 0 || !context.failures().isEmpty());
          }
        } finally {
          try {
            source.close();
          } catch (IllegalStateException e) {
            long crest = crestBytes(e.getMessage());
            if (crest != 0) {
              leaks.incrementAndGet();
              problems.add(c.kind() + " close: " + e);
            } else {
              flightLeaks.incrementAndGet();
              leakKinds.merge(c.kind().toString(), 1, Integer::sum);
            }
          }
        }
        for (CollectingSourceContext.Emitted batch : context.emitted()) {
          for (List<Object> row : batch.rows) {
            Object id = row.get(0);
            if (!c.allowedIds().contains(id == null ? null : ((Number) id).longValue())) {
              badRows.incrementAndGet();
              badKinds.merge(c.kind().toString(), 1, Integer::sum);
            }
          }
        }
        String kind;
        if (!context.failures().isEmpty()) {
          Throwable failure = context.failures().get(0);
          kind = "stream failed";
          if (!(failure instanceof SourceException)
              || !((SourceException) failure).stream().orElse("").equals(c.name())
              || !failure.getMessage().contains(c.name())) {
            problems.add(c.kind() + ": failure does not name the stream: " + failure);
          }
        } else if (context.completions() > 0) {
          kind = "completed (valid Arrow after the damage)";
        } else {
          kind = "still open when closed (stalled server)";
        }
        outcomes.merge(kind, 1, Integer::sum);
        return null;
      }));
    }
    try {
      for (Future<?> f : read) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    waitAtMost().until(() -> goodContext.completions() == 1 || !goodContext.failures().isEmpty());
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

    REPORT.put("read.seed", Long.toString(SEED + 1));
    REPORT.put("read.casesTried", Integer.toString(cases.size()));
    REPORT.put("read.outcomes", new TreeMap<>(outcomes).toString());
    REPORT.put("read.crashes", Integer.toString(uncaught.get()));
    REPORT.put("read.leaksInCrestAllocators", Integer.toString(leaks.get()));
    REPORT.put("read.casesWhereFlightClientLeaked(upstream arrow-java)",
        flightLeaks.get() + (leakKinds.isEmpty() ? "" : " " + leakKinds));
    REPORT.put("read.rowsEmittedFromBadInput",
        badRows.get() + (badKinds.isEmpty() ? "" : " " + badKinds));
    REPORT.put("read.goodRows", "2000 served, " + goodContext.rows("good").size() + " emitted");
    REPORT.put("read.seconds", Long.toString(seconds));
    System.out.println("Fuzz FlightSource: " + REPORT);
    problems.stream().limit(3).forEach(p -> System.out.println("Fuzz problem: " + p));

    assertThat(uncaught.get()).isZero();
    assertThat(problems).isEmpty();
    assertThat(badRows.get()).isZero();
    assertThat(goodContext.failures()).isEmpty();
    assertThat(goodContext.rows("good")).isEqualTo(expectedRows(0, 2_000).stream()
        .map(r -> List.<Object>of(r.get(0), "name-" + r.get(0))).toList());
  }

  /**
   * A root allocator for Flight's own buffers in the fuzz tests: arrow-java's Flight keeps the
   * buffers of some malformed messages it rejects (ArrowMessage's parser, FlightStream), so this
   * allocator may not close clean; what Crest's allocators hold is checked instead.
   */
  private BufferAllocator flightAllocator() {
    BufferAllocator fuzz = new RootAllocator();
    resources.add(() -> {
      try {
        fuzz.close();
      } catch (IllegalStateException e) {
        REPORT.put("fuzzRootAllocatorAtClose", e.getMessage().lines().findFirst().orElse(""));
      }
    });
    return fuzz;
  }

  private static final Pattern ACTUAL =
      Pattern.compile("Allocator\\(([a-z-]+)\\) \\d+/(\\d+)/");

  /**
   * The bytes a leak report of a FlightSource's allocator puts on Crest rather than on its Flight
   * client's child allocator ({@code flight-client}).
   */
  static long crestBytes(String leakReport) {
    long crest = 0;
    long flight = 0;
    Matcher m = ACTUAL.matcher(leakReport);
    while (m.find()) {
      if (m.group(1).equals("crest-flight-source")) {
        crest = Math.max(crest, Long.parseLong(m.group(2)));
      } else if (m.group(1).equals("flight-client")) {
        flight = Math.max(flight, Long.parseLong(m.group(2)));
      }
    }
    return crest == 0 ? 0 : crest - flight; // a report of flight-client's own close: Flight's
  }

  /** Closes a channel as a resource. */
  private static final class AutoCloseableChannel implements AutoCloseable {
    final ManagedChannel channel;

    AutoCloseableChannel(ManagedChannel channel) {
      this.channel = channel;
    }

    @Override
    public void close() throws InterruptedException {
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    }
  }
}
