package io.crest.flight;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.Supplier;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;

/**
 * One {@code DoPut} call of the ingest server: the batches it sent that wait for a commit, and the
 * acknowledgements sent back, in batch order, once a commit covers them or they were
 * dead-lettered.
 *
 * <p>Thread-safe: the put's thread adds batches and waits; the pipeline's committer thread (via
 * {@link IngestSource#committed}) sends acknowledgements; a closing source fails the session. Every
 * use of the ack stream holds this object's monitor, so gRPC never sees two threads at once.
 */
final class PutSession {
  private static final long CANCEL_CHECK_MILLIS = 100;
  /** How the acknowledgement of a dead-lettered batch starts. */
  static final String DEAD_LETTER_PREFIX = "dead-letter ";

  /** A batch waiting for its acknowledgement. */
  private static final class Pending {
    final IngestSource.ProducerStream stream;
    final long position;
    final byte[] ack;
    final long bytes;

    Pending(IngestSource.ProducerStream stream, long position, byte[] ack, long bytes) {
      this.stream = stream;
      this.position = position;
      this.ack = ack;
      this.bytes = bytes;
    }
  }

  private final StreamListener<PutResult> acks;
  private final BufferAllocator allocator;
  private volatile String description;

  // Guarded by this.
  private final Deque<Pending> pending = new ArrayDeque<>();
  private long pendingBytes;
  // System.nanoTime() when the put thread started waiting for the producer's next message.
  private long readingSince;
  private FlightRuntimeException failure;
  // The put's thread while it waits for the producer's next message, else null.
  private Thread reader;
  // Whether fail() interrupted the reader, whose interrupt status must then be cleared.
  private boolean readerWoken;

  /**
   * Creates a session.
   *
   * @param allocator where acknowledgement metadata is allocated, for the moment it is sent
   * @param description the put, for messages: table and producer
   */
  PutSession(StreamListener<PutResult> acks, BufferAllocator allocator, String description) {
    this.acks = acks;
    this.allocator = allocator;
    this.description = description;
  }

  /**
   * Registers a batch of {@code bytes} bytes that must be acknowledged with {@code ack} as
   * metadata once its stream's committed position reaches {@code position}, and acknowledges what
   * is due already.
   */
  synchronized void expect(
      IngestSource.ProducerStream stream, long position, byte[] ack, long bytes) {
    pending.addLast(new Pending(stream, position, ack, bytes));
    pendingBytes += bytes;
    acknowledgeDue();
  }

  /** Names the put once its descriptor is known, for messages. */
  void describe(String description) {
    this.description = description;
  }

