package io.crest.writer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.apache.parquet.column.values.bloomfilter.BlockSplitBloomFilter;
import org.apache.parquet.column.values.bloomfilter.XxHash;
import org.apache.parquet.format.BloomFilterHeader;
import org.apache.parquet.format.Util;
import org.junit.jupiter.api.Test;

/**
 * Crest's XXH64 and split-block filter against parquet-java's: the same hashes, the same bits
 * for the same values, and a filter folded from the maximum size equal to one built at its size.
 */
class SplitBlockBloomTest {

  @Test
  void xxHash64_ofBytesIntsAndLongs_equalsParquetJavas() {
    assertThat(XxHash64.hash(new byte[0], 0, 0)).isEqualTo(0xEF46DB3751D8E999L);
    assertThat(XxHash64.hash("abc".getBytes(StandardCharsets.US_ASCII), 0, 3))
        .isEqualTo(0x44BC2CF5AD770999L);
    XxHash theirs = new XxHash();
    BlockSplitBloomFilter their = new BlockSplitBloomFilter(32);
    Random r = new Random(42);
    for (int len = 0; len < 200; len++) {
      byte[] a = new byte[len + 7];
      r.nextBytes(a);
      assertThat(XxHash64.hash(a, 3, len)).as("length %d", len)
          .isEqualTo(theirs.hashBytes(Arrays.copyOfRange(a, 3, 3 + len)));
    }
    for (int k = 0; k < 1000; k++) {
      int i = r.nextInt();
      long l = r.nextLong();
      assertThat(XxHash64.hashInt(i)).isEqualTo(their.hash(i));
      assertThat(XxHash64.hashLong(l)).isEqualTo(their.hash(l));
    }
  }

  @Test
  void filter_setsTheBitsParquetJavaSets_andIsSizedForItsDistinctValues() throws Exception {
    Random r = new Random(7);
    long[] hashes = new long[3000];
    SplitBlockBloom ours = new SplitBlockBloom(0.01, 1 << 20);
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = XxHash64.hashLong(r.nextLong());
      ours.add(hashes[i]);
      ours.add(hashes[i]); // repeats count once
    }
    byte[] serialized = ours.finish();

    java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(serialized);
    BloomFilterHeader header = Util.readBloomFilterHeader(in);
    // -8 * 3000 / ln(1 - 0.01^(1/8)) bits = 3,631 bytes, rounded up to a power of two
    assertThat(header.getNumBytes()).isEqualTo(4096);
    byte[] bitset = in.readAllBytes();
    assertThat(bitset).hasSize(4096);
    BlockSplitBloomFilter theirs = new BlockSplitBloomFilter(4096, 4096);
    for (long h : hashes) {
      theirs.insertHash(h);
    }
    java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
    theirs.writeTo(expected);
    assertThat(bitset).isEqualTo(expected.toByteArray());
  }

  @Test
  void filterFoldedFromTheMaximumSize_equalsTheFilterBuiltAtItsSize() {
    Random r = new Random(11);
    long[] hashes = new long[20_000]; // past the exact set: into a 1 MiB filter, then folded
    for (int i = 0; i < hashes.length; i++) {
      hashes[i] = r.nextLong();
    }
    SplitBlockBloom folded = new SplitBlockBloom(0.01, 1 << 20);
    for (long h : hashes) {
      folded.add(h);
    }
    byte[] a = folded.finish();
    int size = SplitBlockBloom.bytesFor(20_000, 0.01, 1 << 20);
    assertThat(size).isEqualTo(32 << 10);
    SplitBlockBloom direct = new SplitBlockBloom(0.01, size); // the cap: no folding
    for (long h : hashes) {
      direct.add(h);
    }
    assertThat(a).hasSize(size + headerBytes(a)).isEqualTo(direct.finish());

    // reused for the next chunk: it starts empty
    folded.add(hashes[0]);
    byte[] one = folded.finish();
    assertThat(one).hasSize(32 + headerBytes(one));
  }

  @Test
  void distinctEstimate_ofAMaximumSizeFilter_isWithinAFewPercent() {
    Random r = new Random(3);
    int[] w = new int[(1 << 20) / 4];
    SplitBlockBloom b = new SplitBlockBloom(0.01, 1 << 20);
    for (int i = 0; i < 600_000; i++) {
      b.add(r.nextLong());
    }
    byte[] filter = b.finish();
    int header = headerBytes(filter);
    for (int i = 0; i < w.length; i++) {
      w[i] = (int) Buf.INT_LE.get(filter, header + 4 * i);
    }
    assertThat(filter.length - header).isEqualTo(1 << 20); // 600,000 values need the cap
    assertThat(SplitBlockBloom.estimateDistinct(w)).isBetween(582_000L, 618_000L);
  }

  private static int headerBytes(byte[] serialized) {
    try {
      java.io.ByteArrayInputStream in = new java.io.ByteArrayInputStream(serialized);
      int n = Util.readBloomFilterHeader(in).getNumBytes();
      return serialized.length - n;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
