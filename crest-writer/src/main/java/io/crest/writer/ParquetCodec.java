package io.crest.writer;

import java.util.Locale;

/** The Parquet compression codecs the columnar writer supports. */
public enum ParquetCodec {
  UNCOMPRESSED,
  SNAPPY,
  GZIP,
  ZSTD,
  LZ4_RAW;

  /**
   * The codec named {@code name} as Iceberg's {@code write.parquet.compression-codec} spells it
   * (case-insensitive; {@code none} means uncompressed).
   *
   * @throws IllegalArgumentException if the codec is not supported, naming the supported ones
   */
  public static ParquetCodec fromName(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    switch (n) {
      case "uncompressed":
      case "none":
        return UNCOMPRESSED;
      case "snappy":
        return SNAPPY;
      case "gzip":
        return GZIP;
      case "zstd":
        return ZSTD;
      case "lz4_raw":
        return LZ4_RAW;
      default:
        throw new IllegalArgumentException("Cannot use Parquet compression codec '" + name
            + "': not supported by Crest's columnar writer (use uncompressed, snappy, gzip, zstd"
            + " or lz4_raw)");
    }
  }
}
