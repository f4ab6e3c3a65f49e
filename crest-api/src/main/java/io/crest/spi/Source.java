package io.crest.spi;

/**
 * Where a pipeline's data comes from: one or more streams of Arrow batches, each with a resumable
 * position.
 *
 * <p>Lifecycle, driven by the pipeline that owns the source:
 *
 * <ol>
 *   <li>{@link #start} once, with the positions to resume from; the source starts its own reader
 *       threads and returns.
 *   <li>The readers call {@link SourceContext#emit} for each batch (blocking while the pipeline's
 *       buffer is full), {@link SourceContext#forget} for streams whose positions no restart will
 *       need, {@link SourceContext#complete} when no stream will ever produce more, or {@link
 *       SourceContext#fail} when they cannot go on.
 *   <li>{@link #close} once, after every batch the source emitted has been closed by the
 *       pipeline: it stops the readers, waits for them and releases connections and allocators.
 * </ol>
 *
 * <p>Positions: every commit records the position of every stream the pipeline has seen (from
 * its batches or the restored state) and not been told to {@link SourceContext#forget}. A source
 * whose set of streams changes over time forgets the streams that ended for good, so the
 * committed state stays as large as what a restart needs; see {@link SourceContext#forget} for
 * the rule.
 *
 * <p>A pipeline owns its source and closes it; a source belongs to one pipeline run. {@link
 * #start} and {@link #close} are called from the pipeline's control thread; the source's readers
 * may call the context from any thread.
 */
public interface Source extends AutoCloseable {

  /**
   * A short, stable description of what the source reads, used in logs, errors and the default
   * pipeline id (for example the list of its streams).
   */
  String name();

  /**
   * The id the pipeline records its commits under, given the id set with {@code
   * Pipeline.Builder#id}. A source that is one of several instances sharing one configured id (a
   * shard of a larger source) returns an id of its own derived from it, so that each instance
   * keeps its own positions and its own fence, and {@code Pipeline#id()} reports it; the default
   * returns {@code configuredId} unchanged.
   *
   * <p>Called once, when the pipeline is built. The result must be stable across restarts with the
   * same configuration, non-blank and at most 200 characters.
   */
  default String pipelineId(String configuredId) {
    return configuredId;
  }

  /**
   * Identifies the lineage of the data the source reads, when the source can tell: an id that
   * changes when the source is reset (a view recreated, a log truncated), so that positions
   * recorded against the old data are not applied to the new. The pipeline records it with every
   * commit and refuses to resume from positions recorded under a different id. Empty (the default)
   * means the source cannot tell, and no check is made.
   *
   * <p>Called once, before {@link #start}.
   */
  default java.util.Optional<String> instanceId() {
    return java.util.Optional.empty();
  }

  /**
   * Starts reading. Each stream resumes after the position that {@link
   * SourceContext#resumePositions()} holds for it, or from its beginning when it has none.
   *
   * @throws IllegalStateException if the source was started before
   * @throws io.crest.errors.SourceException if the source cannot start
   */
  void start(SourceContext context);

  /**
   * Tells the source that a commit made these positions durable in the sink: every stream's
   * position after the commit. A source that acknowledges data to its producers (or trims a log)
   * does it here; others ignore it.
   *
   * <p>Called on the pipeline's committer thread, in commit order, after the commit succeeded and
   * before the next one starts; keep it quick. An exception is logged and otherwise ignored: the
   * commit stands.
   */
  default void committed(java.util.Map<String, SourcePosition> positions) {}

  /**
   * Tells the source that the sink rejected a batch and the pipeline wrote it, durably, to its
   * dead-letter directory instead ({@code Pipeline.Builder#deadLetter}): the batch will never be
   * in the sink, but it is not lost either. A source that acknowledges data to its producers
   * acknowledges this batch here (in stream order after the batches before it), since no commit
   * will cover it on its own; others ignore it.
   *
   * <p>Called on the pipeline's writer thread once the file is forced to disk and has its final
   * name, possibly while {@link #committed} runs on the committer thread; keep it quick. A later
   * commit's positions include the batch's position as usual. An exception is logged and
   * otherwise ignored.
   *
   * @param event the stream, the position after the batch, the file and the reason
   */
  default void deadLettered(io.crest.DeadLetterEvent event) {}

  /**
   * Tells the source that the pipeline failed and will commit nothing more in this run: every
   * batch that no {@link #committed} call covered so far (and that was not {@link #deadLettered})
   * is not durable, and will not become so before the pipeline is restarted. A source whose
   * producers wait for acknowledgements tells them now, so they re-send promptly instead of
   * waiting until the pipeline is closed.
   *
   * <p>Called at most once, on the pipeline's committer thread after the last {@link #committed}
   * call of the run, as soon as the failure is known; the pipeline still closes the source later,
   * when its owner stops it. Not called when the pipeline stops without failing. An exception is
   * logged and otherwise ignored.
   *
   * @param failure the pipeline's failure, as {@code Pipeline#failure} reports it
   */
  default void pipelineFailed(Throwable failure) {}

  /**
   * Stops the readers, waits for them to end and releases every resource. Safe to call more than
   * once, and before {@link #start}.
   */
  @Override
  void close();
}
