package io.crest.samples.flight;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightIngestServer;
import io.crest.iceberg.IcebergSink;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Push ingest end to end: a {@link FlightIngestServer} embedded here, a pipeline from its {@code
 * shop.orders} table into a local Iceberg warehouse, and a producer that puts numbered batches
 * with a plain {@link FlightClient} and prints each acknowledgement, which arrives only after the
 * commit that made the batch durable. The protocol is in {@code docs/flight-tickets.md}.
 *
 * <p>Run: {@code java -cp <samples classpath> io.crest.samples.flight.PushIngestExample [dir]}
 * (with {@code --add-opens=java.base/java.nio=ALL-UNNAMED}).
 */
public final class PushIngestExample {
  private PushIngestExample() {}

  /** Ingests 10 batches of 1,000 orders from producer {@code example-producer}. */
  public static void main(String[] args) throws Exception {
    Path warehouse = Path.of(args.length > 0 ? args[0] : "target/push-warehouse");
    try (BufferAllocator root = new RootAllocator();
        FlightIngestServer server = FlightIngestServer.builder(root, "grpc://127.0.0.1:0")
            .table("shop.orders")
            .build()) {
      try (Pipeline pipeline = Pipeline.from(server.source("shop.orders"))
          .id("push-orders")
          .batch(BatchPolicy.rows(5_000).orEvery(Duration.ofSeconds(1)))
          .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build())) {
        pipeline.start();
        List<String> acks = produce(root, server.port(), "example-producer", 10, 1_000);
        System.out.println("Acknowledged batches: " + acks);
      }
    }
  }

  /**
   * Puts {@code batches} batches numbered 1.. as producer {@code producer} and returns the
   * acknowledged sequence numbers. A real producer keeps the unacknowledged batches, with their
   * numbers, until acknowledged, and re-sends them after a failure.
   */
  static List<String> produce(
      BufferAllocator allocator, int port, String producer, int batches, int rows)
      throws InterruptedException {
    List<String> acks = new CopyOnWriteArrayList<>();
    try (FlightClient client =
            FlightClient.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port)).build();
        VectorSchemaRoot orders =
            VectorSchemaRoot.create(IncrementalOrdersServer.SCHEMA, allocator)) {
      AsyncPutListener listener = new AsyncPutListener() {
        @Override
        public void onNext(PutResult result) {
          ArrowBuf metadata = result.getApplicationMetadata();
          byte[] bytes = new byte[(int) metadata.readableBytes()];
          metadata.getBytes(metadata.readerIndex(), bytes);
          String sequence = new String(bytes, StandardCharsets.UTF_8);
          System.out.println("Batch " + sequence + " is committed");
          acks.add(sequence);
        }
      };
      FlightClient.ClientStreamListener put = client.startPut(
          FlightDescriptor.path("shop.orders", producer), orders, listener);
      for (int sequence = 1; sequence <= batches; sequence++) {
        IncrementalOrdersServer.fill(orders, (long) (sequence - 1) * rows, rows);
        putNumbered(allocator, put, sequence);
      }
      put.completed();
      listener.getResult(); // returns once every batch is acknowledged
    }
    return acks;
  }

  /**
   * Puts the batch now in the put's root, numbered {@code sequence} (its application metadata,
   * which the acknowledgement carries back).
   */
  static void putNumbered(BufferAllocator allocator, FlightClient.ClientStreamListener put,
      int sequence) {
    byte[] text = Integer.toString(sequence).getBytes(StandardCharsets.UTF_8);
    ArrowBuf metadata = allocator.buffer(text.length);
    metadata.writeBytes(text);
    put.putNext(metadata); // Flight owns the metadata buffer from here
  }
}
