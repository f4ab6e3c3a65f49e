package io.crest;

/**
 * Hooks a pipeline calls as it runs, for progress reporting and monitoring.
 *
 * <p>Calls come from the pipeline's own threads: {@link #onBatch} and {@link #onDeadLetter} from
 * the writer thread; {@link #onCommit} from the committer thread, in commit order; {@link
 * #onFailure} from whichever thread saw the failure (the writer or committer thread, or the thread
 * calling {@link Pipeline#start}). Keep them quick: the pipeline waits for them. A listener that
 * throws is logged and otherwise ignored: it cannot fail or corrupt a commit.
 *
 * <p>A callback may stop its pipeline ("stop after N rows", "stop on failure"): {@link
 * Pipeline#stop} called from a callback requests the orderly stop (flush, commit, close) and
 * returns at once; the pipeline stops after the callback returns, and {@link Pipeline#state()} or
 * {@link Pipeline#awaitIdle} on another thread observe it. A callback must not wait for its own
 * pipeline: {@link Pipeline#awaitIdle} called from one throws {@link IllegalStateException}.
 */
public interface PipelineListener {

  /**
   * Called on the writer thread after each batch was written into the sink's open files. Called
   * for every batch: keep it very quick.
   */
  default void onBatch(BatchEvent event) {}

  /** Called after each successful commit. */
  default void onCommit(CommitEvent event) {}

  /**
   * Called on the writer thread after a rejected batch was written to the dead-letter directory
   * (see {@link Pipeline.Builder#deadLetter}).
   */
  default void onDeadLetter(DeadLetterEvent event) {}

  /**
   * Called for a failure that does not stop the pipeline (a listener or source hook that threw, a
   * cleanup that failed), from the thread that saw it.
   *
   * @param kind what failed, such as {@code listener}, {@code source-hook} or {@code cleanup}
   */
  default void onError(String kind, Throwable error) {}

  /** Called once when the pipeline fails, with the failure it will report. */
  default void onFailure(Throwable error) {}
}
