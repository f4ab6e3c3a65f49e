package io.crest.bench;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The ceiling and the whole, in one run: raw Arrow Flight {@code DoGet} and {@code DoPut} of the
 * narrow schema on loopback (no Crest involved), and the end-to-end pipeline, from a {@code DoGet}
 * of the same stream through {@link FlightSource}, the pipeline engine and {@link IcebergSink}
 * (default writer, codec as the parameter says) to rows committed in an Iceberg table (SQLite JDBC
 * catalog, warehouse on tmpfs). Each operation moves {@value #ROWS} rows; the score is rows per
 * second. {@code pipeline} runs a whole pipeline per operation (start, catalog and table load,
 * read, one commit, stop), so it also pays what a running pipeline pays once. {@code steady} is
 * the running pipeline alone: one pipeline, started once per trial, reads an endless {@code DoGet}
 * and commits every {@link #COMMIT_INTERVAL}; an operation waits until {@value #ROWS} more rows
 * are <em>committed</em>, so its score is committed rows per second; a sweeper thread deletes the
 * table's data files once their commits are a few seconds old (tmpfs is memory: see {@link
 * #sweep()}). The issue 6 target is end to end {@code >= 0.5} of {@code doGet} on 2 cores.
 *
 * <p>The endless stream is produced on a thread of its own (not the gRPC handler thread, whose
 * call executor must stay free to deliver cancellation) that sends only while the call is ready
 * (Flight back-pressure), and stops when the call is cancelled or the trial ends. Every wait has a
 * deadline: a stuck pipeline or producer fails the benchmark instead of hanging it.
 *
 * <p>Run: {@code mvn -B -pl crest-bench -am package -Pbench -DskipTests} then {@code java
 * --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar
 * FlightBenchmark -f 1 -wi 3 -i 5 -w 2s -r 5s} (add {@code -p codec=snappy} for one codec, {@code
 * -prof stack} or {@code -prof gc} to see where the time goes).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(FlightBenchmark.ROWS)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx4g"})
public class FlightBenchmark {
  /** Times the pre-built batches are sent per stream. */
  static final int REPEAT = 8;
  /** Rows per operation. */
  static final int ROWS = BenchBatches.ROWS * REPEAT;
  /** How often the steady pipeline commits. */
  static final Duration COMMIT_INTERVAL = Duration.ofSeconds(1);
  /** Longest an operation or a shutdown step may take before the benchmark fails. */
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private static final String ENDLESS = "endless";

  private BufferAllocator allocator;
  private BenchBatches batches;
  private FlightServer server;
  private FlightClient client;
  private Path warehouse;
  private int run;
  private final List<Thread> producers = new ArrayList<>();
  private volatile boolean producing = true;
  private Path steadyWarehouse;
  private Pipeline steady;
  private long steadyTarget;
  private Thread sweeper;
  private long sweptBytes;

  /** The table's Parquet codec for {@link #pipeline} (zstd is Iceberg's default). */
  @Param({"zstd", "snappy", "uncompressed"})
  public String codec;

  /** {@code IcebergSink.encoderThreads} for {@link #pipeline} and {@link #steady}. */
  @Param({"1", "2"})
  public int encoderThreads;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) throws IOException {
    allocator = new RootAllocator();
    batches = BenchBatches.build("narrow", allocator);
    server = FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0),
        new Producer()).build().start();
    client = FlightClient.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", server.getPort())).build();
    Path shm = Path.of("/dev/shm");
    warehouse = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(
        System.getProperty("java.io.tmpdir")), "crest-flight-bench");
    if (params.getBenchmark().endsWith(".steady")) {
      startSteady(shm);
    }
  }

  /** Starts the one pipeline of {@link #steady}, in a warehouse no iteration teardown touches. */
  private void startSteady(Path shm) throws IOException {
    steadyWarehouse = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(
        System.getProperty("java.io.tmpdir")), "crest-flight-steady");
    FlightSource source = FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:" + server.getPort(), ENDLESS).build();
    IcebergSink sink = IcebergSink.builder().localWarehouse(steadyWarehouse).table("bench.steady")
        .tableProperty("write.parquet.compression-codec", codec)
        .encoderThreads(encoderThreads).build();
    steady = Pipeline.from(source)
        .id("bench-steady")
        .batch(BatchPolicy.every(COMMIT_INTERVAL).orBytes(DataSize.gib(4)))
        .to(sink);
    steady.start();
    sweeper = new Thread(this::sweep, "bench-sweeper");
    sweeper.setDaemon(true);
    sweeper.start();
  }

  /**
   * Deletes the steady table's data files a few commits after they were written. The pipeline
   * writes about a gigabyte a second to tmpfs, which is memory: kept, it would fill the machine's
   * RAM within half a minute, and the kernel's struggle for pages (system time rising from 15 to
   * 40 % of the cores, idle time from reclaim) would be measured as the pipeline's. The table is
   * never read, so its files can go once closed: a file is closed when its commit's flush ends
   * (every {@link #COMMIT_INTERVAL}), and only files older than three intervals are deleted.
   * Unlinking costs the sweeper some CPU, counted in the run like everything else.
   */
  private void sweep() {
    Path data = steadyWarehouse.resolve("bench").resolve("steady").resolve("data");
    long age = 3 * COMMIT_INTERVAL.toMillis();
    while (producing) {
      if (Files.isDirectory(data)) {
        long cutoff = System.currentTimeMillis() - age;
        try (Stream<Path> files = Files.list(data)) {
          for (Path f : (Iterable<Path>) files::iterator) {
            try {
              // files only (a partitioned table would have directories); the modified time of a
              // file whose last row group is still in memory is old too, but the table is never
              // read and an unlinked open file is written on until closed
              if (Files.isRegularFile(f) && Files.getLastModifiedTime(f).toMillis() < cutoff) {
                long size = Files.size(f);
                Files.delete(f);
                sweptBytes += size;
              }
            } catch (IOException e) {
              System.err.println("[sweeper] " + e);
            }
          }
        } catch (IOException e) {
          System.err.println("[sweeper] " + e);
        }
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(250));
    }
  }

  @TearDown(Level.Iteration)
  public void dropTable() throws IOException {
    deleteRecursively(warehouse);
    Files.createDirectories(warehouse);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    try {
      try {
        stopSteady();
      } finally {
        producing = false;
      }
      List<Thread> started;
      synchronized (producers) {
        started = List.copyOf(producers);
      }
      for (Thread t : started) {
        t.join(DEADLINE.toMillis());
        if (t.isAlive()) {
          throw new IllegalStateException("The endless stream producer " + t.getName()
              + " did not stop within " + DEADLINE);
        }
      }
      client.close();
      server.shutdown();
      server.awaitTermination(10, TimeUnit.SECONDS);
      server.close();
      batches.close();
      allocator.close();
    } finally {
      // the warehouses may live on tmpfs: never leave them in memory, whatever failed above
      deleteRecursively(warehouse);
      if (steadyWarehouse != null) {
        deleteRecursively(steadyWarehouse);
      }
    }
  }


  private void stopSteady() {
    if (steady == null) {
      return;
    }
    PipelineStats s = steady.stats();
    System.out.printf("%n[steady] codec=%s rowsIn=%d rowsCommitted=%d commits=%d files=%d"
            + " lastCommit=%d ms buffered=%d B%n", codec, s.rowsIn(), s.rowsCommitted(),
        s.commits(), s.filesCommitted(), s.lastCommitLatency().toMillis(), s.bufferedBytes());
    printThreadCpu();
    // stop() cancels the endless call, writes and commits what it received
    steady.close();
    producing = false;
    try {
      sweeper.join(DEADLINE.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    System.out.printf("[steady] swept %d MB of committed data files%n", sweptBytes >> 20);
  }

  /**
   * Prints the CPU time of the JVM's threads since they started, grouped by name with digits
   * dropped (gRPC and Netty pools), busiest first: which stage of the pipeline uses the cores.
   */
  private static void printThreadCpu() {
    java.lang.management.OperatingSystemMXBean os =
        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean) {
      // all of the JVM's threads, ended ones (a commit's encoder threads), GC and JIT included
      System.out.printf("[steady] process CPU seconds since start: %.2f%n",
          ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() / 1e9);
    }
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    java.util.Map<String, Long> byName = new java.util.TreeMap<>();
    for (long id : mx.getAllThreadIds()) {
      java.lang.management.ThreadInfo info = mx.getThreadInfo(id);
      long cpu = mx.getThreadCpuTime(id);
      if (info != null && cpu > 0) {
        byName.merge(info.getThreadName().replaceAll("[0-9]+", "#"), cpu, Long::sum);
      }
    }
    System.out.println("[steady] thread CPU seconds since start:");
    byName.entrySet().stream()
        .sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(12)
        .forEach(e -> System.out.printf("[steady]   %8.2f  %s%n", e.getValue() / 1e9, e.getKey()));
  }

  /**
   * The running pipeline: waits until {@value #ROWS} more rows than the previous operation waited
   * for are committed. Rows arrive in commits of about {@link #COMMIT_INTERVAL} each, so some
   * operations return at once; over an iteration the operations count the committed rows.
   */
  @Benchmark
  public long steady() throws InterruptedException {
    steadyTarget += ROWS;
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (true) {
      PipelineStats s = steady.stats();
      if (s.rowsCommitted() >= steadyTarget) {
        return s.rowsCommitted();
      }
      if (steady.state() != Pipeline.State.RUNNING) {
        throw new IllegalStateException("The steady pipeline is " + steady.state() + " after "
            + s.rowsCommitted() + " committed rows", steady.failure().orElse(null));
      }
      if (System.nanoTime() - deadline > 0) {
        throw new IllegalStateException("The steady pipeline committed " + s.rowsCommitted()
            + " rows, not " + steadyTarget + ", within " + DEADLINE + " (" + s + ")");
      }
      // A commit lands about once per interval: polling every millisecond costs nothing.
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  /** Raw Flight: read the whole stream, touching every batch. */
  @Benchmark
  public long doGet() throws Exception {
    long rows = 0;
    try (FlightStream stream = client.getStream(new Ticket("narrow".getBytes(StandardCharsets.UTF_8)))) {
      while (stream.next()) {
        rows += stream.getRoot().getRowCount();
      }
    }
    return rows;
  }

  /** Raw Flight: send the whole stream to a server that reads and drops it. */
  @Benchmark
  public long doPut() {
    try (VectorSchemaRoot root = VectorSchemaRoot.create(batches.schema, allocator)) {
      AsyncPutListener listener = new AsyncPutListener();
      FlightClient.ClientStreamListener put =
          client.startPut(FlightDescriptor.path("sink"), root, listener);
      VectorLoader loader = new VectorLoader(root);
      for (int r = 0; r < REPEAT; r++) {
        for (VectorSchemaRoot batch : batches.batches) {
          try (ArrowRecordBatch arb = new VectorUnloader(batch).getRecordBatch()) {
            loader.load(arb);
          }
          put.putNext();
        }
      }
      put.completed();
      listener.getResult();
    }
    return ROWS;
  }

  /** The whole pipeline: Flight DoGet to rows committed in an Iceberg table. */
  @Benchmark
  public long pipeline() throws Exception {
    FlightSource source = FlightSource.builder(allocator)
        .endpoint("grpc://127.0.0.1:" + server.getPort(), "narrow").build();
    IcebergSink sink = IcebergSink.builder().localWarehouse(warehouse).table("bench.narrow")
        .tableProperty("write.parquet.compression-codec", codec)
        .encoderThreads(encoderThreads).build();
    try (Pipeline p = Pipeline.from(source)
        .id("bench-" + run++) // a new id each time: every run reads the whole stream again
        .batch(BatchPolicy.rows(ROWS).orBytes(DataSize.gib(4)))
        .to(sink)) {
      p.start();
      if (!p.awaitIdle(Duration.ofMinutes(5))) {
        throw new IllegalStateException("The pipeline did not finish in 5 minutes");
      }
      if (p.stats().rowsCommitted() != ROWS) {
        throw new IllegalStateException("Committed " + p.stats().rowsCommitted() + " rows, not " + ROWS);
      }
      return p.stats().rowsCommitted();
    }
  }

  private final class Producer extends NoOpFlightProducer {
    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      if (new String(ticket.getBytes(), StandardCharsets.UTF_8).equals(ENDLESS)) {
        startEndless(listener);
        return;
      }
      try (VectorSchemaRoot root = VectorSchemaRoot.create(batches.schema, allocator)) {
        VectorLoader loader = new VectorLoader(root);
        listener.start(root);
        for (int r = 0; r < REPEAT && !listener.isCancelled(); r++) {
          for (VectorSchemaRoot batch : batches.batches) {
            try (ArrowRecordBatch arb = new VectorUnloader(batch).getRecordBatch()) {
              loader.load(arb);
            }
            listener.putNext();
          }
        }
        listener.completed();
      }
    }

    /**
     * Hands the endless stream to a thread of its own: Flight lets {@code getStream} return
     * before the stream ends, and the call's callbacks (ready, cancel) then run freely.
     */
    private void startEndless(ServerStreamListener listener) {
      Object ready = new Object();
      // Registered now: gRPC accepts the handler only during the initial call.
      listener.setOnReadyHandler(() -> {
        synchronized (ready) {
          ready.notifyAll();
        }
      });
      Thread t = new Thread(() -> sendEndless(listener, ready), "bench-endless");
      t.setDaemon(true);
      synchronized (producers) {
        producers.add(t);
      }
      t.start();
    }

    private void sendEndless(ServerStreamListener listener, Object ready) {
      try (VectorSchemaRoot root = VectorSchemaRoot.create(batches.schema, allocator)) {
        VectorLoader loader = new VectorLoader(root);
        listener.start(root);
        while (true) {
          for (VectorSchemaRoot batch : batches.batches) {
            if (!awaitReady(listener, ready)) {
              return;
            }
            try (ArrowRecordBatch arb = new VectorUnloader(batch).getRecordBatch()) {
              loader.load(arb);
            }
            listener.putNext();
          }
        }
      } catch (RuntimeException e) {
        if (producing && !listener.isCancelled()) {
          System.err.println("[endless] producer failed: " + e);
          listener.error(e);
        }
      }
    }

    /**
     * Waits until the call can take a batch without buffering it (gRPC's {@code isReady}).
     * Returns {@code false} when the call is cancelled or the trial ends; after {@link #DEADLINE}
     * without room, ends the call with an error (a consumer that is stuck must not hang the run).
     */
    private boolean awaitReady(ServerStreamListener listener, Object ready) {
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      synchronized (ready) {
        while (producing && !listener.isCancelled() && !listener.isReady()) {
          if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("The endless stream's consumer took no batch for "
                + DEADLINE);
          }
          try {
            // Timed: isCancelled() and the end of the trial are polled, not signalled.
            ready.wait(10);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
          }
        }
      }
      if (!producing || listener.isCancelled()) {
        if (!listener.isCancelled()) {
          listener.completed();
        }
        return false;
      }
      return true;
    }

    @Override
    public Runnable acceptPut(CallContext context, FlightStream stream,
        StreamListener<PutResult> ackStream) {
      return () -> {
        while (stream.next()) {
          stream.getRoot().getRowCount();
        }
        ackStream.onCompleted();
      };
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
