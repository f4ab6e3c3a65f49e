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
}
