package io.crest.spi;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.Optional;

/**
 * What a {@link FileWriter} measured about one leaf column of a written file: counts, sizes and
 * value bounds, enough for a table format to prune scans. Immutable and thread-safe.
 *
 * <p>Bounds are the smallest and largest non-null, non-NaN value in the encoding of the column's
 * stored type: little-endian 4 or 8 bytes for 32- or 64-bit integers, floats, dates, times and
 * timestamps; one byte 0 or 1 for booleans; the raw bytes for strings (UTF-8), binary and fixed
 * values (decimals stored as fixed are big-endian two's complement). Strings and binary are ordered
 * as unsigned bytes, decimals by value, floats with {@link Double#compare} (so -0.0 is less than
 * 0.0).
 */
public final class ColumnStats {
  private final int fieldId;
  private final String path;
  private final long valueCount;
  private final long nullCount;
  private final long nanCount;
  private final long sizeInBytes;
  private final ByteBuffer lowerBound;
  private final ByteBuffer upperBound;

  private ColumnStats(Builder b) {
    this.fieldId = b.fieldId;
    this.path = b.path;
    this.valueCount = b.valueCount;
    this.nullCount = b.nullCount;
    this.nanCount = b.nanCount;
    this.sizeInBytes = b.sizeInBytes;
    this.lowerBound = b.lowerBound == null ? null : b.lowerBound.asReadOnlyBuffer();
    this.upperBound = b.upperBound == null ? null : b.upperBound.asReadOnlyBuffer();
  }

  /**
   * Starts the stats of column {@code path}.
   *
   * @param fieldId the column's field id, or -1 when the schema has none
   * @param path the column's dotted path in the file schema, for example {@code tags.list.element}
   */
  public static Builder builder(int fieldId, String path) {
    return new Builder(fieldId, Objects.requireNonNull(path, "path"));
  }

  /** The column's field id, or -1 when the writer's schema gave it none. */
  public int fieldId() {
    return fieldId;
  }

  /** The column's dotted path in the file schema. */
  public String path() {
    return path;
  }

  /** Values in the column, nulls included (in a repeated column: per element or empty list). */
  public long valueCount() {
    return valueCount;
  }

  /** Null values in the column, including those implied by a null or empty parent. */
  public long nullCount() {
    return nullCount;
  }

  /** NaN values for a float or double column; -1 for other types. */
  public long nanCount() {
    return nanCount;
  }

  /** Bytes the column takes in the file, headers and compression included. */
  public long sizeInBytes() {
    return sizeInBytes;
  }

  /** The smallest value (encoded as the class comment says); empty when all are null or NaN. */
  public Optional<ByteBuffer> lowerBound() {
    return Optional.ofNullable(lowerBound).map(ByteBuffer::duplicate);
  }

  /** The largest value (see the class comment for the encoding), empty when all are null or NaN. */
  public Optional<ByteBuffer> upperBound() {
    return Optional.ofNullable(upperBound).map(ByteBuffer::duplicate);
  }

  @Override
  public String toString() {
    return "ColumnStats[" + path + " id=" + fieldId + ", values=" + valueCount + ", nulls="
        + nullCount + ", nans=" + nanCount + ", bytes=" + sizeInBytes + "]";
  }

  /** Collects one column's stats. Not thread-safe. */
  public static final class Builder {
    private final int fieldId;
    private final String path;
    private long valueCount;
    private long nullCount;
    private long nanCount = -1;
    private long sizeInBytes;
    private ByteBuffer lowerBound;
    private ByteBuffer upperBound;

    private Builder(int fieldId, String path) {
      this.fieldId = fieldId;
      this.path = path;
    }

    /** Sets the value, null and NaN counts (NaN -1 for non-float columns). */
    public Builder counts(long values, long nulls, long nans) {
      if (values < 0 || nulls < 0 || nulls > values) {
        throw new IllegalArgumentException("Cannot set counts of column " + path
            + ": values " + values + ", nulls " + nulls + " (need 0 <= nulls <= values)");
      }
      this.valueCount = values;
      this.nullCount = nulls;
      this.nanCount = nans;
      return this;
    }

    /** Sets the column's size in the file. */
    public Builder sizeInBytes(long bytes) {
      this.sizeInBytes = bytes;
      return this;
    }

    /** Sets both bounds (copied), or neither when either is null. */
    public Builder bounds(ByteBuffer lower, ByteBuffer upper) {
      if (lower == null || upper == null) {
        this.lowerBound = null;
        this.upperBound = null;
      } else {
        this.lowerBound = copy(lower);
        this.upperBound = copy(upper);
      }
      return this;
    }

    private static ByteBuffer copy(ByteBuffer b) {
      ByteBuffer c = ByteBuffer.allocate(b.remaining());
      c.put(b.duplicate()).flip();
      return c;
    }

    /** The immutable stats. */
    public ColumnStats build() {
      return new ColumnStats(this);
    }
  }
}
