package io.crest.spi;

import java.util.Map;

/**
 * What a running pipeline offers its source: resume positions and the hand-off for batches.
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
