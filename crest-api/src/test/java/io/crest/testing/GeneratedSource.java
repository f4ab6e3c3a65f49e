package io.crest.testing;

import io.crest.errors.SourceException;
import io.crest.spi.Source;
import io.crest.spi.SourceContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A source of synthetic streams for tests: stream {@code s} holds rows whose ids are {@code
 * base(s) + offset}, emitted in batches of a fixed size from one thread per stream, resuming at
 * the offset the pipeline asks for. Optionally it stays open after the last row (a continuous
 * source) or fails after a number of rows.
 */
public final class GeneratedSource implements Source {
  private final BufferAllocator allocator;
  private final Map<String, Long> streamRows = new LinkedHashMap<>();
  private final Map<String, Long> streamBase = new LinkedHashMap<>();
  private final int batchRows;
  private boolean continuous;
  private long failAfterRows = -1;
  private final List<Thread> threads = new ArrayList<>();
  private final CountDownLatch stop = new CountDownLatch(1);
  private final AtomicLong emitted = new AtomicLong();
  private volatile boolean started;
  private CountDownLatch hold = new CountDownLatch(0);
  private String instanceId;
  private volatile java.util.Map<String, io.crest.spi.SourcePosition> lastCommitted =
      java.util.Map.of();
  private final List<io.crest.DeadLetterEvent> deadLetters =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile Throwable pipelineFailure;

  /** A source whose readers allocate from a child of {@code parent}. */
  public GeneratedSource(BufferAllocator parent, int batchRows) {
    this.allocator = parent.newChildAllocator("generated-source", 0, Long.MAX_VALUE);
    this.batchRows = batchRows;
  }

  /** Adds stream {@code id} with {@code rows} rows, ids starting at {@code firstId}. */
  public GeneratedSource stream(String id, long firstId, long rows) {
    streamRows.put(id, rows);
    streamBase.put(id, firstId);
    return this;
  }

  /** Keeps the streams open after their last row, as a live view would. */
  public GeneratedSource continuous() {
    this.continuous = true;
    return this;
  }

  /** Makes the readers wait for {@code latch} before they emit anything. */
  public GeneratedSource holdUntil(CountDownLatch latch) {
    this.hold = latch;
    return this;
  }

  /** Reports {@code id} as the source's instance id. */
  public GeneratedSource instance(String id) {
    this.instanceId = id;
    return this;
  }

  @Override
  public java.util.Optional<String> instanceId() {
    return java.util.Optional.ofNullable(instanceId);
  }

  /** Makes every stream fail once it has emitted {@code rows} rows. */
  public GeneratedSource failAfter(long rows) {
    this.failAfterRows = rows;
    return this;
  }

  /** The positions of the last commit the pipeline reported, empty before the first. */
  public java.util.Map<String, io.crest.spi.SourcePosition> lastCommitted() {
    return lastCommitted;
  }

  @Override
  public void committed(java.util.Map<String, io.crest.spi.SourcePosition> positions) {
    lastCommitted = positions;
  }

  /** The dead letters the pipeline reported, in order. */
  public List<io.crest.DeadLetterEvent> deadLetters() {
    return List.copyOf(deadLetters);
  }

  @Override
  public void deadLettered(io.crest.DeadLetterEvent event) {
    deadLetters.add(event);
  }

  /** The failure the pipeline reported through {@link #pipelineFailed}, or null. */
  public Throwable pipelineFailure() {
    return pipelineFailure;
  }

  @Override
  public void pipelineFailed(Throwable failure) {
    if (pipelineFailure != null) {
      throw new IllegalStateException("pipelineFailed called twice: " + failure);
    }
    pipelineFailure = failure;
  }

  /** Batches accepted by the pipeline so far. */
  public long emittedBatches() {
    return emitted.get();
  }

  @Override
  public String name() {
    return "generated" + streamRows.keySet();
  }

  @Override
  public void start(SourceContext context) {
    if (started) {
      throw new IllegalStateException("Cannot start " + name() + " twice");
    }
    started = true;
    CountDownLatch remaining = new CountDownLatch(streamRows.size());
    for (String stream : streamRows.keySet()) {
      Thread t = new Thread(() -> read(context, stream, remaining), "test-reader-" + stream);
      threads.add(t);
      t.start();
    }
    if (!continuous) {
      Thread completer = new Thread(() -> {
        try {
          remaining.await();
          if (!context.isStopping()) {
            context.complete();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "test-completer");
      threads.add(completer);
      completer.start();
    }
  }

  private void read(SourceContext context, String stream, CountDownLatch remaining) {
    long rows = streamRows.get(stream);
    long base = streamBase.get(stream);
    var resume = context.resumePositions().get(stream);
    long offset = resume == null ? 0 : resume.asOffset();
    try {
      hold.await();
      while (offset < rows && stop.getCount() > 0) {
        if (failAfterRows >= 0 && offset >= failAfterRows) {
          context.fail(new SourceException(
              "Cannot read stream " + stream + ": injected failure at row " + offset,
              stream, "INTERNAL", null));
          return;
        }
        int n = (int) Math.min(batchRows, rows - offset);
        if (!context.emit(TestBatches.batch(allocator, stream, base + offset, offset, n))) {
          return;
        }
        emitted.incrementAndGet();
        offset += n;
      }
      remaining.countDown();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    stop.countDown();
    for (Thread t : threads) {
      t.interrupt();
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    allocator.close();
  }
}
