package io.crest.writer.internal;

import io.crest.writer.ParquetCodec;

/** The validated settings of a Parquet writer. Immutable. */
public final class Settings {
  final long targetFileBytes;
  final long rowGroupBytes;
  final long pageBytes;
  final int pageRowLimit;
  final long dictionaryBytes;
  final ParquetCodec codec;
  final int level;
  final String target;

  /**
   * Settings as the builder validated them.
   *
   * @param dictionaryBytes the most bytes a column's dictionary may hold; 0 disables dictionaries
   * @param level the codec's level, or {@link Integer#MIN_VALUE} for its default
   * @param target what the files are for, named in errors (for example a table name)
   */
  public Settings(long targetFileBytes, long rowGroupBytes, long pageBytes, int pageRowLimit,
      long dictionaryBytes, ParquetCodec codec, int level, String target) {
    this.targetFileBytes = targetFileBytes;
    this.rowGroupBytes = rowGroupBytes;
    this.pageBytes = pageBytes;
    this.pageRowLimit = pageRowLimit;
    this.dictionaryBytes = dictionaryBytes;
    this.codec = codec;
    this.level = level;
    this.target = target;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Settings)) {
      return false;
    }
    Settings s = (Settings) o;
    return targetFileBytes == s.targetFileBytes && rowGroupBytes == s.rowGroupBytes
        && pageBytes == s.pageBytes && pageRowLimit == s.pageRowLimit
        && dictionaryBytes == s.dictionaryBytes && codec == s.codec && level == s.level
        && target.equals(s.target);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(targetFileBytes, rowGroupBytes, pageBytes, pageRowLimit,
        dictionaryBytes, codec, level, target);
  }
}
