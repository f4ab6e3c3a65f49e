package io.crest.micrometer;

import io.crest.BatchEvent;
import io.crest.CommitEvent;
import io.crest.DeadLetterEvent;
import io.crest.PipelineListener;
import io.crest.spi.SourcePosition;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;

/**
 * Micrometer meters for one Crest pipeline, fed by the pipeline's listener calls.
 *
 * <pre>{@code
 * CrestMetrics metrics = CrestMetrics.forRegistry(registry);
 * Pipeline p = Pipeline.from(source).id("orders").listener(metrics).to(sink);
 * }</pre>
 *
 * <p>Every meter is tagged {@code pipeline} (the pipeline id) and {@code table} (the sink's name,
 * for the Iceberg sink the table):
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>name</th><th>type</th><th>what</th></tr>
 *   <tr><td>{@value #RECORDS_WRITTEN}</td><td>counter</td><td>rows committed</td></tr>
 *   <tr><td>{@value #BATCHES_COMMITTED}</td><td>counter</td><td>successful commits</td></tr>
 *   <tr><td>{@value #BYTES_WRITTEN}</td><td>counter</td><td>bytes of the files committed</td></tr>
 *   <tr><td>{@value #COMMIT_CONFLICTS}</td><td>counter</td><td>times a commit was applied
 *       again to a newer table state because another writer (another pipeline, a shard of the
 *       same stream, maintenance) committed first; retried, not failed</td></tr>
 *   <tr><td>{@value #COMMIT_RETRIES}</td><td>counter</td><td>attempts of the sink after a
 *       commit's first (conflicts that outlasted Iceberg's own retries, unknown outcomes)</td></tr>
 *   <tr><td>{@value #COMMIT_DURATION}</td><td>timer</td><td>how long each commit call took;
 *       publishes the 0.5, 0.95 and 0.99 percentiles</td></tr>
 *   <tr><td>{@value #RECORDS_PER_BATCH}</td><td>distribution summary</td><td>rows of each batch
 *       the pipeline received and wrote</td></tr>
 *   <tr><td>{@value #SOURCE_LAG}</td><td>gauge, seconds, tag {@code stream}</td><td>the age of
 *       the oldest batch of the stream that no commit covers yet, 0 when every batch received
 *       from the stream is committed. It grows while a commit is slow or failing, and drops to 0
 *       at each commit of an idle stream. It says nothing about data the source has not sent
 *       yet. Dead-lettered batches never count.</td></tr>
 *   <tr><td>{@value #ERRORS}</td><td>counter, tag {@code kind}</td><td>{@code fatal} (the
 *       failure that stopped the pipeline), {@code dead-letter} (a batch sent to the dead-letter
 *       directory), and each kind a pipeline reports through {@link
 *       PipelineListener#onError}, such as {@code listener}, {@code source-hook} or {@code
 *       cleanup}</td></tr>
 * </table>
 *
 * <p>Tags: the pipeline id and the table are learned from the events (the pipeline id from the
 * first event of any kind, the table from the first commit) unless given to the {@link Builder}.
 * The meters are registered once both are known; what happens before (rows per batch, errors) is
 * kept and recorded then, and the lag gauges appear then too. To see the meters from the first
 * batch, and an error before the first commit under the right tags, give the table to {@link
 * Builder#table}. A fatal failure before both are known registers the meters with {@code unknown}
 * for the tag it lacks, so that the failure is counted.
 *
 * <p>One instance serves one pipeline run: an event of another pipeline id or sink throws {@link
 * IllegalStateException} (which the pipeline logs and otherwise ignores). To run the same pipeline
 * again in the same registry, {@link #close} the old instance and register a new one: a registry
 * keeps the first gauge of a name and tags, so the old instance's lag gauges would stay. After a
 * fatal failure the lag of the failed run keeps growing until then, as nothing more is committed.
 *
 * <p>Thread-safety: the listener methods may be called from any thread and are cheap: {@link
 * #onBatch} records one value and queues the batch's position, without locking once the meters
 * are registered; {@link #onCommit} is linear in the batches it covers. The lag gauges are read
 * from the registry's threads.
 *
 * <p>Ownership: the registry stays the caller's. {@link #close} removes this instance's meters
 * from the registry; the pipeline does not call it.
 */
