package io.crest.spi;

import java.util.List;
import java.util.Objects;

/**
 * A file that a {@link FileWriter} finished: where it is, its format, rows, size, the offsets where
 * a reader may split it, and per-column stats. Immutable and thread-safe.
 */
public final class WrittenFile {
  private final String location;
  private final String format;
  private final long rowCount;
  private final long sizeInBytes;
  private final List<Long> splitOffsets;
  private final List<ColumnStats> columns;

  private WrittenFile(
      String location,
      String format,
      long rowCount,
      long sizeInBytes,
      List<Long> splitOffsets,
      List<ColumnStats> columns) {
    this.location = location;
    this.format = format;
    this.rowCount = rowCount;
    this.sizeInBytes = sizeInBytes;
    this.splitOffsets = splitOffsets;
    this.columns = columns;
  }

  /**
   * Describes a finished file.
   *
   * @param location where the file is ({@link FileOutput#location()})
   * @param format the format's lower-case name: {@code parquet} or {@code arrow}
   * @param splitOffsets byte offsets of the file's independently readable parts (Parquet row
   *     groups), ascending; empty when the format has none
   * @param columns stats of every leaf column, in schema order; empty when the format keeps none
   * @throws IllegalArgumentException if a count or size is negative
   */
  public static WrittenFile of(
      String location,
      String format,
      long rowCount,
      long sizeInBytes,
      List<Long> splitOffsets,
      List<ColumnStats> columns) {
    Objects.requireNonNull(location, "location");
    Objects.requireNonNull(format, "format");
    if (rowCount < 0 || sizeInBytes < 0) {
      throw new IllegalArgumentException("Cannot describe file " + location + ": rows " + rowCount
          + " and size " + sizeInBytes + " must not be negative");
    }
    return new WrittenFile(location, format, rowCount, sizeInBytes, List.copyOf(splitOffsets),
        List.copyOf(columns));
  }

  /** Where the file is. */
  public String location() {
    return location;
  }

  /** The format's lower-case name: {@code parquet} or {@code arrow}. */
  public String format() {
    return format;
  }

  /** Rows in the file. */
  public long rowCount() {
    return rowCount;
  }

  /** The file's length in bytes. */
  public long sizeInBytes() {
    return sizeInBytes;
  }

  /** Offsets where readers may split the file, ascending. Immutable. */
  public List<Long> splitOffsets() {
    return splitOffsets;
  }

  /** Stats of every leaf column in schema order. Immutable. */
  public List<ColumnStats> columns() {
    return columns;
  }

  @Override
  public String toString() {
    return "WrittenFile[" + location + ", " + format + ", rows=" + rowCount + ", bytes="
        + sizeInBytes + "]";
  }
}
