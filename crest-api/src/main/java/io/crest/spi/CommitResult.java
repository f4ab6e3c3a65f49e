package io.crest.spi;

import java.util.Objects;

/**
 * What a sink reports of a successful commit. Immutable and thread-safe.
 */
public final class CommitResult {
  private final String reference;

  private CommitResult(String reference) {
    this.reference = reference;
  }

  /**
   * Returns a result that points at what the commit made, for example an Iceberg snapshot id.
   */
  public static CommitResult of(String reference) {
    return new CommitResult(Objects.requireNonNull(reference, "reference"));
  }

  /** What the commit made in the target, for example {@code snapshot 8135266021425432201}. */
  public String reference() {
    return reference;
  }

  @Override
  public String toString() {
    return reference;
  }
}
