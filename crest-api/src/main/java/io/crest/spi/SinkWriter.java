package io.crest.spi;

import java.util.Map;

/**
 * One pipeline run's connection to a sink, with a two-phase contract: write batches into open
 * files, then commit the closed files atomically together with the source positions they cover.
 *
 * <p>Lifecycle and threads:
 *
 * <ol>
 *   <li>{@link #restoredState()} once, right after {@link Sink#open}.
 *   <li>On the pipeline's writer thread: {@link #write} for each batch, and {@link #prepareCommit}
 *       when the batch policy says to commit. Never concurrently with each other.
 *   <li>On the pipeline's committer thread: {@link #commit} for each prepared committable, one at a
 *       time and in the order they were prepared, possibly while the writer thread writes the next
 *       batches; or {@link #abort} for a committable that will not be committed.
 *   <li>{@link #close} once, after both threads are done. It discards files that were written but
 *       never prepared.
 * </ol>
 *
 * <p>Implementations must make {@link #commit} idempotent for a restarted pipeline: what a commit
 * records is read back by {@link #restoredState()} so no row is written twice.
 */
public interface SinkWriter extends AutoCloseable {

  /**
   * What this pipeline last committed to the target (empty when it never did), so the source can
   * resume after it.
   */
  CommittedState restoredState();

  /**
   * The last committed state of every pipeline whose id starts with {@code pipelineIdPrefix}
   * (this writer's own pipeline included), newest commit first, read from the target now. States
   * whose order the target no longer knows (for example commits whose history expired) come last.
   * May be called from any thread, concurrently with the other methods; it changes nothing. The
   * default throws: a sink that keeps no positions, or cannot list them, offers none.
   *
   * @throws UnsupportedOperationException if the sink cannot list other pipelines' states
   * @throws io.crest.errors.CrestException if the target cannot be read
   */
  default Map<String, CommittedState> committedStates(String pipelineIdPrefix) {
    throw new UnsupportedOperationException(
        "Cannot read the committed states of pipelines " + pipelineIdPrefix + "*: this sink does"
            + " not list other pipelines' states");
  }

  /**
   * Writes a batch into the sink's open files. The caller owns the batch and closes it after this
   * returns: the writer never keeps the batch or its root or vectors. A writer that encodes on
   * threads of its own may keep retained references to the vectors' buffers (zero-copy) until
   * its next {@link #prepareCommit} or its {@link #close} returns; the pipeline closes the writer
   * before the source whose allocator those buffers came from. {@link SourceBatch} states the
   * same contract. Such a writer reports those bytes in {@link #heldBytes()}, so that the
   * pipeline's buffer limit covers them.
   *
   * @throws io.crest.errors.ValidationException if the batch does not fit the target (schema,
   *     nullability, types); nothing of the batch is committed
   */
  void write(SourceBatch batch);

  /**
   * The bytes (as {@link SourceBatch#sizeInBytes()} counts them) of batches given to {@link
   * #write} that this writer still references after {@code write} returned, for example on
   * encoder threads of its own; 0 once it let go of them all, and after {@link #close}. The
   * pipeline counts them against its buffer limit, so a source waits while they fill it. The
   * default is 0, for writers that keep nothing of a batch once {@code write} returns.
   *
   * <p>Thread-safe and cheap: called from the source's reader threads, concurrently with every
   * other method. Never negative.
   */
  default long heldBytes() {
    return 0;
  }

  /**
   * Registers {@code listener}, to be run each time {@link #heldBytes()} went down, after it did,
   * so that sources waiting for buffer room wake. Called at most once, before the first {@link
   * #write}. The listener is quick, does not throw and may be run on any thread, including the
   * writer's own. The default ignores it: a writer whose {@link #heldBytes()} is always 0 never
   * needs to run it.
   */
  default void onHeldBytesReleased(Runnable listener) {}

  /**
   * Checks, without writing or changing anything, whether batches of {@code schema} could be
   * written (under the sink's schema evolution policy, for sinks that have one). Unlike the other
   * methods it may be called from any thread, concurrently with {@link #write}. The default
   * accepts every schema.
   *
   * @throws io.crest.errors.ValidationException if such batches would be rejected
   */
  default void checkSchema(org.apache.arrow.vector.types.pojo.Schema schema) {}

  /**
   * Closes every file written since the last call and returns them, with {@code positions}, as
   * one unit to commit.
   *
   * <p>Called when rows were written <em>or</em> positions moved since the last call (a batch
   * went to the dead-letter directory, an empty batch moved its stream on, the source forgot a
   * stream): a position that moved must be committed even without rows, or a restart reads the
   * dead-lettered batch again. When no file was written since the last call, the writer returns
   * a committable without files ({@code fileCount() == 0}, {@code rowCount() == 0}) whose commit
   * only records {@code positions}. Only a sink that keeps no positions (whose {@link
   * #restoredState()} is always empty) may return {@code null} then, meaning nothing to commit.
   *
   * @param positions every stream's position after the last batch written, the full state of the
   *     pipeline (not only the streams that sent data since the last commit)
   */
  Committable prepareCommit(Map<String, SourcePosition> positions);

  /**
   * Commits {@code committable} atomically: after this returns, its rows are visible to readers of
   * the target and its positions are what {@link #restoredState()} of a later run returns.
   *
   * @throws io.crest.errors.CrestException if the commit failed or its outcome is unknown; the
   *     exception type says which
   */
  CommitResult commit(Committable committable);

  /**
   * Discards a prepared committable that will never be committed, deleting its files where that
   * is safe.
   */
  void abort(Committable committable);

  /** Releases the writer's resources and discards unprepared files. Safe to call twice. */
  @Override
  void close();
}
