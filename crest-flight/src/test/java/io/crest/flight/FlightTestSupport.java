package io.crest.flight;

import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * A root allocator per test and a stack of resources closed after the test, newest first, then
 * the allocator: a buffer left open anywhere fails the test.
 */
abstract class FlightTestSupport {
  /** Small reconnect delays so that tests of reconnecting take milliseconds. */
  static final Duration FAST = Duration.ofMillis(2);

  BufferAllocator allocator;
  final Deque<AutoCloseable> resources = new ArrayDeque<>();

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeEverything() throws Exception {
    try {
      while (!resources.isEmpty()) {
        resources.pop().close();
      }
    } finally {
      // gRPC's threads give back the buffers of calls cancelled by the close (a put or stream
      // still open when the server went) a moment later: wait for them, within a bound, so that
      // what close() then finds is a real leak.
      try {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
            .pollInterval(java.time.Duration.ofMillis(10))
            .until(() -> allocator.getAllocatedMemory() == 0);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        // a real leak: close() below names it
      }
      allocator.close();
    }
  }

  TestFlightServer server() throws Exception {
    return register(TestFlightServer.start(allocator));
  }

  <T extends AutoCloseable> T register(T resource) {
    resources.push(resource);
    return resource;
  }

  /** Builds the source and registers it to be closed before the servers and the allocator. */
  FlightSource source(FlightSource.Builder builder) {
    return register(builder.build());
  }

  static ConditionFactory waitAtMost() {
    return await().atMost(Duration.ofSeconds(30));
  }

  static List<List<Object>> expectedRows(long from, long to) {
    return LongStream.range(from, to)
        .mapToObj(i -> List.<Object>of(i, "row-" + i))
        .collect(Collectors.toList());
  }
}
