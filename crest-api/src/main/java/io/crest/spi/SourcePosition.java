package io.crest.spi;

import java.util.Objects;

/**
 * Where a stream stands: the point <em>after</em> a batch, from which a restarted source resumes.
 *
 * <p>The value is opaque to the pipeline and meaningful only to the source that made it (a row
 * offset, a log sequence number, a server token). It is stored as text in the sink's commit
 * metadata, so it must be short and stable across versions of the source. Immutable and
 * thread-safe.
 */
public final class SourcePosition {
  private final String value;

  private SourcePosition(String value) {
    this.value = value;
  }

  /**
   * Returns the position with the given text.
   *
   * @throws IllegalArgumentException if {@code value} is empty
   */
  public static SourcePosition of(String value) {
    Objects.requireNonNull(value, "value");
    if (value.isEmpty()) {
      throw new IllegalArgumentException("Cannot create SourcePosition: empty value");
    }
    return new SourcePosition(value);
  }

  /**
   * Returns the position after the first {@code rows} rows of a stream, for sources that resume by
   * row offset.
   *
   * @throws IllegalArgumentException if {@code rows} is negative
   */
  public static SourcePosition ofOffset(long rows) {
    if (rows < 0) {
      throw new IllegalArgumentException("Cannot create SourcePosition: negative offset " + rows);
    }
    return new SourcePosition(Long.toString(rows));
  }

  /** The position's text. */
  public String value() {
    return value;
  }

  /**
   * Reads this position as a row offset, for positions made by {@link #ofOffset}.
   *
   * @throws IllegalArgumentException if the value is not a non-negative whole number
   */
  public long asOffset() {
    try {
      long rows = Long.parseLong(value);
      if (rows >= 0) {
        return rows;
      }
    } catch (NumberFormatException e) {
      // fall through to the error below
    }
    throw new IllegalArgumentException(
        "Cannot read source position '" + value + "' as a row offset (expected a whole number >= 0)");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SourcePosition && ((SourcePosition) o).value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return value;
  }
}
