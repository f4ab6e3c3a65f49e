package io.crest.bench;

import io.crest.BatchPolicy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
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

/**
 * The ceiling and the whole, in one run: raw Arrow Flight {@code DoGet} and {@code DoPut} of the
 * narrow schema on loopback (no Crest involved), and the end-to-end pipeline, from a {@code DoGet}
 * of the same stream through {@link FlightSource}, the pipeline engine and {@link IcebergSink}
 * (default writer, codec as the parameter says) to rows committed in an Iceberg table (SQLite JDBC
 * catalog, warehouse on tmpfs). Each operation moves {@value #ROWS} rows; the score is rows per
 * second. {@code pipeline} runs a whole pipeline per operation (start, catalog and table load,
 * read, one commit, stop), so it also pays what a running pipeline pays once. The issue 6 target
 * is end to end {@code >= 0.5} of {@code doGet} on 2 cores.
 *
 * <p>Run: {@code mvn -B -pl crest-bench -am package -Pbench -DskipTests} then {@code java
 * --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar
 * FlightBenchmark -f 1 -wi 3 -i 5 -w 2s -r 5s}.
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

  private BufferAllocator allocator;
  private BenchBatches batches;
  private FlightServer server;
  private FlightClient client;
  private Path warehouse;
  private int run;

  /** The table's Parquet codec for {@link #pipeline} (zstd is Iceberg's default). */
  @Param({"zstd", "snappy", "uncompressed"})
  public String codec;

  @Setup(Level.Trial)
  public void setUp() throws IOException {
    allocator = new RootAllocator();
    batches = BenchBatches.build("narrow", allocator);
    server = FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", 0),
        new Producer()).build().start();
    client = FlightClient.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", server.getPort())).build();
    Path shm = Path.of("/dev/shm");
    warehouse = Files.createTempDirectory(Files.isDirectory(shm) ? shm : Path.of(
        System.getProperty("java.io.tmpdir")), "crest-flight-bench");
  }

  @TearDown(Level.Iteration)
  public void dropTable() throws IOException {
    deleteRecursively(warehouse);
    Files.createDirectories(warehouse);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    client.close();
    server.shutdown();
    server.awaitTermination(10, TimeUnit.SECONDS);
    server.close();
    batches.close();
    allocator.close();
    deleteRecursively(warehouse);
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
        .tableProperty("write.parquet.compression-codec", codec).build();
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
