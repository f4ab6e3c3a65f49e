package io.crest.errors;

/**
 * Another copy of the same pipeline id committed to the target after this copy read its state, so
 * this copy's commit was refused instead of duplicating data. The refused commit definitely did not
 * happen and its files are deleted. Stop this copy: only one copy of a pipeline id may run; a
 * restart resumes from what the other copy committed.
 */
public class PipelineFencedException extends CommitFailedException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public PipelineFencedException(String message, Throwable cause) {
    super(message, cause);
  }
}
