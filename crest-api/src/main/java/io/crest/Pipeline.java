package io.crest;

import io.crest.internal.PipelineRunner;
import io.crest.spi.Sink;
import io.crest.spi.Source;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * A running link from one {@link Source} to one {@link Sink}: batches are read on the source's
 * threads, written into files on a writer thread and committed on a committer thread, each commit
 * recording the source positions it covers so a restarted pipeline continues where the last commit
 * ended.
 *
 * <pre>{@code
 * try (Pipeline p = Pipeline.from(source)
 *     .id("orders")
 *     .batch(BatchPolicy.rows(100_000).orEvery(Duration.ofSeconds(5)))
 *     .to(sink)) {
 *   p.start();
 *   p.awaitIdle(Duration.ofMinutes(1));
 * }
 * }</pre>
 *
 * <p>Lifecycle: {@link #start} once; then {@link #awaitIdle} or {@link #stop} (drain, flush,
 * commit, close). {@link #close} is {@link #stop}. The pipeline owns its source and the writer it
 * opens on the sink, and closes both. Thread-safe: any thread may call any method.
 */
public interface Pipeline extends AutoCloseable {

  /** Where a pipeline is in its life. */
  enum State {
    /** Built, not started. */
    NEW,
    /** Reading, writing and committing. */
    RUNNING,
    /** Stopped after committing everything it had received. */
    STOPPED,
    /** Stopped by a failure; see {@link #failure()}. */
    FAILED
  }

  /**
   * Starts building a pipeline that reads {@code source}. The pipeline takes ownership of the
   * source and closes it.
   */
  static Builder from(Source source) {
    return new Builder(source);
  }

  /**
   * The id under which this pipeline records its commits, as set with {@link Builder#id}; stable
   * across restarts. A pipeline to a sink that keeps no positions ({@link Sink#keepsPositions()})
   * built without an id has a random one, new on every build, for logs and metrics.
   */
  String id();

  /**
   * Opens the sink, reads back the last committed positions, and starts the source from them.
   * Returns once the pipeline's threads run.
   *
   * @throws IllegalStateException if the pipeline was started before
   * @throws io.crest.errors.CrestException if the sink or source cannot be opened; the pipeline is
   *     then {@link State#FAILED} and closed
   */
  void start();

  /**
   * Waits until the source has reported that it is complete and every batch it delivered is
   * committed.
   *
   * @return {@code true} if the pipeline became idle, {@code false} if {@code timeout} passed first
   * @throws io.crest.errors.PipelineFailedException if the pipeline failed
   * @throws IllegalStateException if the pipeline was not started, or if called on one of the
   *     pipeline's own threads (from a {@link PipelineListener} or source hook), which would wait
   *     for itself
   * @throws InterruptedException if the waiting thread was interrupted
   */
  boolean awaitIdle(Duration timeout) throws InterruptedException;

  /**
   * Stops gracefully: stops reading, writes and commits every batch already received, then closes
   * the source and the sink writer. Returns when all is done. Safe to call more than once.
   *
   * <p>Called from a {@link PipelineListener} callback or a source hook (on the pipeline's own
   * writer or committer thread), or from a thread of the source that emitted batches (which the
   * source's close may join), it only requests the same orderly stop and returns at once,
   * without throwing: the stop runs on a short-lived thread of its own and proceeds once the
   * callback returns (the callback's thread is one the stop waits for). Batches received before
   * the stop are still written and committed. Other threads observe the end through {@link
   * #state()} ({@link State#STOPPED}, or {@link State#FAILED} with {@link #failure()}), {@link
   * #awaitIdle} (which returns {@code false} or throws once the pipeline stopped) or a later
   * {@code stop()}, which waits for the stop to finish.
   *
   * @throws io.crest.errors.PipelineFailedException if the pipeline failed, now or before (not
   *     from a callback, see above)
   */
  void stop();

  /** Same as {@link #stop()}. */
  @Override
  void close();

  /** The pipeline's counters now. */
  PipelineStats stats();

  /** Where the pipeline is in its life. */
  State state();

  /** The failure that stopped the pipeline, if it failed. */
  Optional<Throwable> failure();

  /**
   * Builds a {@link Pipeline}. Setters check their argument at once; {@link #to} checks the whole
   * and returns an immutable pipeline. Not thread-safe.
   */
  final class Builder {
    private static final DataSize DEFAULT_BUFFER_LIMIT = DataSize.mib(64);

    private final Source source;
    private String id;
    private BatchPolicy batchPolicy;
    private DataSize bufferLimit;
    private final List<PipelineListener> listeners = new ArrayList<>();
    private Path deadLetter;

    private Builder(Source source) {
      this.source = Objects.requireNonNull(source, "source");
    }

    /**
     * Sets the pipeline's durable identity: the id under which the sink records the source
     * positions of each commit. A restarted pipeline must use the same id to continue where it
     * stopped; a new id starts from the source's beginning, and two pipelines writing the same
     * target need different ids. The id does not change when the source or its streams do, so a
     * stream added to the source is read from its beginning while the others resume.
     *
     * <p>A source may derive the id it records under from this one ({@link
     * Source#pipelineId(String)}): a sharded source appends its shard, so that N instances
     * configured with the same id each record their own positions. {@link Pipeline#id()} returns
     * the derived id.
     *
     * <p>Required when the sink keeps positions ({@link Sink#keepsPositions()}, true for every
     * sink that resumes, such as the Iceberg sink). There is no default: an id derived from the
     * source would change with it and silently re-ingest everything.
     *
     * @throws IllegalArgumentException if {@code id} is blank or longer than 200 characters
     * @throws IllegalStateException if the id was set before
     */
    public Builder id(String id) {
      Objects.requireNonNull(id, "id");
      if (id.isBlank() || id.length() > 200) {
        throw new IllegalArgumentException(
            "Cannot set pipeline id '" + id + "': it must be 1 to 200 characters, not blank");
      }
      if (this.id != null) {
        throw new IllegalStateException(
            "Cannot set pipeline id to '" + id + "': already set to '" + this.id + "'");
      }
      this.id = id;
      return this;
    }

    /**
     * Sets when the pipeline commits. Defaults to {@link BatchPolicy#defaults()}.
     *
     * @throws IllegalStateException if the policy was set before
     */
    public Builder batch(BatchPolicy policy) {
      Objects.requireNonNull(policy, "policy");
      if (this.batchPolicy != null) {
        throw new IllegalStateException(
            "Cannot set batch policy to " + policy + ": already set to " + this.batchPolicy);
      }
      this.batchPolicy = policy;
      return this;
    }

    /**
     * Sets how many bytes of Arrow data may be held between the source and the sink: batches
     * waiting for the writer, the one being written, and written batches whose buffers the sink
     * still references (a sink that encodes on threads of its own, such as the Iceberg sink with
     * several encoder threads, reports them through {@link io.crest.spi.SinkWriter#heldBytes()}).
     * A source faster than the sink blocks once this is reached; the Arrow memory of its batches
     * then stays within the limit plus the batch each of its readers waits with. A single batch
     * larger than the limit is still accepted when nothing else is waiting or held. Defaults to
     * 64 MiB.
     *
     * @throws IllegalArgumentException if {@code limit} is below 1 KiB
     * @throws IllegalStateException if the limit was set before
     */
    public Builder bufferLimit(DataSize limit) {
      Objects.requireNonNull(limit, "limit");
      if (limit.toBytes() < 1024) {
        throw new IllegalArgumentException(
            "Cannot set buffer limit to " + limit + ": it must be at least 1 KiB");
      }
      if (this.bufferLimit != null) {
        throw new IllegalStateException(
            "Cannot set buffer limit to " + limit + ": already set to " + this.bufferLimit);
      }
      this.bufferLimit = limit;
      return this;
    }

    /**
     * Sends batches that the sink rejects as invalid (a {@link
     * io.crest.errors.ValidationException} from writing: a schema clash, a null in a required
     * column, an unsupported type) to Arrow IPC files in {@code directory} instead of stopping the
     * pipeline. Each file holds the batch's original rows, with the reason, stream, position and
     * pipeline id in its footer metadata ({@code crest.reason}, {@code crest.stream}, {@code
     * crest.position}, {@code crest.pipeline-id}); the file is durable before the pipeline moves
     * past the batch. Without this setting, such a batch stops the pipeline and nothing of it is
     * committed.
     *
     * @throws IllegalStateException if the directory was set before
     */
    public Builder deadLetter(Path directory) {
      Objects.requireNonNull(directory, "directory");
      if (this.deadLetter != null) {
        throw new IllegalStateException(
            "Cannot set dead-letter directory to " + directory + ": already set to "
                + this.deadLetter);
      }
      this.deadLetter = directory;
      return this;
    }

    /** Adds a listener; listeners are called in the order they were added. */
    public Builder listener(PipelineListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    /**
     * Completes the pipeline with its sink. The pipeline is built, not started. If this throws, no
     * pipeline took the source, and the caller still owns it.
     *
     * @throws IllegalArgumentException if the sink's name is blank
     * @throws IllegalStateException if no {@link #id} was set and the sink keeps positions ({@link
     *     Sink#keepsPositions()})
     */
    public Pipeline to(Sink sink) {
      Objects.requireNonNull(sink, "sink");
      String sinkName = sink.name();
      if (sinkName == null || sinkName.isBlank()) {
        throw new IllegalArgumentException(
            "Cannot build pipeline from " + source.name() + ": the sink has no name");
      }
      if (id == null && sink.keepsPositions()) {
        throw new IllegalStateException(
            "Cannot build pipeline from " + source.name() + " to " + sinkName + ": no id (call"
                + " .id(\"orders\") before .to(...); the id is the durable identity under which"
                + " the sink records its positions, so a restart with the same id resumes)");
      }
      // A sink that keeps no positions resumes nothing: the id only names the run.
      String pipelineId = id != null
          ? derivedId(sinkName)
          : "crest-" + UUID.randomUUID().toString().replace("-", "").substring(16);
      return new PipelineRunner(
          pipelineId,
          source,
          sink,
          batchPolicy != null ? batchPolicy : BatchPolicy.defaults(),
          bufferLimit != null ? bufferLimit : DEFAULT_BUFFER_LIMIT,
          List.copyOf(listeners),
          deadLetter);
    }

    private String derivedId(String sinkName) {
      String derived = source.pipelineId(id);
      if (derived == null || derived.isBlank() || derived.length() > 200) {
        throw new IllegalArgumentException(
            "Cannot build pipeline " + id + " from " + source.name() + " to " + sinkName
                + ": the source derived the pipeline id '" + derived + "' from it, which is not"
                + " 1 to 200 characters (use a shorter id)");
      }
      return derived;
    }
  }
}
