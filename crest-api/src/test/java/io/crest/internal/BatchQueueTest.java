package io.crest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.spi.SourceBatch;
import io.crest.testing.TestBatches;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchQueueTest {
  private BufferAllocator allocator;

  @BeforeEach
  void open() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void close() {
    allocator.close();
  }

  @Test
  void offer_blocksAtTheBudget_untilTheWriterReleases() throws Exception {
    SourceBatch first = TestBatches.batch(allocator, "s", 0, 0, 100);
    BatchQueue q = new BatchQueue(first.sizeInBytes() + 10);
    assertThat(q.offer(first)).isTrue();
    SourceBatch second = TestBatches.batch(allocator, "s", 100, 100, 100);
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, second));
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5)).until(() -> !blocked.isDone());
    SourceBatch taken = (SourceBatch) q.poll(0);
    taken.close();
    q.release(taken.sizeInBytes());
    assertThat(blocked.get()).isTrue();
    q.discardRemaining();
    assertThat(q.countedBytes()).isZero();
  }

  @Test
  void oversizedBatch_isAcceptedWhenNothingElseIsCounted() throws Exception {
    BatchQueue q = new BatchQueue(16);
    SourceBatch big = TestBatches.batch(allocator, "s", 0, 0, 1000);
    assertThat(q.offer(big)).isTrue();
    q.discardRemaining();
  }

  @Test
  void closedQueue_rejectsAndReleasesTheBatch_andWakesBlockedProducers() throws Exception {
    SourceBatch first = TestBatches.batch(allocator, "s", 0, 0, 100);
    BatchQueue q = new BatchQueue(first.sizeInBytes());
    q.offer(first);
    SourceBatch second = TestBatches.batch(allocator, "s", 100, 100, 100);
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, second));
    q.closeToProducers();
    assertThat(blocked.get()).isFalse();
    assertThat(q.offer(TestBatches.batch(allocator, "s", 200, 200, 1))).isFalse();
    q.putControl("control still passes");
    assertThat(q.poll(0)).isSameAs(first);
    assertThat(q.poll(0)).isEqualTo("control still passes");
    first.close();
    q.release(first.sizeInBytes());
  }

  private static boolean offer(BatchQueue q, SourceBatch b) {
    try {
      return q.offer(b);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