public final class CrestMetrics implements PipelineListener, AutoCloseable {
  /** Counter of the rows committed. */
  public static final String RECORDS_WRITTEN = "crest.records.written";
  /** Counter of the successful commits. */
  public static final String BATCHES_COMMITTED = "crest.batches.committed";
  /** Counter of the bytes of the files committed. */
  public static final String BYTES_WRITTEN = "crest.bytes.written";
  /** Counter of the times a commit was applied again because another writer committed first. */
  public static final String COMMIT_CONFLICTS = "crest.commit.conflicts";
  /** Counter of the sink's commit attempts after each commit's first. */
  public static final String COMMIT_RETRIES = "crest.commit.retries";
  /** Timer of the commit calls, with percentiles. */
  public static final String COMMIT_DURATION = "crest.commit.duration";
  /** Distribution summary of the rows of each batch received. */
  public static final String RECORDS_PER_BATCH = "crest.records.per.batch";
  /** Gauge per stream: seconds since the oldest uncommitted batch of the stream arrived. */
  public static final String SOURCE_LAG = "crest.source.lag";
  /** Counter of errors by {@code kind}. */
  public static final String ERRORS = "crest.errors";

  /** The {@code kind} of {@link #ERRORS} for the failure that stopped the pipeline. */
  public static final String KIND_FATAL = "fatal";
  /** The {@code kind} of {@link #ERRORS} for a batch sent to the dead-letter directory. */
  public static final String KIND_DEAD_LETTER = "dead-letter";

  static final String UNKNOWN = "unknown";

  private final MeterRegistry registry;
  private final LongSupplier nanoClock;
  private final ConcurrentHashMap<String, StreamLag> streams = new ConcurrentHashMap<>();
  private final Object lock = new Object();

  // Guarded by lock.
  private String pipelineId;
  private String table;
  private final Map<Integer, long[]> pendingBatchRows = new HashMap<>();
  private final Map<String, long[]> pendingErrors = new LinkedHashMap<>();
  private final List<Meter> registered = new ArrayList<>();
  private volatile boolean closed; // written under lock

  /** Null until both tags are known; then never changes (except to null on close). */
  private volatile Meters meters;

  private CrestMetrics(Builder b) {
    this.registry = b.registry;
    this.nanoClock = b.nanoClock != null ? b.nanoClock : System::nanoTime;
    this.pipelineId = b.pipelineId;
    this.table = b.table;
    if (pipelineId != null && table != null) {
      synchronized (lock) {
        register();
      }
    }
  }

  /**
   * Returns meters for one pipeline in {@code registry}, tagged with the pipeline id and table
   * learned from the events.
   */
  public static CrestMetrics forRegistry(MeterRegistry registry) {
    return builder(registry).build();
  }

  /** Starts configuring meters for one pipeline in {@code registry}. */
  public static Builder builder(MeterRegistry registry) {
    return new Builder(registry);
  }

  @Override
  public void onBatch(BatchEvent event) {
    if (closed) {
      return;
    }
    StreamLag lag = stream(event.stream());
    lag.received(event.positionAfter(), event.arrivalNanos(), true);
    Meters m = resolve(event.pipelineId(), null);
    if (m != null) {
      m.recordsPerBatch.record(event.rows());
      return;
    }
    synchronized (lock) {
      if (meters != null) {
        meters.recordsPerBatch.record(event.rows());
      } else if (!closed) {
        pendingBatchRows.computeIfAbsent(event.rows(), k -> new long[1])[0]++;
      }
    }
  }

  @Override
  public void onCommit(CommitEvent event) {
    Meters m = resolve(event.pipelineId(), event.sink());
    if (m == null) {
      return; // closed
    }
    m.recordsWritten.increment(event.rows());
    m.batchesCommitted.increment();
    m.bytesWritten.increment(event.bytes());
    m.commitDuration.record(event.latency());
    m.commitConflicts.increment(event.conflicts());
    m.commitRetries.increment(event.retries());
    for (Map.Entry<String, SourcePosition> e : event.positions().entrySet()) {
      StreamLag lag = streams.get(e.getKey());
      if (lag != null) {
        lag.committed(e.getValue());
      }
    }
  }

  @Override
  public void onDeadLetter(DeadLetterEvent event) {
    if (closed) {
      return;
    }
    stream(event.stream()).received(event.positionAfter(), 0L, false);
    resolve(event.pipelineId(), null);
    countError(KIND_DEAD_LETTER);
  }

  @Override
  public void onError(String kind, Throwable error) {
    countError(kind == null || kind.isBlank() ? UNKNOWN : kind);
  }

  @Override
  public void onFailure(Throwable error) {
    synchronized (lock) {
      if (meters == null && !closed) {
        // Nothing more will come that could name the pipeline or the table: count it now.
        pipelineId = pipelineId != null ? pipelineId : UNKNOWN;
        table = table != null ? table : UNKNOWN;
        register();
      }
    }
    countError(KIND_FATAL);
  }

