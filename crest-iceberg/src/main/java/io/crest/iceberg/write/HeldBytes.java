package io.crest.iceberg.write;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * The Arrow bytes of written batches that a table writer's encoder threads still hold: the Parquet
 * writers add a batch's bytes when they take references to its buffers and subtract them when
 * they let go, and the listener (the pipeline's hand-off, waiting for room) is run after each
 * decrease. Thread-safe.
 */
final class HeldBytes implements LongConsumer {
  private final AtomicLong bytes = new AtomicLong();
  private volatile Runnable onRelease = () -> { };

  /** Adds {@code delta} bytes (negative: released). Called by the writer and encoder threads. */
  @Override
  public void accept(long delta) {
    bytes.addAndGet(delta);
    if (delta < 0) {
      onRelease.run();
    }
  }

  /** The bytes held now, never negative. */
  long get() {
    return Math.max(0, bytes.get());
  }

  /** Runs {@code listener} after each decrease from now on; it must be quick and not throw. */
  void onRelease(Runnable listener) {
    this.onRelease = java.util.Objects.requireNonNull(listener, "listener");
  }
}
