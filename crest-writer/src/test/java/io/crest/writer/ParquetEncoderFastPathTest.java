package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.id;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.spi.ColumnStats;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.junit.jupiter.api.Test;

/**
 * The encoder's shortcuts (pages without nulls, the early dictionary decision, string and float
 * bounds) against what they must equal: values read back by parquet-java and bounds computed
 * here the slow way.
 */
class ParquetEncoderFastPathTest extends WriterTestBase {

  /** Writes each list of columns as one batch, all into one file. */
  private WrittenFile writeBatches(Schema schema, List<List<List<Object>>> batches,
      java.util.function.Function<ParquetWriterBuilder, ParquetWriterBuilder> config) {
    try (FileWriter w = config.apply(FileWriters.parquet(schema, files)).build()) {
      for (List<List<Object>> columns : batches) {
        try (VectorSchemaRoot batch = Batches.batch(allocator, schema, columns)) {
          w.write(batch);
        }
      }
      List<WrittenFile> written = w.finish();
      assertThat(written).hasSize(1);
      return written.get(0);
    }
  }

  private static List<List<Object>> allRows(List<List<List<Object>>> batches) {
    List<List<Object>> rows = new ArrayList<>();
    for (List<List<Object>> b : batches) {
      rows.addAll(ParquetColumnarWriterTest.rows(b));
    }
    return rows;
  }

