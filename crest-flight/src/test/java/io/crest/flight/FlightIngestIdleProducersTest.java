package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.testing.MemorySink;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A thousand producers that open a put, send their schema and then nothing: the server holds
 * them within {@code maxConcurrentPuts}, refuses one more naming the limit, and the idle timeout
 * ends them all and releases what they held. Prints the memory high-water mark (allocator and
 * heap) with the thousand puts open.
 */
@Timeout(120)
class FlightIngestIdleProducersTest extends FlightTestSupport {
  private static final String TABLE = "shop.orders";
  private static final int PRODUCERS = 1_000;

  @Test
  void thousandIdleProducers_areBoundedAndReclaimedByTheIdleTimeout() throws Exception {
    FlightIngestServer server = register(FlightIngestServer.builder(allocator,
            "grpc://127.0.0.1:0")
        .table(TABLE)
        .maxConcurrentPuts(PRODUCERS)
        .idleTimeout(Duration.ofSeconds(10))
        .build());
    MemorySink sink = new MemorySink();
    Pipeline pipeline = Pipeline.from(server.source(TABLE)).id("idle")
        .batch(BatchPolicy.rows(1)).to(sink);
    register(pipeline::stop);
    pipeline.start();
    HostileFrames frames = new HostileFrames(allocator, 1, TABLE);
    ManagedChannel channel = RawFlight.channel(server.port());
    resources.push(() -> {
      channel.shutdownNow();
      channel.awaitTermination(10, TimeUnit.SECONDS);
    });
    long heapBefore = usedHeapAfterGc();

    List<CompletableFuture<Status>> puts = new ArrayList<>();
    for (int i = 0; i < PRODUCERS; i++) {
      puts.add(openIdle(channel, frames.valid("idle-" + i, 0, 0, 1)));
    }
    await().atMost(Duration.ofSeconds(60)).untilAsserted(
        () -> assertThat(server.runningPuts()).isEqualTo(PRODUCERS));
    long heapWithIdle = usedHeapAfterGc();
    long allocatorPeak = server.allocator().getPeakMemoryAllocation();
    int threads = ManagementFactory.getThreadMXBean().getThreadCount();
    Status refused = openIdle(channel, frames.valid("one-more", 0, 0, 1)).get(30, TimeUnit.SECONDS);

    List<Status> ends = new ArrayList<>();
    for (CompletableFuture<Status> put : puts) {
      ends.add(put.get(30, TimeUnit.SECONDS));
    }
    waitAtMost().until(() -> server.runningPuts() == 0);
    String report = String.format("Idle producers: %d open puts; allocator high-water %d bytes;"
        + " heap %d MiB before, %d MiB with them open (%d KiB per idle put); %d JVM threads%n",
        PRODUCERS, allocatorPeak, heapBefore >> 20, heapWithIdle >> 20,
        (heapWithIdle - heapBefore) / PRODUCERS >> 10, threads);
    System.out.print(report);
    Files.writeString(Path.of("target", "idle-producers-report.txt"), report);

    assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getDescription()).isEqualTo("Cannot accept the put: 1000 puts are"
        + " running, the server's maxConcurrentPuts (retry later, or raise maxConcurrentPuts)");
    assertThat(ends).allSatisfy(status -> {
      assertThat(status.getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED); // Flight's TIMED_OUT
      assertThat(status.getDescription()).startsWith("Cannot finish the put of producer idle-")
          .contains("longer than the server's idleTimeout PT10S");
    });
    assertThat(server.allocator().getAllocatedMemory()).isZero();
    assertThat(sink.committedIds()).isEmpty();
  }

  /** Opens a put that sends {@code frames} and then nothing; completes with its status. */
  private static CompletableFuture<Status> openIdle(ManagedChannel channel, List<byte[]> frames) {
    ClientCall<byte[], byte[]> call = channel.newCall(RawFlight.DO_PUT,
        io.grpc.CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
    CompletableFuture<Status> closed = new CompletableFuture<>();
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(status);
      }
    }, new Metadata());
    call.request(Integer.MAX_VALUE);
    frames.forEach(call::sendMessage);
    return closed;
  }

  private static long usedHeapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }
}
