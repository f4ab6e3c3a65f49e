package io.crest;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A non-negative amount of bytes, such as a buffer budget or a flush threshold.
 *
 * <p>Immutable and thread-safe. Units are binary: one KiB is 1024 bytes.
 */
public final class DataSize implements Comparable<DataSize> {
  private static final Pattern TEXT =
      Pattern.compile("\\s*(\\d+)\\s*(B|KB|KIB|K|MB|MIB|M|GB|GIB|G)?\\s*", Pattern.CASE_INSENSITIVE);
  private static final long KIB = 1024L;
  private static final long MIB = KIB * 1024;
  private static final long GIB = MIB * 1024;

  private final long bytes;

  private DataSize(long bytes) {
    if (bytes < 0) {
      throw new IllegalArgumentException("Cannot create DataSize: negative size " + bytes);
    }
    this.bytes = bytes;
  }

  /**
   * Returns a size of {@code bytes} bytes.
   *
   * @throws IllegalArgumentException if {@code bytes} is negative
   */
  public static DataSize bytes(long bytes) {
    return new DataSize(bytes);
  }

  /**
   * Returns a size of {@code kib} kibibytes.
   *
   * @throws IllegalArgumentException if {@code kib} is negative or overflows
   */
  public static DataSize kib(long kib) {
    return new DataSize(multiply(kib, KIB));
  }

  /**
   * Returns a size of {@code mib} mebibytes.
   *
   * @throws IllegalArgumentException if {@code mib} is negative or overflows
   */
  public static DataSize mib(long mib) {
    return new DataSize(multiply(mib, MIB));
  }

  /**
   * Returns a size of {@code gib} gibibytes.
   *
   * @throws IllegalArgumentException if {@code gib} is negative or overflows
   */
  public static DataSize gib(long gib) {
    return new DataSize(multiply(gib, GIB));
  }

  /**
   * Parses text such as {@code 512}, {@code 64KiB}, {@code 64 MB} or {@code 2g}. Every unit is
   * binary (K, KB and KiB all mean 1024 bytes).
   *
   * @throws IllegalArgumentException if the text is not a size
   */
  public static DataSize parse(String text) {
    Objects.requireNonNull(text, "text");
    Matcher m = TEXT.matcher(text);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "Cannot parse data size '" + text + "' (expected a whole number with B, KiB, MiB or GiB)");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Cannot parse data size '" + text + "': too large", e);
    }
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    switch (unit.charAt(0)) {
      case 'K':
        return kib(n);
      case 'M':
        return mib(n);
      case 'G':
        return gib(n);
      default:
        return bytes(n);
    }
  }

  private static long multiply(long value, long unit) {
    if (value < 0) {
      throw new IllegalArgumentException("Cannot create DataSize: negative size " + value);
    }
    try {
      return Math.multiplyExact(value, unit);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("Cannot create DataSize: " + value + " x " + unit + " overflows", e);
    }
  }

  /** The size in bytes. */
  public long toBytes() {
    return bytes;
  }

  @Override
  public int compareTo(DataSize other) {
    return Long.compare(bytes, other.bytes);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DataSize && ((DataSize) o).bytes == bytes;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(bytes);
  }

  /** A readable form, such as {@code 64 MiB} or {@code 1000 B}, that {@link #parse} accepts. */
  @Override
  public String toString() {
    if (bytes != 0 && bytes % GIB == 0) {
      return bytes / GIB + " GiB";
    } else if (bytes != 0 && bytes % MIB == 0) {
      return bytes / MIB + " MiB";
    } else if (bytes != 0 && bytes % KIB == 0) {
      return bytes / KIB + " KiB";
    }
    return bytes + " B";
  }
}
