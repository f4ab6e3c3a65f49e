package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import io.crest.spi.FileOutputFactory;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.LongConsumer;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * Encodes batches on several threads: each thread owns a {@link ParquetColumnarWriter} that rolls
 * its own files, and takes the next batch from one bounded queue, so {@link #finish()} returns
 * one or more files per thread that wrote anything. See {@link FileWriter} for the lifecycle.
 *
 * <p>{@link #write} checks the batch's schema at once, takes zero-copy references to its buffers
 * (the caller keeps owning and closes the batch) and queues it; a full queue blocks the caller.
 * The references are released once the batch is encoded, or by {@link #close()}; until then the
 * buffers stay accounted to the allocator of the batch's vectors, which must stay open until
 * {@link #finish()} or {@link #close()} returns. At most twice the thread count of batches are
 * held at once; an optional held-bytes listener is told of each batch's bytes when {@link #write}
 * takes its references ({@code +bytes}) and once they are released ({@code -bytes}), so the sum
 * of what it was told is 0 again after {@link #finish()} and after {@link #close()}, whatever
 * failed. A failure on a thread (a null in a required column, an I/O error) is thrown by
 * the next {@link #write}, {@link #roll}, {@link #finish} or {@link #close}, with the original
 * failure as its cause; later calls throw {@link IllegalStateException}.
 *
 * <p>Not thread-safe: one thread drives the writer; its own threads start on the first write and
 * end in {@link #close()}.
 */
public final class ParallelParquetWriter implements FileWriter {
  private static final Task STOP = new Task(null, null, null, 0, 0);

  private final String target;
  private final ParquetColumnarWriter checker;
  private final Worker[] workers;
  private final BlockingQueue<Task> queue;
  private final LongConsumer heldBytes;
  private final Object lock = new Object();
  // Guarded by lock.
  private int pending;
  private long pendingBytes;
  private Throwable failure;
  private String failedThread;
  private boolean reported;

  private boolean started;
  private boolean closed;

  /**
   * A writer of files with {@code schema} on {@code threads} threads; {@code outputs} is called
   * by one thread at a time.
   *
   * @throws IllegalArgumentException if a field of the schema cannot be written
   */
  public ParallelParquetWriter(
      Schema schema, FileOutputFactory outputs, Settings settings, int threads) {
    this(schema, outputs, settings, threads, null, null);
  }

  /**
   * As {@link #ParallelParquetWriter(Schema, FileOutputFactory, Settings, int)}, each thread's
   * writer taking its encoders from {@code cache} (when not null), and telling {@code heldBytes}
   * (when not null; thread-safe, quick, never throws) of the Arrow bytes of the batches it holds.
   */
  public ParallelParquetWriter(Schema schema, FileOutputFactory outputs, Settings settings,
      int threads, EncoderCache cache, LongConsumer heldBytes) {
    this.target = settings.target;
    this.heldBytes = heldBytes == null ? bytes -> { } : heldBytes;
    Object outputLock = new Object();
    FileOutputFactory serialized = () -> {
      synchronized (outputLock) {
        return outputs.newOutput();
      }
    };
    this.checker = ParquetColumnarWriter.checkerOf(schema, settings);
    this.queue = new ArrayBlockingQueue<>(threads);
    this.workers = new Worker[threads];
    for (int i = 0; i < threads; i++) {
      workers[i] = new Worker(i, new ParquetColumnarWriter(schema, serialized, settings, cache));
    }
  }

  @Override
  public void write(VectorSchemaRoot batch) {
    if (closed) {
      throw new IllegalStateException("Cannot write batch to " + target
          + ": the Parquet writer is closed");
    }
    throwFailure("write batch to");
    int rows = batch.getRowCount();
    if (rows == 0) {
      return;
    }
    checker.checkSchema(batch.getSchema());
    if (!started) {
      started = true;
      for (Worker w : workers) {
        w.thread.start();
      }
    }
    List<FieldVector> vectors = batch.getFieldVectors();
    BufferAllocator allocator = vectors.isEmpty() ? null : vectors.get(0).getAllocator();
    ArrowRecordBatch data = new VectorUnloader(batch).getRecordBatch();
    long held = 0;
    for (FieldVector v : vectors) {
      held += v.getBufferSize(); // as the pipeline counts a batch (SourceBatch.sizeInBytes)
    }
    Task task = new Task(batch.getSchema(), data, allocator, data.computeBodyLength(), held);
    synchronized (lock) {
      pending++;
      pendingBytes += task.bytes;
    }
    heldBytes.accept(task.heldBytes);
    try {
      queue.put(task);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      done(task);
      throw new IllegalStateException("Cannot write batch to " + target
          + ": interrupted while waiting for an encoder thread (the batch was not written)", e);
    }
  }

  @Override
  public void roll() {
    awaitIdle("finish files for");
    for (Worker w : workers) {
      w.writer.roll();
      w.openBytes = 0;
    }
  }

  /**
   * Waits for every queued batch, ends the open files and returns every file finished since the
   * last call: each thread's files oldest first, thread after thread.
   */
  @Override
  public List<WrittenFile> finish() {
    awaitIdle("finish files for");
    List<WrittenFile> files = new ArrayList<>();
    for (Worker w : workers) {
      files.addAll(w.writer.finish());
      w.openBytes = 0;
    }
    return List.copyOf(files);
  }

  /**
   * The encoded bytes of the threads' open files as of their last batch, plus the Arrow bytes of
   * the batches not encoded yet: an upper estimate.
   */
  @Override
  public long openFileBytes() {
    long bytes;
    synchronized (lock) {
      bytes = pendingBytes;
    }
    for (Worker w : workers) {
      bytes += w.openBytes;
    }
    return bytes;
  }

  /**
   * Drops the batches not encoded yet, waits for the threads to finish the batch each is encoding
   * and ends them, then closes each thread's writer (an unfinished file's stream is closed, its
   * file is left to whoever handed out its output; nothing is deleted). Throws a thread's failure
   * that no call reported yet. Safe to call twice.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (started) {
      List<Task> dropped = new ArrayList<>();
      queue.drainTo(dropped);
      dropped.forEach(this::done);
      for (Worker w : workers) {
        uninterruptibly(() -> {
          queue.put(STOP);
          return true;
        });
      }
      for (Worker w : workers) {
        uninterruptibly(() -> {
          w.thread.join();
          return !w.thread.isAlive();
        });
      }
    }
    RuntimeException closing = null;
    for (Worker w : workers) {
      try {
        w.writer.close();
      } catch (RuntimeException e) {
        if (closing == null) {
          closing = e;
        } else {
          closing.addSuppressed(e);
        }
      }
    }
    checker.close();
    if (closing != null) {
      throw closing;
    }
    synchronized (lock) {
      if (reported) {
        return;
      }
    }
    throwFailure("close");
  }

  private void awaitIdle(String verb) {
    if (closed) {
      throw new IllegalStateException("Cannot " + verb + " " + target
          + ": the Parquet writer is closed");
    }
    // the queued batches hold buffers: they must be encoded or dropped before this returns
    uninterruptibly(() -> {
      synchronized (lock) {
        if (pending > 0) {
          lock.wait();
        }
        return pending == 0;
      }
    });
    throwFailure(verb);
  }

  /** Throws the first failure of a thread: as it was the first time, then as a closed state. */
  private void throwFailure(String verb) {
    Throwable cause;
    String thread;
    boolean first;
    synchronized (lock) {
      if (failure == null) {
        return;
      }
      cause = failure;
      thread = failedThread;
      first = !reported;
      reported = true;
    }
    String message = "Cannot " + verb + " " + target + ": encoder thread " + thread
        + " failed on an earlier batch (" + cause.getMessage() + ")";
    if (first && cause instanceof ValidationException) {
      throw new ValidationException(message + "; close this writer and discard its files", cause);
    }
    if (first && cause instanceof UncheckedIOException) {
      UncheckedIOException io = new UncheckedIOException(message
          + "; close this writer and discard its files", ((UncheckedIOException) cause).getCause());
      io.addSuppressed(cause);
      throw io;
    }
    throw new IllegalStateException(message + "; close this writer and discard its files",
        cause);
  }

  private void done(Task task) {
    try {
      task.data.close();
    } finally {
      try {
        // Before the batch stops counting as pending (outside the lock: the listener is the
        // caller's), so that finish() and close() return only once it was told.
        heldBytes.accept(-task.heldBytes);
      } finally {
        synchronized (lock) {
          pending--;
          pendingBytes -= task.bytes;
          lock.notifyAll();
        }
      }
    }
  }

  /** One step of a wait that must not be cut short; {@code true} once the wait is over. */
  @FunctionalInterface
  private interface WaitStep {
    boolean done() throws InterruptedException;
  }

  /** Repeats {@code step} until it is done, keeping an interrupt for the caller. */
  private static void uninterruptibly(WaitStep step) {
    boolean interrupted = false;
    boolean done = false;
    while (!done) {
      try {
        done = step.done();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** A batch's schema and buffer references, with the allocator its vectors are loaded into. */
  private static final class Task {
    final Schema schema;
    final ArrowRecordBatch data;
    final BufferAllocator allocator;
    final long bytes;
    final long heldBytes;

    Task(Schema schema, ArrowRecordBatch data, BufferAllocator allocator, long bytes,
        long heldBytes) {
      this.schema = schema;
      this.data = data;
      this.allocator = allocator;
      this.bytes = bytes;
      this.heldBytes = heldBytes;
    }
  }

  /** One encoder thread and the writer only it uses between the caller's waits. */
  private final class Worker implements Runnable {
    final ParquetColumnarWriter writer;
    final Thread thread;
    volatile long openBytes;
    // Used by the thread only.
    private VectorSchemaRoot root;
    private VectorLoader loader;
    private BufferAllocator rootAllocator;

    Worker(int index, ParquetColumnarWriter writer) {
      this.writer = writer;
      this.thread = new Thread(this, "crest-parquet-encoder-" + target + "-" + index);
      this.thread.setDaemon(true);
    }

    @Override
    public void run() {
      try {
        while (true) {
          Task task;
          try {
            task = queue.take();
          } catch (InterruptedException e) {
            continue; // only close() ends the thread, with STOP
          }
          if (task == STOP) {
            return;
          }
          try {
            if (!failed()) {
              encode(task);
            }
          } catch (RuntimeException | Error e) {
            fail(e);
          } finally {
            try {
              if (root != null) {
                root.clear(); // releases this thread's references to the batch's buffers
              }
            } catch (RuntimeException | Error e) {
              fail(e);
            }
            openBytes = writer.openFileBytes();
            done(task);
          }
        }
      } finally {
        if (root != null) {
          root.close();
        }
      }
    }

    private void encode(Task task) {
      if (root == null || !root.getSchema().equals(task.schema)
          || rootAllocator != task.allocator) {
        if (root != null) {
          root.close();
        }
        root = VectorSchemaRoot.create(task.schema, task.allocator); // keeps schema metadata
        loader = new VectorLoader(root);
        rootAllocator = task.allocator;
      }
      loader.load(task.data);
      writer.write(root);
    }

    private boolean failed() {
      synchronized (lock) {
        return failure != null;
      }
    }

    private void fail(Throwable e) {
      synchronized (lock) {
        if (failure == null) {
          failure = e;
          failedThread = thread.getName();
        } else if (failure != e) {
          failure.addSuppressed(e);
        }
      }
    }
  }
}
