package io.crest.spi;

import java.util.Collection;
import java.util.Map;

/**
 * What a running pipeline offers its source: resume positions, the hand-off for batches and the
 * way to drop positions no restart needs ({@link #forget}).
 *
 * <p>Thread-safe: every reader thread of a source may call it concurrently.
 */
public interface SourceContext {

  /** The id of the pipeline that reads the source. */
  String pipelineId();

  /**
   * The position to resume each stream from, by stream id, as recorded by the pipeline's last
   * commit. A stream without an entry starts from its beginning. Immutable.
   */
  Map<String, SourcePosition> resumePositions();

  /**
   * The last committed state of every pipeline whose id starts with {@code pipelineIdPrefix}, this
   * pipeline's own included, newest commit first, as the sink holds it now. For a source shared
   * out among several pipelines (shards) that hands streams from one to another when their number
   * changes: a stream's newest position may then be under another pipeline's id. Reads the sink
   * on every call; call it before reading, not per batch.
   *
   * @throws UnsupportedOperationException if the sink cannot list other pipelines' states
   * @throws io.crest.errors.CrestException if the sink cannot be read
   */
  default Map<String, CommittedState> committedStates(String pipelineIdPrefix) {
    throw new UnsupportedOperationException(
        "Cannot read the committed states of pipelines " + pipelineIdPrefix + "*: this pipeline's"
            + " context does not offer them");
  }

  /**
   * Hands a batch to the pipeline, blocking while the pipeline's buffer is full (back-pressure).
   *
   * <p>The pipeline owns the batch from the moment of the call, whatever the outcome: the caller
   * never closes it. Batches of one stream must be emitted in stream order, from one thread at a
   * time.
   *
   * @return {@code true} if the batch was accepted; {@code false} if the pipeline is stopping, in
   *     which case the batch was released and the reader should stop reading
   * @throws InterruptedException if the calling thread was interrupted while waiting
   */
  boolean emit(SourceBatch batch) throws InterruptedException;

  /**
   * Tells the pipeline that a restart will never need the positions of {@code streams} again, so
   * its commits stop recording them. Without it a stream's position is kept in every commit for
   * ever (from its first batch, or from the restored state), so a source whose streams come and
   * go (discovered endpoints, per-producer streams) must forget the ones that ended for good, or
   * the committed state grows without bound.
   *
   * <p>The rule: forget a stream once no restart will read it again whatever its position, for
   * example because the server no longer lists it or because its end is final and recorded
   * elsewhere. Keep the position of a stream a restart may still read (a replayed stream that may
   * grow, a still-listed endpoint): without a position it would be read from its beginning and its
   * rows written twice. Conversely, a forgotten stream that comes back is read from its
   * beginning.
   *
   * <p>The call is ordered with {@link #emit}: it takes effect after every batch emitted before it
   * (of any stream), so the stream's last batch is still covered by a commit, and commits
   * prepared after it no longer carry the streams; the pipeline commits the change even if no
   * rows follow (by the batch policy, at the latest when the source completes or the pipeline
   * stops). A batch of a forgotten stream emitted later starts a new position. Unknown stream ids
   * are ignored. The default does nothing (positions are kept), for contexts that keep none.
   */
  default void forget(Collection<String> streams) {}

  /**
   * Reports that no stream of the source will produce more data. Once every batch emitted before
   * is committed the pipeline is idle.
   */
  void complete();

  /**
   * Reports that the source cannot go on. The pipeline commits what it has already received, then
   * stops and reports {@code error} as its failure.
   */
  void fail(Throwable error);

  /**
   * Asks the sink whether batches of {@code schema} could be written, before any is emitted, so a
   * source that serves several producers can turn one away without stopping the pipeline. Checks
   * only; changes nothing. Safe to call from any thread.
   *
   * @throws io.crest.errors.ValidationException naming the table, columns and policy, if the sink
   *     would reject such batches
   */
  default void checkSchema(org.apache.arrow.vector.types.pojo.Schema schema) {}

  /** Whether the pipeline is stopping, so that readers can end without waiting to emit. */
  boolean isStopping();
}
