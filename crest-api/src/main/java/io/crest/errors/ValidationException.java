package io.crest.errors;

/**
 * Input or configuration that cannot be accepted as it is: a batch whose schema does not fit the
 * table, an Arrow type without an Iceberg equivalent, a null in a required column. Retrying the
 * same input fails the same way; nothing of it was committed. The message names the table, column
 * and value at fault.
 */
public class ValidationException extends CrestException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public ValidationException(String message) {
    super(message);
  }

  /** Creates the exception with the failure that revealed the problem. */
  public ValidationException(String message, Throwable cause) {
    super(message, cause);
  }
}
