package io.crest.errors;

import java.util.Optional;

/**
 * A source could not read a stream: the server is unreachable, refused the request, or the stream
 * broke. Carries the stream and, for Flight sources, the Flight status code so the caller can tell
 * an outage (retry later) from a refusal (fix the configuration).
 */
public class SourceException extends CrestException {
  private static final long serialVersionUID = 1L;

  private final String stream;
  private final String status;

  /**
   * Creates the exception.
   *
   * @param stream the stream that failed, or {@code null} when it concerns the whole source
   * @param status the protocol status (for example a Flight status code name), or {@code null}
   */
  public SourceException(String message, String stream, String status, Throwable cause) {
    super(message, cause);
    this.stream = stream;
    this.status = status;
  }

  /** The stream that failed, when the failure concerns one stream. */
  public Optional<String> stream() {
    return Optional.ofNullable(stream);
  }

  /** The protocol status of the failure, such as {@code UNAVAILABLE}, when the source knows it. */
  public Optional<String> status() {
    return Optional.ofNullable(status);
  }
}
