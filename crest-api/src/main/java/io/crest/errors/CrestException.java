package io.crest.errors;

/**
 * The root of Crest's exceptions. Each subtype tells the caller what to do next; catch the
 * subtypes, not this one, where the action differs.
 */
public class CrestException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message of the form {@code Cannot <verb> <object>: <reason>}. */
  public CrestException(String message) {
    super(message);
  }

  /** Creates an exception with a message and the failure that caused it. */
  public CrestException(String message, Throwable cause) {
    super(message, cause);
  }
}