  /**
   * Waits until a batch of {@code bytes} bytes fits beside the batches waiting for their
   * acknowledgement within {@code limit} bytes (always when none waits), the session failed, or
   * {@code timeout} passed.
   *
   * @return whether the batch fits
   */
  synchronized boolean awaitRoom(long bytes, long limit, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (failure == null && pendingBytes > 0 && pendingBytes + bytes > limit) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      wait(Math.max(1, Math.min(CANCEL_CHECK_MILLIS, left / 1_000_000)));
    }
    return failure == null;
  }

  /** How long the put thread has been waiting for the producer, or 0 if it is not waiting. */
  synchronized long idleNanos(long now) {
    return reader == null ? 0 : now - readingSince;
  }

  /**
   * Sends the acknowledgements that commits and dead letters made due, in order. Called after
   * each commit and dead letter.
   */
  synchronized void acknowledgeDue() {
    while (failure == null && !pending.isEmpty()
        && pending.peekFirst().stream.isDurable(pending.peekFirst().position)) {
      Pending head = pending.removeFirst();
      pendingBytes -= head.bytes;
      byte[] ack = ackMetadata(head);
      ArrowBuf metadata = null;
      if (ack.length > 0) {
        metadata = allocator.buffer(ack.length);
        metadata.writeBytes(ack);
      }
      try (PutResult result = PutResult.metadata(metadata)) {
        acks.onNext(result);
      } catch (RuntimeException e) {
        failure = CallStatus.CANCELLED.withDescription("Cannot acknowledge " + description
            + ": the call is gone (" + e.getMessage() + ")").toRuntimeException();
      }
    }
    notifyAll();
  }

  /**
   * The batch's own metadata, or for a dead-lettered batch {@code dead-letter <file name> }
   * followed by it (the convention of {@code docs/flight-tickets.md}).
   */
  private static byte[] ackMetadata(Pending batch) {
    String file = batch.stream.deadLetterFile(batch.position);
    if (file == null) {
      return batch.ack;
    }
    byte[] prefix = utf8(DEAD_LETTER_PREFIX + file + " ");
    byte[] ack = new byte[prefix.length + batch.ack.length];
    System.arraycopy(prefix, 0, ack, 0, prefix.length);
    System.arraycopy(batch.ack, 0, ack, prefix.length, batch.ack.length);
    return ack;
  }

  /**
   * Fails the session: its unacknowledged batches will not be acknowledged. First one wins. A put
   * thread waiting in {@link #next} for a producer that sends nothing more is woken up, so the
   * call ends now rather than at the producer's next message.
   */
  synchronized void fail(FlightRuntimeException error) {
    if (failure == null) {
      failure = error;
      if (reader != null) {
        readerWoken = true;
        reader.interrupt();
      }
    }
    notifyAll();
  }

  /**
   * Reads the producer's next message on the put's thread, like {@link FlightStream#next}.
   *
   * @return {@code false} at the end of the put, or once the session failed (then {@link
   *     #failure} says why)
   */
  boolean next(FlightStream input) {
    Boolean more = read(input::next);
    return more != null && more;
  }

  /**
   * Waits for the put's descriptor, the producer's first message.
   *
   * @return the descriptor, or {@code null} once the session failed (then {@link #failure} says
   *     why)
   */
  FlightDescriptor descriptor(FlightStream input) {
    return read(input::getDescriptor);
  }

  /**
   * Runs {@code read}, which waits for the producer, where {@link #fail} can interrupt it and the
   * idle watchdog sees it waiting.
   *
   * @return what {@code read} returned, or {@code null} if the session failed before or during it
   */
  private <T> T read(Supplier<T> read) {
    synchronized (this) {
      if (failure != null) {
        return null;
      }
      reader = Thread.currentThread();
      readingSince = System.nanoTime();
    }
    boolean woken = false;
    try {
      return read.get();
    } catch (RuntimeException e) {
      synchronized (this) {
        if (!readerWoken) {
          throw e;
        }
      }
      return null; // interrupted by fail() while waiting for the producer
    } finally {
      synchronized (this) {
        reader = null;
        woken = readerWoken;
        readerWoken = false;
      }
      if (woken) {
        // Consumed here: the thread belongs to Flight's executor and must not keep it.
        Thread.interrupted();
      }
    }
  }

  synchronized FlightRuntimeException failure() {
    return failure;
  }

  /**
   * Waits until every batch is acknowledged, the session failed, or the client cancelled the
   * call.
   *
   * @return the failure, or {@code null} when every batch was acknowledged
   */
  synchronized FlightRuntimeException awaitAcknowledged(CallContext call)
      throws InterruptedException {
    while (failure == null && !pending.isEmpty()) {
      if (call.isCancelled()) {
        failure = CallStatus.CANCELLED
            .withDescription("The producer cancelled " + description).toRuntimeException();
        break;
      }
      wait(CANCEL_CHECK_MILLIS);
    }
    return failure;
  }

  /** Ends the call: completed if every batch was acknowledged, else with the failure. */
  synchronized void finish(FlightRuntimeException error) {
    if (error == null && failure == null) {
      acks.onCompleted();
    } else {
      acks.onError(error != null ? error : failure);
    }
  }

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return description;
  }
}
