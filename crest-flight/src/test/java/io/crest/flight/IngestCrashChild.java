package io.crest.flight;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The application that {@link FlightIngestCrashTest} kills: a {@link FlightIngestServer} for
 * table {@code shop.orders} feeding a pipeline into a {@link DirectorySink}. Prints {@link #READY}
 * and the port once the pipeline runs, then serves until the process is killed.
 *
 * <p>Arguments: the sink's directory.
 */
public final class IngestCrashChild {
  static final String READY = "READY port=";

  private IngestCrashChild() {}

  public static void main(String[] args) throws Exception {
    BufferAllocator allocator = new RootAllocator();
    FlightIngestServer server = FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0")
        .table("shop.orders").build();
    Pipeline pipeline = Pipeline.from(server.source("shop.orders")).id("ingest-orders")
        .batch(BatchPolicy.rows(1_000).orEvery(Duration.ofMillis(50)))
        .to(new DirectorySink(Path.of(args[0])));
    pipeline.start();
    System.out.println(READY + server.port());
    System.out.flush();
    new CountDownLatch(1).await(); // until SIGKILL
  }
}
