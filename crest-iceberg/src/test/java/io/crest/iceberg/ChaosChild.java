package io.crest.iceberg;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;

/**
 * The pipeline that {@link ChaosTest} runs in a child JVM and kills. Arguments: warehouse
 * directory, Flight server URI, stream names. Exits 0 after every stream ended and all of it is
 * committed; a kill can come at any instant before that.
 */
public final class ChaosChild {
  /** Printed once the pipeline runs, so kills can target the ingesting phase. */
  static final String STARTED = "CHAOS CHILD STARTED";

  /** Printed after each commit of this run. */
  static final String COMMITTED = "CHAOS CHILD COMMITTED";

  private ChaosChild() {}

  public static void main(String[] args) throws Exception {
    Path warehouse = Path.of(args[0]);
    String uri = args[1];
    try (BufferAllocator root = new RootAllocator()) {
      FlightSource.Builder source = FlightSource.builder(root);
      for (int i = 2; i < args.length; i++) {
        source.endpoint(uri, args[i]);
      }
      try (Pipeline p =
          Pipeline.from(source.build())
              .id("chaos")
              .batch(BatchPolicy.rows(1_500).orEvery(Duration.ofMillis(150)))
              .listener(new io.crest.PipelineListener() {
                @Override
                public void onCommit(io.crest.CommitEvent event) {
                  System.out.println(COMMITTED + " " + event.rows());
                  System.out.flush();
                }
              })
              .to(IcebergSink.builder().localWarehouse(warehouse).table("chaos.events").build())) {
        p.start();
        System.out.println(STARTED);
        System.out.flush();
        if (!p.awaitIdle(Duration.ofMinutes(5))) {
          System.exit(3);
        }
      }
    }
    System.out.println("CHAOS CHILD DONE");
  }
}