  /**
   * Removes this instance's meters from the registry; later events are ignored. Safe to call
   * more than once.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      meters = null;
      for (Meter meter : registered) {
        registry.remove(meter);
      }
      registered.clear();
      streams.clear();
      pendingBatchRows.clear();
      pendingErrors.clear();
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "CrestMetrics[pipeline=" + (pipelineId == null ? "?" : pipelineId) + ", table="
          + (table == null ? "?" : table) + "]";
    }
  }

  private void countError(String kind) {
    Meters m = meters;
    if (m != null) {
      m.error(kind).increment();
      return;
    }
    synchronized (lock) {
      if (meters != null) {
        meters.error(kind).increment();
      } else if (!closed) {
        pendingErrors.computeIfAbsent(kind, k -> new long[1])[0]++;
      }
    }
  }

  /**
   * Checks the event's pipeline id and sink against what this instance serves, learns them if
   * new, registers the meters once both are known, and returns them (null until then).
   */
  private Meters resolve(String eventPipeline, String eventTable) {
    Meters m = meters;
    if (m != null) {
      check("pipeline", m.pipelineId, eventPipeline);
      if (eventTable != null) {
        check("table", m.table, eventTable);
      }
      return m;
    }
    synchronized (lock) {
      if (closed) {
        return null;
      }
      if (meters == null) {
        if (eventPipeline != null) {
          if (pipelineId == null) {
            pipelineId = eventPipeline;
          }
          check("pipeline", pipelineId, eventPipeline);
        }
        if (eventTable != null) {
          if (table == null) {
            table = eventTable;
          }
          check("table", table, eventTable);
        }
        if (pipelineId != null && table != null) {
          register();
        }
      }
      return meters;
    }
  }

  private void check(String what, String serving, String event) {
    if (event != null && !serving.equals(event)) {
      throw new IllegalStateException(
          "Cannot record metrics for " + what + " " + event + ": this CrestMetrics serves "
              + what + " " + serving + " (use one CrestMetrics per pipeline)");
    }
  }

  /** Registers every meter with the known tags and replays what came before; holds the lock. */
  private void register() {
    Tags tags = Tags.of("pipeline", pipelineId, "table", table);
    Meters m = new Meters(pipelineId, table, tags);
    registered.add(m.recordsWritten);
    registered.add(m.batchesCommitted);
    registered.add(m.bytesWritten);
    registered.add(m.commitConflicts);
    registered.add(m.commitRetries);
    registered.add(m.commitDuration);
    registered.add(m.recordsPerBatch);
    m.error(KIND_FATAL);
    m.error(KIND_DEAD_LETTER);
    pendingBatchRows.forEach(
        (rows, count) -> {
          for (long i = 0; i < count[0]; i++) {
            m.recordsPerBatch.record(rows);
          }
        });
    pendingBatchRows.clear();
    pendingErrors.forEach((kind, count) -> m.error(kind).increment(count[0]));
    pendingErrors.clear();
    meters = m;
    for (StreamLag lag : streams.values()) {
      registerGauge(lag, m);
    }
  }

  private StreamLag stream(String stream) {
    StreamLag lag = streams.get(stream);
    if (lag != null) {
      return lag;
    }
    lag = streams.computeIfAbsent(stream, StreamLag::new);
    synchronized (lock) {
      // Also registered by register() if the meters come later; the flag keeps it to one.
      if (meters != null) {
        registerGauge(lag, meters);
      }
    }
    return lag;
  }

  /** Holds the lock. */
  private void registerGauge(StreamLag lag, Meters m) {
    if (lag.gauge != null) {
      return;
    }
    lag.gauge =
        Gauge.builder(SOURCE_LAG, lag, StreamLag::seconds)
            .tags(m.tags)
            .tag("stream", lag.stream)
            .description(
                "Age of the oldest batch of the stream not yet covered by a commit, 0 when"
                    + " everything received is committed")
            .baseUnit("seconds")
            .strongReference(true)
            .register(registry);
    registered.add(lag.gauge);
  }

  /** The registered meters of one pipeline. */
  private final class Meters {
    final String pipelineId;
    final String table;
    final Tags tags;
    final Counter recordsWritten;
    final Counter batchesCommitted;
    final Counter bytesWritten;
    final Counter commitConflicts;
    final Counter commitRetries;
    final Timer commitDuration;
    final DistributionSummary recordsPerBatch;
    final ConcurrentHashMap<String, Counter> errors = new ConcurrentHashMap<>();

