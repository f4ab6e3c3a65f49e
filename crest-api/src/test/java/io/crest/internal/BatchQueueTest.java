package io.crest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.crest.spi.SourceBatch;
import io.crest.testing.TestBatches;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
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

  @Test
  void heldBytes_countAgainstTheBudget_andTheProducerWakesWhenTheyAreReleased() throws Exception {
    // ids of four digits: both batches have the same size
    SourceBatch first = TestBatches.batch(allocator, "s", 1000, 0, 100);
    long size = first.sizeInBytes();
    BatchQueue q = new BatchQueue(2 * size);
    AtomicLong held = new AtomicLong();
    q.countHeldBytes(held::get);
    assertThat(q.offer(first)).isTrue();
    // written and released by the writer, but still held by the sink (an encoder thread)
    SourceBatch taken = (SourceBatch) q.poll(0);
    held.addAndGet(size);
    taken.close();
    q.release(size);
    held.addAndGet(size); // a second held batch: queued 0 + held 2 batches = the whole budget
    assertThat(q.countedBytes()).isEqualTo(2 * size);
    SourceBatch second = TestBatches.batch(allocator, "s", 1100, 100, 100);
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, second));
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5))
        .until(() -> !blocked.isDone());
    held.addAndGet(-size);
    q.heldBytesReleased();
    assertThat(blocked.get(5, TimeUnit.SECONDS)).isTrue();
    assertThat(q.countedBytes()).isEqualTo(2 * size);
    held.set(0);
    q.discardRemaining();
    assertThat(q.countedBytes()).isZero();
  }

  @Test
  void heldBytes_aloneBlockAnOversizedBatch_untilTheyAreAllReleased() throws Exception {
    BatchQueue q = new BatchQueue(16);
    AtomicLong held = new AtomicLong(8);
    q.countHeldBytes(held::get);
    SourceBatch big = TestBatches.batch(allocator, "s", 0, 0, 1000);
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, big));
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5))
        .until(() -> !blocked.isDone());
    held.set(0);
    q.heldBytesReleased();
    assertThat(blocked.get(5, TimeUnit.SECONDS)).isTrue();
    q.discardRemaining();
  }

  @Test
  void heldBytes_closingToProducers_wakesAProducerThatWaitsForThem() throws Exception {
    SourceBatch batch = TestBatches.batch(allocator, "s", 0, 0, 100);
    BatchQueue q = new BatchQueue(batch.sizeInBytes());
    q.countHeldBytes(() -> 1); // never released
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, batch));
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5))
        .until(() -> !blocked.isDone());
    q.closeToProducers();
    assertThat(blocked.get(5, TimeUnit.SECONDS)).isFalse(); // rejected, and closed by offer
    assertThat(allocator.getAllocatedMemory()).isZero();
  }

  @Test
  void heldBytes_released_withoutTheListener_stillWakeTheProducer() throws Exception {
    SourceBatch batch = TestBatches.batch(allocator, "s", 0, 0, 100);
    BatchQueue q = new BatchQueue(batch.sizeInBytes());
    AtomicLong held = new AtomicLong(1);
    q.countHeldBytes(held::get);
    CompletableFuture<Boolean> blocked = CompletableFuture.supplyAsync(() -> offer(q, batch));
    await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(5))
        .until(() -> !blocked.isDone());
    held.set(0); // a sink writer that forgets to run its listener slows the source, no more
    assertThat(blocked.get(5, TimeUnit.SECONDS)).isTrue();
    q.discardRemaining();
  }

  private static boolean offer(BatchQueue q, SourceBatch b) {
    try {
      return q.offer(b);
    } catch (InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }
}
