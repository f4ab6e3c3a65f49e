package io.crest.flight;

import io.crest.DataSize;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightRuntimeException;

/**
 * The per-producer limits of a {@link FlightIngestServer} and their enforcement: how many puts run
 * at once, how many bytes of one put wait uncommitted in the pipeline, how large one message may
 * be (enforced by gRPC, see {@link FlightIngestServer.Builder#maxMessageSize}), and how long a put
 * may send nothing. A watchdog thread fails puts idle for longer than the idle timeout.
 *
 * <p>Thread-safe. {@link #close} stops the watchdog; safe to call twice.
 */
final class PutLimits implements AutoCloseable {
  static final int DEFAULT_MAX_CONCURRENT_PUTS = 256;
  static final DataSize DEFAULT_MAX_BUFFERED_BYTES = DataSize.mib(128);
  static final DataSize DEFAULT_MAX_MESSAGE_SIZE = DataSize.mib(64);
  static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofMinutes(5);
  /** The watchdog looks at the puts this often at most, and at least 4 times per timeout. */
  private static final long MAX_CHECK_MILLIS = 1_000;

  final int maxConcurrentPuts;
  final long maxBufferedBytes;
  final long maxMessageSize;
  final Duration idleTimeout;

  private final Set<PutSession> running = ConcurrentHashMap.newKeySet();
  private final ScheduledExecutorService watchdog;

  PutLimits(int maxConcurrentPuts, DataSize maxBufferedBytes, DataSize maxMessageSize,
      Duration idleTimeout, String serverName) {
    this.maxConcurrentPuts = maxConcurrentPuts;
    this.maxBufferedBytes = maxBufferedBytes.toBytes();
    this.maxMessageSize = maxMessageSize.toBytes();
    this.idleTimeout = idleTimeout;
    this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread thread = new Thread(r, "crest-flight-ingest-idle-watchdog[" + serverName + "]");
      thread.setDaemon(true);
      return thread;
    });
    long period = Math.max(1, Math.min(MAX_CHECK_MILLIS, idleTimeout.toMillis() / 4));
    watchdog.scheduleWithFixedDelay(this::failIdlePuts, period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * Counts {@code session} as running.
   *
   * @throws FlightRuntimeException {@code RESOURCE_EXHAUSTED} if {@link #maxConcurrentPuts} puts
   *     run already
   */
  void admit(PutSession session) {
    running.add(session);
    if (running.size() > maxConcurrentPuts) {
      running.remove(session);
      throw CallStatus.RESOURCE_EXHAUSTED.withDescription("Cannot accept the put: "
          + maxConcurrentPuts + " puts are running, the server's maxConcurrentPuts (retry later,"
          + " or raise maxConcurrentPuts)").toRuntimeException();
    }
  }

  void release(PutSession session) {
    running.remove(session);
  }

  /** The number of puts running now. */
  int running() {
    return running.size();
  }

  private void failIdlePuts() {
    long now = System.nanoTime();
    for (PutSession session : running) {
      long idle = session.idleNanos(now);
      if (idle > idleTimeout.toNanos()) {
        session.fail(CallStatus.TIMED_OUT.withDescription("Cannot finish the " + session
            + ": it sent nothing for " + TimeUnit.NANOSECONDS.toMillis(idle) + " ms, longer than"
            + " the server's idleTimeout " + idleTimeout + " (send batches more often, end the put"
            + " when idle, or raise idleTimeout); re-send every batch without an"
            + " acknowledgement").toRuntimeException());
      }
    }
  }

  /** The status for a batch larger than {@link #maxBufferedBytes} by itself. */
  FlightRuntimeException batchTooLarge(PutSession session, long index, long bytes) {
    return CallStatus.RESOURCE_EXHAUSTED.withDescription("Cannot ingest batch " + index
        + " of the " + session + ": it holds " + bytes + " bytes, more than the server's"
        + " maxBufferedBytesPerProducer " + DataSize.bytes(maxBufferedBytes) + " (send smaller"
        + " batches, or raise maxBufferedBytesPerProducer)").toRuntimeException();
  }

  /** The status for a put whose uncommitted bytes found no room within the idle timeout. */
  FlightRuntimeException noRoom(PutSession session, long index, long bytes) {
    return CallStatus.RESOURCE_EXHAUSTED.withDescription("Cannot ingest batch " + index
        + " of the " + session + ": its " + bytes + " bytes would put the producer's uncommitted"
        + " bytes over the server's maxBufferedBytesPerProducer " + DataSize.bytes(maxBufferedBytes)
        + ", and no commit made room within idleTimeout " + idleTimeout + " (let the pipeline"
        + " commit more often, or raise maxBufferedBytesPerProducer); re-send every batch without"
        + " an acknowledgement").toRuntimeException();
  }

  @Override
  public void close() {
    watchdog.shutdownNow();
  }
}
