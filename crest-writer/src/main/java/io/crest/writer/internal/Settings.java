package io.crest.writer.internal;

import io.crest.writer.ParquetCodec;
import java.util.Map;

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
  /** False-positive probability of the bloom filter of each top-level column that has one. */
  final Map<String, Double> bloomFpp;
  final int bloomMaxBytes;

  /**
   * Settings as the builder validated them.
   *
   * @param dictionaryBytes the most bytes a column's dictionary may hold; 0 disables dictionaries
   * @param level the codec's level, or {@link Integer#MIN_VALUE} for its default
   * @param target what the files are for, named in errors (for example a table name)
   */
  public Settings(long targetFileBytes, long rowGroupBytes, long pageBytes, int pageRowLimit,
      long dictionaryBytes, ParquetCodec codec, int level, String target) {
    this(targetFileBytes, rowGroupBytes, pageBytes, pageRowLimit, dictionaryBytes, codec, level,
        target, Map.of(), SplitBlockBloom.MAX_BYTES);
  }

  /**
   * Settings as the builder validated them, with bloom filters.
   *
   * @param bloomFpp the top-level columns that get a bloom filter per row group, each with its
   *     false-positive probability (between 0 and 1, exclusive)
   * @param bloomMaxBytes the most bytes one column's filter of one row group may take (32 bytes
   *     to 128 MiB)
   */
  public Settings(long targetFileBytes, long rowGroupBytes, long pageBytes, int pageRowLimit,
      long dictionaryBytes, ParquetCodec codec, int level, String target,
      Map<String, Double> bloomFpp, int bloomMaxBytes) {
    this.bloomFpp = Map.copyOf(bloomFpp);
    this.bloomMaxBytes = bloomMaxBytes;
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
        && target.equals(s.target) && bloomFpp.equals(s.bloomFpp)
        && bloomMaxBytes == s.bloomMaxBytes;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(targetFileBytes, rowGroupBytes, pageBytes, pageRowLimit,
        dictionaryBytes, codec, level, target, bloomFpp, bloomMaxBytes);
  }
}
