package io.crest.writer.internal;

import com.github.luben.zstd.Zstd;
import io.airlift.compress.lz4.Lz4Compressor;
import io.crest.writer.ParquetCodec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import org.apache.parquet.format.CompressionCodec;
import org.xerial.snappy.Snappy;

/** Compresses Parquet pages with one codec, reusing its state. Not thread-safe; close it. */
final class PageCompressor implements AutoCloseable {
  private final ParquetCodec codec;
  private final int level;
  private Lz4Compressor lz4;
  private Deflater deflater;
  private final CRC32 crc = new CRC32();

  PageCompressor(ParquetCodec codec, int level) {
    this.codec = codec;
    this.level = level;
  }

  CompressionCodec thriftCodec() {
    switch (codec) {
      case SNAPPY:
        return CompressionCodec.SNAPPY;
      case GZIP:
        return CompressionCodec.GZIP;
      case ZSTD:
        return CompressionCodec.ZSTD;
      case LZ4_RAW:
        return CompressionCodec.LZ4_RAW;
      default:
        return CompressionCodec.UNCOMPRESSED;
    }
  }

  /**
   * Compresses {@code in} into {@code out} (reset first) and returns whether it did; for
   * uncompressed, returns false and leaves {@code out} alone: write {@code in} itself.
   */
  boolean compress(Buf in, Buf out) {
    out.reset();
    try {
      switch (codec) {
        case SNAPPY:
          out.ensure(Snappy.maxCompressedLength(in.size));
          out.size = Snappy.compress(in.data, 0, in.size, out.data, 0);
          return true;
        case ZSTD:
          {
            int bound = (int) Zstd.compressBound(in.size);
            out.ensure(bound);
            long n = Zstd.compressByteArray(out.data, 0, bound, in.data, 0, in.size, level);
            if (Zstd.isError(n)) {
              throw new IllegalStateException(
                  "Cannot compress a Parquet page with zstd: " + Zstd.getErrorName(n));
            }
            out.size = (int) n;
            return true;
          }
        case LZ4_RAW:
          if (lz4 == null) {
            lz4 = new Lz4Compressor();
          }
          out.ensure(lz4.maxCompressedLength(in.size));
          out.size = lz4.compress(in.data, 0, in.size, out.data, 0, out.data.length);
          return true;
        case GZIP:
          gzip(in, out);
          return true;
        default:
          return false;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot compress a Parquet page with " + codec + ": " + e.getMessage(), e);
    }
  }

  private void gzip(Buf in, Buf out) {
    if (deflater == null) {
      deflater = new Deflater(level == Integer.MIN_VALUE ? Deflater.DEFAULT_COMPRESSION : level,
          true);
    }
    deflater.reset();
    // RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, unknown OS.
    out.write(new byte[] {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff}, 0, 10);
    deflater.setInput(in.data, 0, in.size);
    deflater.finish();
    while (!deflater.finished()) {
      out.ensure(Math.max(64, in.size / 2));
      out.size += deflater.deflate(out.data, out.size, out.data.length - out.size);
    }
    crc.reset();
    crc.update(in.data, 0, in.size);
    out.putIntLe((int) crc.getValue());
    out.putIntLe(in.size);
  }

  @Override
  public void close() {
    if (deflater != null) {
      deflater.end();
      deflater = null;
    }
  }
}
