package io.crest.errors;

/**
 * A commit definitely did not happen: none of its rows are visible and its files may be deleted.
 * The rows are still uncommitted, so a restarted pipeline reads them again from the last committed
 * positions.
 */
public class CommitFailedException extends CrestException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public CommitFailedException(String message, Throwable cause) {
    super(message, cause);
  }
}