  @Test
  void pagesWithoutSomeAndOnlyNulls_roundTripWithExactNullCounts() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("l", true, new ArrowType.Int(64, true))),
        id(2, field("s", true, ArrowType.Utf8.INSTANCE))));
    Random r = new Random(3);
    List<List<List<Object>>> batches = new ArrayList<>();
    long nulls = 0;
    // no nulls, then a null late in a page that began without any, then all nulls, then
    // batches shorter than a run of 8 levels, then no nulls again
    int[] sizes = {700, 650, 300, 5, 3, 1200};
    String[] kinds = {"none", "late", "all", "none", "some", "none"};
    for (int b = 0; b < sizes.length; b++) {
      List<Object> longs = new ArrayList<>();
      List<Object> strings = new ArrayList<>();
      for (int i = 0; i < sizes[b]; i++) {
        boolean isNull = kinds[b].equals("all") || (kinds[b].equals("late") && i == 600)
            || (kinds[b].equals("some") && i == 1);
        nulls += isNull ? 1 : 0;
        longs.add(isNull ? null : r.nextLong());
        strings.add(isNull ? null : "v" + r.nextInt(1_000_000));
      }
      batches.add(List.of(longs, strings));
    }

    WrittenFile file = writeBatches(schema, batches,
        b -> b.pageRowLimit(1000).codec(ParquetCodec.UNCOMPRESSED));

    assertThat(TestFiles.readRows(Path.of(file.location()))).isEqualTo(allRows(batches));
    assertThat(file.columns()).extracting(ColumnStats::nullCount).containsExactly(nulls, nulls);
    long footerNulls = 0;
    for (BlockMetaData block : TestFiles.footer(Path.of(file.location())).getBlocks()) {
      footerNulls += block.getColumns().get(0).getStatistics().getNumNulls();
    }
    assertThat(footerNulls).isEqualTo(nulls);
  }

  @Test
  void stringBounds_sharedPrefixesAndShortValues_matchUnsignedLexicographicOrder()
      throws Exception {
    Schema schema = new Schema(List.of(id(1, field("s", true, ArrowType.Binary.INSTANCE))));
    Random r = new Random(11);
    List<Object> values = new ArrayList<>();
    byte[][] tricky = {
      {}, {0}, {0, 0}, {1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3, 4, 5, 6, 7, 8, 0},
      {1, 2, 3, 4, 5, 6, 7, 8, -1}, {1, 2, 3, 4, 5, 6, 7}, {-1, -1, -1, -1, -1, -1, -1, -1},
      {-1, -1, -1, -1, -1, -1, -1, -1, 0}, {-1, -1, -1, -1, -1, -1, -1}, {(byte) 0x80}, {0x7f}
    };
    for (int i = 0; i < 20_000; i++) {
      if (i % 97 == 0) {
        values.add(tricky[(i / 97) % tricky.length]);
      } else {
        // random suffixes behind a shared 8-byte prefix, some short, some null
        byte[] b = new byte[r.nextInt(14)];
        r.nextBytes(b);
        if (b.length >= 8 && r.nextBoolean()) {
          System.arraycopy(tricky[3], 0, b, 0, 8);
        }
        values.add(i % 13 == 0 ? null : b);
      }
    }
    byte[] min = null;
    byte[] max = null;
    List<Object> hex = new ArrayList<>();
    for (Object v : values) {
      hex.add(v == null ? null : HexFormat.of().formatHex((byte[]) v));
      if (v != null) {
        byte[] b = (byte[]) v;
        min = min == null || Arrays.compareUnsigned(b, min) < 0 ? b : min;
        max = max == null || Arrays.compareUnsigned(b, max) > 0 ? b : max;
      }
    }

    // one batch per half: the second one's chunk stats are merged into the file's
    List<List<List<Object>>> batches = List.of(List.of(hex.subList(0, 9_000)),
        List.of(hex.subList(9_000, hex.size())));
    WrittenFile file = writeBatches(schema, batches, b -> b.pageRowLimit(3000));

    ColumnStats stats = file.columns().get(0);
    assertThat(bytes(stats.lowerBound().get())).isEqualTo(min);
    assertThat(bytes(stats.upperBound().get())).isEqualTo(max);
    Statistics<?> footer = TestFiles.footer(Path.of(file.location())).getBlocks().get(0)
        .getColumns().get(0).getStatistics();
    assertThat(footer.getMinBytes()).isEqualTo(min);
    assertThat(footer.getMaxBytes()).isEqualTo(max);
    assertThat(TestFiles.readRows(Path.of(file.location()))).isEqualTo(allRows(batches));
  }

  @Test
  void doubleBounds_withNansAndSignedZeros_matchDoubleCompare() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("d", true,
        new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
        id(2, field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)))));
    Random r = new Random(5);
    List<Object> doubles = new ArrayList<>();
    List<Object> floats = new ArrayList<>();
    for (int i = 0; i < 30_000; i++) {
      double d = i % 1000 == 7 ? Double.NaN : i == 3 ? -0.0 : i == 4 ? 0.0 : r.nextDouble() - 2;
      doubles.add(i % 50 == 0 ? null : d);
      floats.add(i % 50 == 0 ? null : (float) d);
    }
    doubles.set(1, Double.NaN); // a NaN first
    floats.set(1, Float.NaN);

    WrittenFile file = writeBatches(schema, List.of(List.of(doubles, floats)),
        b -> b.pageRowLimit(4000));

    double min = Double.NaN;
    double max = Double.NaN;
    long nans = 0;
    for (Object o : doubles) {
      if (o == null) {
        continue;
      }
      double d = (Double) o;
      if (Double.isNaN(d)) {
        nans++;
      } else {
        min = Double.isNaN(min) || Double.compare(d, min) < 0 ? d : min;
        max = Double.isNaN(max) || Double.compare(d, max) > 0 ? d : max;
      }
    }
    ColumnStats ds = file.columns().get(0);
    assertThat(ds.nanCount()).isEqualTo(nans);
    assertThat(ds.lowerBound().get().order(ByteOrder.LITTLE_ENDIAN).getDouble()).isEqualTo(min);
    assertThat(ds.upperBound().get().order(ByteOrder.LITTLE_ENDIAN).getDouble()).isEqualTo(max);
    assertThat(file.columns().get(1).nanCount()).isEqualTo(nans);
    assertThat(file.columns().get(1).lowerBound().get().order(ByteOrder.LITTLE_ENDIAN)
        .getFloat()).isEqualTo((float) min);
    // with NaNs present the footer carries no min/max (readers would filter wrongly)
    ColumnChunkMetaData chunk = TestFiles.footer(Path.of(file.location())).getBlocks().get(0)
        .getColumns().get(0);
    assertThat(chunk.getStatistics().hasNonNullValue()).isFalse();
    assertThat(TestFiles.readRows(Path.of(file.location())))
        .isEqualTo(ParquetColumnarWriterTest.rows(List.of(doubles, floats)));
  }

  @Test
  void plainIntegersWithNulls_gatheredPerSlice_roundTripWithExactBounds() throws Exception {
    // distinct values: the dictionary is given up after its sample, and the rest of each chunk
    // is gathered from between the nulls onto plain pages
    Schema schema = new Schema(List.of(id(1, field("i", true, new ArrowType.Int(32, true))),
        id(2, field("l", true, new ArrowType.Int(64, true)))));
    Random r = new Random(13);
    List<List<List<Object>>> batches = new ArrayList<>();
    long[] bounds = {Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE};
    long[] nulls = new long[2];
    for (int b = 0; b < 3; b++) {
      List<Object> ints = new ArrayList<>();
      List<Object> longs = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) {
        // runs of nulls, single nulls and long stretches without any
        boolean gap = (i / 500) % 3 == 1;
        Integer iv = gap && r.nextInt(10) == 0 || r.nextInt(40) == 0 ? null : r.nextInt();
        Long lv = gap && r.nextInt(4) == 0 ? null : r.nextLong();
        ints.add(iv);
        longs.add(lv);
        if (iv == null) {
          nulls[0]++;
        } else {
          bounds[0] = Math.min(bounds[0], iv);
          bounds[1] = Math.max(bounds[1], iv);
        }
        if (lv == null) {
          nulls[1]++;
        } else {
          bounds[2] = Math.min(bounds[2], lv);
          bounds[3] = Math.max(bounds[3], lv);
        }
      }
      batches.add(List.of(ints, longs));
    }
    WrittenFile file = writeBatches(schema, batches, b -> b.pageRowLimit(3000));

    ColumnStats is = file.columns().get(0);
    ColumnStats ls = file.columns().get(1);
    assertThat(is.nullCount()).isEqualTo(nulls[0]);
    assertThat(ls.nullCount()).isEqualTo(nulls[1]);
    assertThat(is.lowerBound().get().order(ByteOrder.LITTLE_ENDIAN).getInt())
        .isEqualTo((int) bounds[0]);
    assertThat(is.upperBound().get().order(ByteOrder.LITTLE_ENDIAN).getInt())
        .isEqualTo((int) bounds[1]);
    assertThat(ls.lowerBound().get().order(ByteOrder.LITTLE_ENDIAN).getLong())
        .isEqualTo(bounds[2]);
    assertThat(ls.upperBound().get().order(ByteOrder.LITTLE_ENDIAN).getLong())
        .isEqualTo(bounds[3]);
    for (ColumnChunkMetaData chunk : TestFiles.footer(Path.of(file.location())).getBlocks()
        .get(0).getColumns()) {
      assertThat(chunk.getEncodings()).contains(org.apache.parquet.column.Encoding.PLAIN);
    }
    assertThat(TestFiles.readRows(Path.of(file.location()))).isEqualTo(allRows(batches));
  }

  @Test
  void dictionary_keptForRepeatingColumns_givenUpEarlyForDistinctOnes() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("few", false, new ArrowType.Int(64, true))),
        id(2, field("distinct", false, new ArrowType.Int(64, true))),
        id(3, field("words", true, ArrowType.Utf8.INSTANCE)),
        id(4, field("names", true, ArrowType.Utf8.INSTANCE))));
    Random r = new Random(21);
    List<Object> few = new ArrayList<>();
    List<Object> distinct = new ArrayList<>();
    List<Object> words = new ArrayList<>();
    List<Object> names = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      few.add((long) r.nextInt(3000)); // about 2,200 distinct in the first 4,096
      distinct.add(r.nextLong());
      words.add(i % 7 == 0 ? null : "word-" + r.nextInt(500));
      names.add(i % 7 == 0 ? null : "name-" + r.nextLong());
    }
    List<List<Object>> columns = List.of(few, distinct, words, names);

    WrittenFile file = writeBatches(schema, List.of(columns), b -> b);

    List<ColumnChunkMetaData> chunks = TestFiles.footer(Path.of(file.location())).getBlocks()
        .get(0).getColumns();
    assertThat(chunks.get(0).getEncodings())
        .contains(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
    assertThat(chunks.get(1).getEncodings())
        .doesNotContain(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
    assertThat(chunks.get(2).getEncodings())
        .contains(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
    assertThat(chunks.get(3).getEncodings())
        .doesNotContain(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
    assertThat(TestFiles.readRows(Path.of(file.location())))
        .isEqualTo(ParquetColumnarWriterTest.rows(columns));
  }

  @Test
  void dictionary_distinctFirstSample_isGivenUpThereEvenIfLaterValuesRepeat() throws Exception {
    // 4,096 distinct values, then one value 15,904 times: the whole page would favour the
    // dictionary, but the decision is taken on the sample, as documented for dictionarySize
    Schema schema = new Schema(List.of(id(1, field("l", false, new ArrowType.Int(64, true)))));
    Random r = new Random(8);
    List<Object> values = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      values.add(i < 4096 ? r.nextLong() : 42L);
    }

    WrittenFile file = writeBatches(schema, List.of(List.of(values)), b -> b);

    ColumnChunkMetaData chunk = TestFiles.footer(Path.of(file.location())).getBlocks().get(0)
        .getColumns().get(0);
    assertThat(chunk.getEncodings())
        .doesNotContain(org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
    assertThat(TestFiles.readRows(Path.of(file.location())))
        .isEqualTo(ParquetColumnarWriterTest.rows(List.of(values)));
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
