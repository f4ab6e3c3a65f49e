package io.crest.spi;

import java.util.Objects;

/**
 * What a sink reports of a successful commit. Immutable and thread-safe.
 */
public final class CommitResult {
  private final String reference;
  private final int conflicts;
  private final int retries;

  private CommitResult(String reference, int conflicts, int retries) {
    this.reference = reference;
    this.conflicts = conflicts;
    this.retries = retries;
  }

  /**
   * Returns a result that points at what the commit made, for example an Iceberg snapshot id.
   */
  public static CommitResult of(String reference) {
    return of(reference, 0, 0);
  }

  /**
   * Returns a result that points at what the commit made and says how contended it was.
   *
   * @param conflicts how many times the commit had to be applied again to a newer state of the
   *     target because another writer committed first (by the sink's own retries or the target
   *     library's)
   * @param retries how many attempts the sink made after its first one (conflicts that outlasted
   *     the target library's retries, unknown outcomes, failed reads)
   * @throws IllegalArgumentException if a count is negative
   */
  public static CommitResult of(String reference, int conflicts, int retries) {
    Objects.requireNonNull(reference, "reference");
    if (conflicts < 0 || retries < 0) {
      throw new IllegalArgumentException("Cannot report commit " + reference + " with "
          + conflicts + " conflicts and " + retries + " retries: counts must be 0 or more");
    }
    return new CommitResult(reference, conflicts, retries);
  }

  /** How many times the commit was applied again because another writer committed first. */
  public int conflicts() {
    return conflicts;
  }

  /** How many attempts the sink made after the first. */
  public int retries() {
    return retries;
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
