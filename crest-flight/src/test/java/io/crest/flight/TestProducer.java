package io.crest.flight;

import io.crest.testing.TestBatches;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * A producer for tests: a real {@link FlightClient} that puts batches of {@link TestBatches#SCHEMA}
 * with sequence numbers and records the acknowledgements. Batch {@code k} (a sequence number) of a
 * put holds ids {@code base + (k - 1) * rows ..} so that every row of every producer is distinct.
 */
final class TestProducer {
  /** The outcome of one put: the acknowledgements so far and the call's end. */
  static final class Put {
    final List<String> acks = new CopyOnWriteArrayList<>();
    final AtomicInteger sent = new AtomicInteger();
    final CompletableFuture<Void> done = new CompletableFuture<>();
  }

  private TestProducer() {}

  /**
   * Puts batches {@code fromSequence..toSequence} of {@code rows} rows each, on a thread of its
   * own, to {@code table} as {@code producer} (null: anonymous, metadata is the sequence anyway).
   */
  static Put start(
      FlightClient client, BufferAllocator allocator, String table, String producer, long base,
      long fromSequence, long toSequence, int rows, CallOption... options) {
    return start(true, client, allocator, table, producer, base, fromSequence, toSequence, rows,
        options);
  }

  /**
   * Like {@link #start}, but the producer keeps the put open after its last batch, as one that
   * streams batches when it has them would: the put ends only when the server ends it.
   */
  static Put startStayingOpen(
      FlightClient client, BufferAllocator allocator, String table, String producer, long base,
      long fromSequence, long toSequence, int rows) {
    return start(false, client, allocator, table, producer, base, fromSequence, toSequence, rows);
  }

  private static Put start(
      boolean complete, FlightClient client, BufferAllocator allocator, String table,
      String producer, long base, long fromSequence, long toSequence, int rows,
      CallOption... options) {
    Put put = new Put();
    Thread thread = new Thread(() -> {
      try {
        run(complete, client, allocator, table, producer, base, fromSequence, toSequence, rows,
            put, options);
        put.done.complete(null);
      } catch (Throwable e) {
        put.done.completeExceptionally(e);
      }
    }, "test-producer-" + producer);
    thread.setDaemon(true);
    thread.start();
    return put;
  }

  private static void run(
      boolean complete, FlightClient client, BufferAllocator allocator, String table,
      String producer, long base, long fromSequence, long toSequence, int rows, Put put,
      CallOption... options) {
    FlightDescriptor descriptor = producer == null
        ? FlightDescriptor.path(table) : FlightDescriptor.path(table, producer);
    try (VectorSchemaRoot root = VectorSchemaRoot.create(TestBatches.SCHEMA, allocator)) {
      AsyncPutListener listener = new AsyncPutListener() {
        @Override
        public void onNext(PutResult result) {
          ArrowBuf metadata = result.getApplicationMetadata();
          byte[] bytes = new byte[(int) metadata.readableBytes()];
          metadata.getBytes(metadata.readerIndex(), bytes);
          put.acks.add(new String(bytes, StandardCharsets.UTF_8));
        }
      };
      FlightClient.ClientStreamListener stream =
          client.startPut(descriptor, root, listener, options);
      for (long sequence = fromSequence; sequence <= toSequence; sequence++) {
        fill(root, base + (sequence - 1) * rows, rows);
        byte[] text = Long.toString(sequence).getBytes(StandardCharsets.UTF_8);
        ArrowBuf metadata = allocator.buffer(text.length);
        metadata.writeBytes(text);
        stream.putNext(metadata);
        put.sent.incrementAndGet();
      }
      if (complete) {
        stream.completed();
      }
      listener.getResult();
    }
  }

  /** The ids a put of batches {@code from..to} of {@code rows} rows carries. */
  static List<Long> ids(long base, long fromSequence, long toSequence, int rows) {
    List<Long> ids = new java.util.ArrayList<>();
    for (long id = base + (fromSequence - 1) * rows; id < base + toSequence * rows; id++) {
      ids.add(id);
    }
    return ids;
  }

  private static void fill(VectorSchemaRoot root, long firstId, int rows) {
    root.allocateNew();
    BigIntVector ids = (BigIntVector) root.getVector("id");
    VarCharVector names = (VarCharVector) root.getVector("name");
    for (int r = 0; r < rows; r++) {
      ids.setSafe(r, firstId + r);
      names.setSafe(r, ("name-" + (firstId + r)).getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(rows);
  }
}