    Meters(String pipelineId, String table, Tags tags) {
      this.pipelineId = pipelineId;
      this.table = table;
      this.tags = tags;
      recordsWritten =
          Counter.builder(RECORDS_WRITTEN).tags(tags).description("Rows committed")
              .register(registry);
      batchesCommitted =
          Counter.builder(BATCHES_COMMITTED).tags(tags).description("Successful commits")
              .register(registry);
      bytesWritten =
          Counter.builder(BYTES_WRITTEN).tags(tags).description("Bytes of the files committed")
              .register(registry);
      commitConflicts =
          Counter.builder(COMMIT_CONFLICTS).tags(tags)
              .description("Commits applied again because another writer committed first")
              .register(registry);
      commitRetries =
          Counter.builder(COMMIT_RETRIES).tags(tags)
              .description("Commit attempts after the first").register(registry);
      commitDuration =
          Timer.builder(COMMIT_DURATION)
              .tags(tags)
              .description("How long each commit took")
              .publishPercentiles(0.5, 0.95, 0.99)
              .register(registry);
      recordsPerBatch =
          DistributionSummary.builder(RECORDS_PER_BATCH)
              .tags(tags)
              .description("Rows of each batch received from the source")
              .register(registry);
    }

    Counter error(String kind) {
      Counter c = errors.get(kind);
      if (c != null) {
        return c;
      }
      synchronized (lock) {
        return errors.computeIfAbsent(
            kind,
            k -> {
              Counter counter =
                  Counter.builder(ERRORS).tags(tags).tag("kind", k)
                      .description("Errors of the pipeline by kind").register(registry);
              registered.add(counter);
              return counter;
            });
      }
    }
  }

  /**
   * The batches of one stream that no commit covers yet, oldest first. One thread adds (the
   * writer), one removes (the committer), any thread reads the age.
   */
  private final class StreamLag {
    final String stream;
    final ConcurrentLinkedQueue<Received> uncommitted = new ConcurrentLinkedQueue<>();
    Gauge gauge; // guarded by lock

    StreamLag(String stream) {
      this.stream = stream;
    }

    void received(SourcePosition positionAfter, long arrivalNanos, boolean counts) {
      uncommitted.add(new Received(positionAfter, arrivalNanos, counts));
    }

    /**
     * A commit recorded {@code position} for this stream: every batch up to the one that ended
     * there is covered. A position of no queued batch (the one the pipeline resumed from) covers
     * none of them: they all arrived after the flush.
     */
    synchronized void committed(SourcePosition position) {
      int covered = 0;
      int i = 0;
      for (Received r : uncommitted) {
        i++;
        if (r.positionAfter.equals(position)) {
          covered = i;
          break;
        }
      }
      for (int k = 0; k < covered; k++) {
        uncommitted.poll();
      }
    }

    double seconds() {
      for (Received r : uncommitted) {
        if (r.counts) {
          return Math.max(0L, nanoClock.getAsLong() - r.arrivalNanos) / 1e9;
        }
      }
      return 0.0;
    }
  }

  private record Received(SourcePosition positionAfter, long arrivalNanos, boolean counts) {}

  /**
   * Configures a {@link CrestMetrics}. Setters check their argument at once. Not thread-safe.
   */
  public static final class Builder {
    private final MeterRegistry registry;
    private String pipelineId;
    private String table;
    private LongSupplier nanoClock;

    private Builder(MeterRegistry registry) {
      this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Sets the pipeline id the meters are tagged with, instead of learning it from the first
     * event; events of another pipeline are then refused.
     *
     * @throws IllegalArgumentException if {@code id} is blank
     * @throws IllegalStateException if the pipeline id was set before
     */
    public Builder pipeline(String id) {
      this.pipelineId = checkOnce("pipeline id", id, pipelineId);
      return this;
    }

    /**
     * Sets the table (the sink's name) the meters are tagged with, instead of learning it from
     * the first commit: the meters then exist from the first batch.
     *
     * @throws IllegalArgumentException if {@code name} is blank
     * @throws IllegalStateException if the table was set before
     */
    public Builder table(String name) {
      this.table = checkOnce("table", name, table);
      return this;
    }

    /**
     * Sets the clock the lag gauges read, in nanoseconds; it must be the clock of {@link
     * BatchEvent#arrivalNanos}, which for a pipeline is {@link System#nanoTime()} (the default).
     * For tests.
     *
     * @throws IllegalStateException if the clock was set before
     */
    public Builder clock(LongSupplier nanoClock) {
      Objects.requireNonNull(nanoClock, "nanoClock");
      if (this.nanoClock != null) {
        throw new IllegalStateException("Cannot set the clock of CrestMetrics: already set");
      }
      this.nanoClock = nanoClock;
      return this;
    }

    /**
     * Returns the listener; with both a pipeline id and a table set, its meters are registered
     * now.
     */
    public CrestMetrics build() {
      return new CrestMetrics(this);
    }

    private static String checkOnce(String what, String value, String earlier) {
      Objects.requireNonNull(value, what);
      if (value.isBlank()) {
        throw new IllegalArgumentException("Cannot set " + what + " of CrestMetrics: blank");
      }
      if (earlier != null) {
        throw new IllegalStateException(
            "Cannot set " + what + " of CrestMetrics to '" + value + "': already set to '"
                + earlier + "'");
      }
      return value;
    }
  }
}
