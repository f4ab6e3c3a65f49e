package io.crest;

/**
 * Hooks a pipeline calls as it runs, for progress reporting and monitoring.
 *
 * <p>Calls come from the pipeline's own threads: {@link #onCommit} from the committer thread, in
 * commit order; {@link #onFailure} from whichever thread saw the failure. Keep them quick. A
 * listener that throws is logged and otherwise ignored: it cannot fail or corrupt a commit.
 */
public interface PipelineListener {

  /** Called after each successful commit. */
  default void onCommit(CommitEvent event) {}

  /**
   * Called on the writer thread after a rejected batch was written to the dead-letter directory
   * (see {@link Pipeline.Builder#deadLetter}).
   */
  default void onDeadLetter(DeadLetterEvent event) {}

  /** Called once when the pipeline fails, with the failure it will report. */
  default void onFailure(Throwable error) {}
}
