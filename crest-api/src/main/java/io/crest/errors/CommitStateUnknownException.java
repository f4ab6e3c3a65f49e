package io.crest.errors;

/**
 * A commit may or may not have happened, and looking for its commit id in the target did not
 * settle it. Its files must not be deleted: they may be part of the table. A restarted pipeline
 * reads the target's state and continues from whatever was really committed.
 */
public class CommitStateUnknownException extends CrestException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public CommitStateUnknownException(String message, Throwable cause) {
    super(message, cause);
  }
}
