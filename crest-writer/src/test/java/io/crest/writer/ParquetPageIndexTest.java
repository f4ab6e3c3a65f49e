package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.id;
import static io.crest.writer.Batches.list;
import static io.crest.writer.Batches.listValue;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.DataSize;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.filter2.compat.FilterCompat;
import org.apache.parquet.filter2.predicate.FilterApi;
import org.apache.parquet.format.PageHeader;
import org.apache.parquet.format.PageType;
import org.apache.parquet.format.Util;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.internal.column.columnindex.ColumnIndex;
import org.apache.parquet.internal.column.columnindex.OffsetIndex;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.MessageColumnIO;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.api.Test;

/**
 * The column and offset indexes of Crest's Parquet files, read back through parquet-java: every
 * page's location, first row, null count and bounds against the rows that page holds, computed
 * here from the input; and parquet-java's own page-skipping read, which finds a row by them.
 */
class ParquetPageIndexTest extends WriterTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      id(1, field("seq", false, new ArrowType.Int(64, true))),
      id(2, field("score", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
      id(3, field("name", true, ArrowType.Utf8.INSTANCE)),
      id(4, field("cat", true, ArrowType.Utf8.INSTANCE)),
      id(5, field("small", true, new ArrowType.Int(32, true))),
      id(6, field("flag", true, ArrowType.Bool.INSTANCE)),
      id(7, list("tags", true, id(8, field("element", true, new ArrowType.Int(32, true)))))));

  /** Rows: the columns of the schema, row by row. */
  private static List<Object[]> rows(int n, long seed) {
    Random r = new Random(seed);
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Object name;
      switch (r.nextInt(8)) {
        case 0:
          name = null;
          break;
        case 1: // longer than the index keeps
          name = "long-" + "x".repeat(60 + r.nextInt(40)) + r.nextInt(1000);
          break;
        case 2: // high bytes (U+FFFF is EF BF BF): a truncated upper bound increments a BF
          name = "\uffff".repeat(30) + r.nextInt(100);
          break;
        default:
          name = Long.toString(r.nextLong(), 36);
      }
      // cat: few values (dictionary pages), until row 6000 brings many distinct ones, which
      // overflow the small dictionary half-way into a page that repeats the early values
      Object cat = r.nextInt(10) == 0 ? null
          : i >= 6000 && i % 2 == 0 ? "z-" + i : "c" + r.nextInt(5);
      List<Object> tags = new ArrayList<>();
      for (int k = r.nextInt(4); k > 0; k--) {
        tags.add(r.nextInt(7) == 0 ? null : r.nextInt(1000) - 500);
      }
      rows.add(new Object[] {
          (long) i,
          r.nextInt(9) == 0 ? null : r.nextGaussian() * 100,
          name,
          cat,
          i >= 2000 && i < 3500 ? null : (Object) (r.nextInt(200) - 100), // all-null pages
          r.nextInt(5) == 0 ? null : r.nextBoolean(),
          r.nextInt(9) == 0 ? null : listValue(tags.toArray())});
    }
    return rows;
  }

  private WrittenFile write(List<Object[]> rows,
      Function<ParquetWriterBuilder, ParquetWriterBuilder> config) {
    try (FileWriter w = config.apply(FileWriters.parquet(SCHEMA, files)).build()) {
      for (int from = 0; from < rows.size(); from += 1700) {
        List<Object[]> part = rows.subList(from, Math.min(rows.size(), from + 1700));
        try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA,
            Batches.columns(part.toArray(new Object[0][])))) {
          w.write(batch);
        }
      }
      List<WrittenFile> written = w.finish();
      assertThat(written).hasSize(1);
      return written.get(0);
    }
  }

  @Test
  void everyPage_isIndexed_withItsRowsNullsAndBounds() throws Exception {
    List<Object[]> rows = rows(9000, 17);
    Path file = Path.of(write(rows, b -> b.pageRowLimit(700).pageSize(DataSize.kib(16))
        .rowGroupSize(DataSize.kib(200)).dictionarySize(DataSize.kib(2))
        .codec(ParquetCodec.SNAPPY)).location());

    int checkedPages = 0;
    boolean sawNullPage = false;
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file),
        ParquetReadOptions.builder().build())) {
      List<BlockMetaData> blocks = reader.getFooter().getBlocks();
      assertThat(blocks).as("row groups").hasSizeGreaterThan(1);
      long blockStart = 0;
      for (BlockMetaData block : blocks) {
        for (int c = 0; c < block.getColumns().size(); c++) {
          ColumnChunkMetaData col = block.getColumns().get(c);
          String name = col.getPath().toDotString();
          OffsetIndex oi = reader.readOffsetIndex(col);
          ColumnIndex ci = reader.readColumnIndex(col);
          assertThat(oi).as("offset index of %s", name).isNotNull();
          assertThat(ci).as("column index of %s", name).isNotNull();
          assertThat(ci.getNullPages()).hasSize(oi.getPageCount());
          checkLocations(file, col, oi, block.getRowCount());
          for (int p = 0; p < oi.getPageCount(); p++) {
            long first = blockStart + oi.getFirstRowIndex(p);
            long last = blockStart + oi.getLastRowIndex(p, block.getRowCount());
            List<Object> values = new ArrayList<>();
            long nulls = 0;
            for (long row = first; row <= last; row++) {
              nulls += leafValues(rows.get((int) row), c, values);
            }
            String page = name + " page " + p + " (rows " + first + ".." + last + ")";
            assertThat(ci.getNullCounts().get(p)).as("nulls of %s", page).isEqualTo(nulls);
            assertThat(ci.getNullPages().get(p)).as("null page %s", page)
                .isEqualTo(values.isEmpty());
            sawNullPage |= values.isEmpty();
            if (!values.isEmpty()) {
              checkBounds(c, values, ci.getMinValues().get(p), ci.getMaxValues().get(p), page);
            }
            checkedPages++;
          }
        }
        blockStart += block.getRowCount();
      }
    }
    assertThat(checkedPages).isGreaterThan(80);
    assertThat(sawNullPage).isTrue();
  }

  /** Appends the non-null leaf values of column {@code c} in {@code row}; returns its nulls. */
  private static long leafValues(Object[] row, int c, List<Object> values) {
    Object v = row[c];
    if (c == 6) {
      if (v == null || ((List<?>) v).isEmpty()) {
        return 1; // a null or empty list is one undefined leaf value
      }
      long nulls = 0;
      for (Object e : (List<?>) v) {
        if (e == null) {
          nulls++;
        } else {
          values.add(e);
        }
      }
      return nulls;
    }
    if (v == null) {
      return 1;
    }
    values.add(v);
    return 0;
  }

  private static void checkBounds(int c, List<Object> values, ByteBuffer min, ByteBuffer max,
      String page) {
    switch (c) {
      case 0:
        assertThat(le(min).getLong()).as("min of %s", page)
            .isEqualTo(values.stream().mapToLong(v -> (Long) v).min().getAsLong());
        assertThat(le(max).getLong()).as("max of %s", page)
            .isEqualTo(values.stream().mapToLong(v -> (Long) v).max().getAsLong());
        return;
      case 1:
        assertThat(le(min).getDouble()).as("min of %s", page)
            .isEqualTo(values.stream().mapToDouble(v -> (Double) v).min().getAsDouble());
        assertThat(le(max).getDouble()).as("max of %s", page)
            .isEqualTo(values.stream().mapToDouble(v -> (Double) v).max().getAsDouble());
        return;
      case 4:
      case 6:
        assertThat(le(min).getInt()).as("min of %s", page)
            .isEqualTo(values.stream().mapToInt(v -> (Integer) v).min().getAsInt());
        assertThat(le(max).getInt()).as("max of %s", page)
            .isEqualTo(values.stream().mapToInt(v -> (Integer) v).max().getAsInt());
        return;
      case 5:
        assertThat(min.get(min.position()) != 0).as("min of %s", page)
            .isEqualTo(values.stream().allMatch(v -> (Boolean) v));
        assertThat(max.get(max.position()) != 0).as("max of %s", page)
            .isEqualTo(values.stream().anyMatch(v -> (Boolean) v));
        return;
      default:
        byte[] lo = null;
        byte[] hi = null;
        for (Object v : values) {
          byte[] b = ((String) v).getBytes(StandardCharsets.UTF_8);
          lo = lo == null || Arrays.compareUnsigned(b, lo) < 0 ? b : lo;
          hi = hi == null || Arrays.compareUnsigned(b, hi) > 0 ? b : hi;
        }
        byte[] storedMin = bytes(min);
        byte[] storedMax = bytes(max);
        // a bound: no value below the min or above the max, at most 64 bytes
        assertThat(Arrays.compareUnsigned(storedMin, lo)).as("min of %s", page)
            .isLessThanOrEqualTo(0);
        assertThat(Arrays.compareUnsigned(storedMax, hi)).as("max of %s", page)
            .isGreaterThanOrEqualTo(0);
        // valid UTF-8, as the column's values are
        assertThat(validUtf8(storedMin)).as("min of %s is UTF-8", page).isTrue();
        assertThat(validUtf8(storedMax)).as("max of %s is UTF-8", page).isTrue();
        // and tight: the value itself when it fits, else a prefix of at most 64 bytes ending
        // between characters; the upper one with its last (ASCII) byte incremented, or whole
        if (lo.length <= 64) {
          assertThat(storedMin).as("min of %s", page).isEqualTo(lo);
        } else {
          assertThat(storedMin.length).as("min of %s", page).isBetween(61, 64);
          assertThat(storedMin).as("min of %s", page)
              .isEqualTo(Arrays.copyOf(lo, storedMin.length));
        }
        if (hi.length <= 64 || Arrays.equals(storedMax, hi)) {
          assertThat(storedMax).as("max of %s", page).isEqualTo(hi);
        } else {
          assertThat(storedMax.length).as("max of %s", page).isBetween(61, 64);
          assertThat(Arrays.copyOf(hi, storedMax.length - 1))
              .as("max of %s: the prefix before its incremented byte", page)
              .isEqualTo(Arrays.copyOf(storedMax, storedMax.length - 1));
          assertThat(storedMax[storedMax.length - 1] - hi[storedMax.length - 1])
              .as("max of %s: its last byte incremented", page).isEqualTo(1);
        }
    }
  }

  /** Every page the offset index names is a data page of the size it says, in file order. */
  private static void checkLocations(Path file, ColumnChunkMetaData col, OffsetIndex oi,
      long blockRows) throws IOException {
    long previousEnd = col.getStartingPos();
    long previousFirst = -1;
    for (int p = 0; p < oi.getPageCount(); p++) {
      assertThat(oi.getFirstRowIndex(p)).isGreaterThan(previousFirst).isLessThan(blockRows);
      previousFirst = oi.getFirstRowIndex(p);
      assertThat(oi.getOffset(p)).isGreaterThanOrEqualTo(previousEnd);
      try (InputStream in = Files.newInputStream(file)) {
        in.skipNBytes(oi.getOffset(p));
        CountingStream counting = new CountingStream(in);
        PageHeader header = Util.readPageHeader(counting);
        assertThat(header.getType()).isEqualTo(PageType.DATA_PAGE);
        assertThat(counting.count + header.getCompressed_page_size())
            .as("size of page %d of %s", p, col.getPath())
            .isEqualTo(oi.getCompressedPageSize(p));
      }
      previousEnd = oi.getOffset(p) + oi.getCompressedPageSize(p);
    }
    assertThat(oi.getFirstRowIndex(0)).isZero();
    assertThat(previousEnd).isEqualTo(col.getStartingPos() + col.getTotalSize());
  }

  @Test
  void aPageThatLeavesTheDictionaryHalfWay_isBoundedByItsEarlierValuesToo() throws Exception {
    // pages of 700 rows: two pages of three repeating values (the smallest, "a", among them),
    // then a page that starts with "a" again (already in the dictionary) and goes on with
    // distinct values until the dictionary overflows and the page turns plain
    Schema one = new Schema(List.of(id(1, field("s", true, ArrowType.Utf8.INSTANCE))));
    List<Object> values = new ArrayList<>();
    for (int i = 0; i < 1400; i++) {
      values.add(i % 3 == 0 ? "a" : "b" + i % 3);
    }
    values.add("a");
    for (int i = 1401; i < 2100; i++) {
      values.add("m-" + i);
    }
    Path file;
    try (FileWriter w = FileWriters.parquet(one, files).pageRowLimit(700)
        .dictionarySize(DataSize.kib(1)).build();
        VectorSchemaRoot batch = Batches.batch(allocator, one, List.of(values))) {
      w.write(batch);
      file = Path.of(w.finish().get(0).location());
    }
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file),
        ParquetReadOptions.builder().build())) {
      ColumnChunkMetaData col = reader.getFooter().getBlocks().get(0).getColumns().get(0);
      assertThat(col.getEncodings()).contains(org.apache.parquet.column.Encoding.PLAIN,
          org.apache.parquet.column.Encoding.PLAIN_DICTIONARY);
      ColumnIndex ci = reader.readColumnIndex(col);
      assertThat(ci.getMinValues()).hasSize(3);
      assertThat(new String(bytes(ci.getMinValues().get(2)), StandardCharsets.UTF_8))
          .isEqualTo("a");
      assertThat(new String(bytes(ci.getMaxValues().get(2)), StandardCharsets.UTF_8))
          .isEqualTo("m-2099");
      assertThat(new String(bytes(ci.getMaxValues().get(1)), StandardCharsets.UTF_8))
          .isEqualTo("b2");
    }
  }

  @Test
  void parquetJava_skipsPagesByTheIndex_andFindsTheRow() throws Exception {
    List<Object[]> rows = rows(20_000, 5);
    Path file = Path.of(write(rows, b -> b.pageRowLimit(500)).location());
    long target = 12_345;
    FilterCompat.Filter filter = FilterCompat.get(
        FilterApi.eq(FilterApi.longColumn("seq"), target));
    List<Long> found = new ArrayList<>();
    long rowsRead = 0;
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file),
        ParquetReadOptions.builder().withRecordFilter(filter).useColumnIndexFilter(true)
            .useStatsFilter(false).useDictionaryFilter(false).build())) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      MessageColumnIO io = new ColumnIOFactory().getColumnIO(schema);
      PageReadStore pages;
      while ((pages = reader.readNextFilteredRowGroup()) != null) {
        rowsRead += pages.getRowCount();
        RecordReader<Group> records =
            io.getRecordReader(pages, new GroupRecordConverter(schema), filter);
        for (long r = 0; r < pages.getRowCount(); r++) {
          Group g = records.read();
          if (g != null && !records.shouldSkipCurrentRecord()) {
            found.add(g.getLong("seq", 0));
          }
        }
      }
    }
    assertThat(found).containsExactly(target);
    // one page of seq (500 rows) was read, not the whole file
    assertThat(rowsRead).isLessThanOrEqualTo(500);
  }

  private static final Schema EVERY_TYPE = new Schema(List.of(
      id(1, field("l", true, new ArrowType.Int(64, true))),
      id(2, field("tiny", true, new ArrowType.Int(8, true))),
      id(3, field("i16", true, new ArrowType.Int(16, true))),
      id(4, field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE))),
      id(5, field("dec10", true, new ArrowType.Decimal(10, 2, 128))),
      id(6, field("dec30", true, new ArrowType.Decimal(30, 5, 128))),
      id(7, field("day", true, new ArrowType.Date(org.apache.arrow.vector.types.DateUnit.DAY))),
      id(8, field("ts_ms", true, new ArrowType.Timestamp(
          org.apache.arrow.vector.types.TimeUnit.MILLISECOND, "UTC"))),
      id(9, field("fixed", true, new ArrowType.FixedSizeBinary(5))),
      id(10, field("bin", true, ArrowType.Binary.INSTANCE)),
      id(11, list("nested", true, id(12, list("element", true,
          id(13, field("element", true, new ArrowType.Int(32, true))))))),
      id(14, Batches.map("m", true, id(15, field("key", false, ArrowType.Utf8.INSTANCE)),
          id(16, field("value", true, new ArrowType.Int(64, true))))),
      id(17, Batches.struct("st", true,
          id(18, field("x", false, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
          id(19, field("label", true, ArrowType.Utf8.INSTANCE))))));

  /** A row of {@link #EVERY_TYPE}; {@code few} draws from few distinct values (dictionaries). */
  private static Object[] everyTypeRow(Random r, boolean few) {
    int k = few ? 4 : 1 << 30;
    float[] floats = {-0.0f, 0.0f, 1.5f, -2.25f};
    List<Object> outer = new ArrayList<>();
    for (int i = r.nextInt(3); i > 0; i--) {
      List<Object> inner = new ArrayList<>();
      for (int j = r.nextInt(3); j > 0; j--) {
        inner.add(r.nextInt(6) == 0 ? null : r.nextInt(k) - k / 2);
      }
      outer.add(r.nextInt(5) == 0 ? null : inner);
    }
    return new Object[] {
        r.nextInt(6) == 0 ? null : few ? (long) r.nextInt(k) : r.nextLong(),
        r.nextInt(6) == 0 ? null : r.nextInt(256) - 128,
        r.nextInt(6) == 0 ? null : r.nextInt(few ? k : 65536) - (few ? 0 : 32768),
        r.nextInt(6) == 0 ? null : few ? floats[r.nextInt(4)] : (float) r.nextGaussian(),
        r.nextInt(6) == 0 ? null : java.math.BigDecimal.valueOf(r.nextInt(k) - k / 2, 2),
        r.nextInt(6) == 0 ? null : new java.math.BigDecimal(
            new java.math.BigInteger(90, r).subtract(java.math.BigInteger.ONE.shiftLeft(89)), 5),
        r.nextInt(6) == 0 ? null : 18_000 + r.nextInt(few ? k : 5000),
        r.nextInt(6) == 0 ? null : 1_700_000_000_000L + r.nextInt(few ? k : 1 << 30),
        r.nextInt(6) == 0 ? null : String.format("%010x", few ? r.nextInt(k) : r.nextLong() >>> 24),
        r.nextInt(6) == 0 ? null : Long.toHexString(few ? r.nextInt(k) : r.nextLong())
            .replaceAll("^(.(..)*)$", "0$1"),
        r.nextInt(6) == 0 ? null : listValue(outer.toArray()),
        r.nextInt(6) == 0 ? null : r.nextBoolean() ? Batches.mapValue()
            : Batches.mapValue("k" + r.nextInt(k), r.nextInt(4) == 0 ? null : r.nextLong()),
        r.nextInt(6) == 0 ? null : Batches.structValue("x", few ? (double) r.nextInt(k)
            : r.nextGaussian(), "label", r.nextInt(4) == 0 ? null : "l" + r.nextInt(k))};
  }

  @Test
  void everyPage_ofEveryType_isIndexedAsParquetJavaReadsIt() throws Exception {
    int[] pageRows = {1, 7, 100, 1000};
    ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64));
    try (pool) {
      for (int round = 0; round < 6; round++) {
        Random r = new Random(round);
        int limit = pageRows[round % pageRows.length];
        long pageSize = 256L << r.nextInt(7);
        long rowGroup = 8L << r.nextInt(4);
        // two writers of the same settings: the second one on the first one's encoders
        for (int writer = 0; writer < 2; writer++) {
          ParquetWriterBuilder b = FileWriters.parquet(EVERY_TYPE, files).pageRowLimit(limit)
              .pageSize(DataSize.bytes(pageSize)).rowGroupSize(DataSize.kib(rowGroup))
              .targetFileSize(DataSize.kib(96)).codec(ParquetCodec.SNAPPY).encoderPool(pool)
              .encoderThreads(round % 3 == 2 ? 3 : 1);
          if (round % 2 == 1) {
            b.dictionarySize(DataSize.bytes(256));
          }
          List<WrittenFile> written;
          try (FileWriter w = b.build()) {
            for (int batch = 0; batch < 4; batch++) {
              List<Object[]> rows = new ArrayList<>();
              boolean few = r.nextBoolean();
              for (int i = 300 + r.nextInt(1500); i > 0; i--) {
                rows.add(everyTypeRow(r, few));
              }
              try (VectorSchemaRoot root = Batches.batch(allocator, EVERY_TYPE,
                  Batches.columns(rows.toArray(new Object[0][])))) {
                w.write(root);
              }
            }
            written = w.finish();
          }
          assertThat(written).isNotEmpty();
          for (WrittenFile f : written) {
            checkAgainstParquetJava(Path.of(f.location()), "round " + round + " writer " + writer);
          }
        }
      }
      assertThat(pool.reusedCount()).isPositive();
    }
  }

  /**
   * Reads every column of every row group back through parquet-java's column readers, splits its
   * values into pages by the offset index's first rows, and checks each page's entry of the
   * column index: null count, null page, and bounds by the column type's own comparator.
   */
  private static void checkAgainstParquetJava(Path file, String what) throws IOException {
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file),
        ParquetReadOptions.builder().build())) {
      MessageType schema = reader.getFooter().getFileMetaData().getSchema();
      List<BlockMetaData> blocks = reader.getFooter().getBlocks();
      for (int b = 0; b < blocks.size(); b++) {
        BlockMetaData block = blocks.get(b);
        PageReadStore store = reader.readRowGroup(b);
        org.apache.parquet.column.impl.ColumnReadStoreImpl columns =
            new org.apache.parquet.column.impl.ColumnReadStoreImpl(store,
                new GroupRecordConverter(schema).getRootConverter(), schema, "crest");
        List<org.apache.parquet.column.ColumnDescriptor> descriptors = schema.getColumns();
        for (int c = 0; c < descriptors.size(); c++) {
          org.apache.parquet.column.ColumnDescriptor d = descriptors.get(c);
          ColumnChunkMetaData col = block.getColumns().get(c);
          String where = what + ", " + file.getFileName() + ", row group " + b + ", "
              + col.getPath().toDotString();
          OffsetIndex oi = reader.readOffsetIndex(col);
          ColumnIndex ci = reader.readColumnIndex(col);
          assertThat(oi).as("offset index of %s", where).isNotNull();
          assertThat(ci).as("column index of %s", where).isNotNull(); // no NaN written
          int pages = oi.getPageCount();
          long[] nulls = new long[pages];
          Object[] min = new Object[pages];
          Object[] max = new Object[pages];
          org.apache.parquet.schema.PrimitiveType type = d.getPrimitiveType();
          @SuppressWarnings("unchecked")
          java.util.Comparator<Object> cmp =
              (java.util.Comparator<Object>) (java.util.Comparator<?>) type.comparator();
          org.apache.parquet.column.ColumnReader cr = columns.getColumnReader(d);
          long row = -1;
          int page = -1;
          for (long v = cr.getTotalValueCount(); v > 0; v--) {
            if (cr.getCurrentRepetitionLevel() == 0) {
              row++;
              while (page + 1 < pages && oi.getFirstRowIndex(page + 1) <= row) {
                page++;
              }
            }
            if (cr.getCurrentDefinitionLevel() < d.getMaxDefinitionLevel()) {
              nulls[page]++;
            } else {
              Object value = read(cr, type);
              if (min[page] == null || cmp.compare(value, min[page]) < 0) {
                min[page] = value;
              }
              if (max[page] == null || cmp.compare(value, max[page]) > 0) {
                max[page] = value;
              }
            }
            cr.consume();
          }
          assertThat(row + 1).as("rows of %s", where).isEqualTo(block.getRowCount());
          for (int p = 0; p < pages; p++) {
            String at = where + " page " + p;
            assertThat(ci.getNullCounts().get(p)).as("nulls of %s", at).isEqualTo(nulls[p]);
            assertThat(ci.getNullPages().get(p)).as("null page %s", at).isEqualTo(min[p] == null);
            if (min[p] == null) {
              continue;
            }
            Object lo = decode(ci.getMinValues().get(p), type);
            Object hi = decode(ci.getMaxValues().get(p), type);
            assertThat(cmp.compare(lo, min[p])).as("min of %s", at).isLessThanOrEqualTo(0);
            assertThat(cmp.compare(hi, max[p])).as("max of %s", at).isGreaterThanOrEqualTo(0);
            if (!isZero(min[p])) {
              assertThat(cmp.compare(lo, min[p])).as("min of %s is the page's", at).isZero();
            }
            if (!isZero(max[p])) {
              assertThat(cmp.compare(hi, max[p])).as("max of %s is the page's", at).isZero();
            }
          }
        }
      }
    }
  }

  private static boolean isZero(Object v) {
    return (v instanceof Float && (Float) v == 0f) || (v instanceof Double && (Double) v == 0d);
  }

  private static Object read(org.apache.parquet.column.ColumnReader cr,
      org.apache.parquet.schema.PrimitiveType type) {
    switch (type.getPrimitiveTypeName()) {
      case BOOLEAN:
        return cr.getBoolean();
      case INT32:
        return cr.getInteger();
      case INT64:
        return cr.getLong();
      case FLOAT:
        return cr.getFloat();
      case DOUBLE:
        return cr.getDouble();
      default:
        return org.apache.parquet.io.api.Binary.fromConstantByteArray(cr.getBinary().getBytes());
    }
  }

  private static Object decode(ByteBuffer b, org.apache.parquet.schema.PrimitiveType type) {
    ByteBuffer v = le(b);
    switch (type.getPrimitiveTypeName()) {
      case BOOLEAN:
        return v.get(v.position()) != 0;
      case INT32:
        return v.getInt(v.position());
      case INT64:
        return v.getLong(v.position());
      case FLOAT:
        return v.getFloat(v.position());
      case DOUBLE:
        return v.getDouble(v.position());
      default:
        return org.apache.parquet.io.api.Binary.fromConstantByteArray(bytes(b));
    }
  }

  @Test
  void aNanInADoubleChunk_leavesOutItsColumnIndex_butNotItsOffsetIndex() throws Exception {
    List<Object[]> rows = rows(3000, 9);
    rows.get(1234)[1] = Double.NaN;
    Path file = Path.of(write(rows, b -> b.pageRowLimit(500)).location());
    try (ParquetFileReader reader = ParquetFileReader.open(new LocalInputFile(file),
        ParquetReadOptions.builder().build())) {
      ColumnChunkMetaData score = reader.getFooter().getBlocks().get(0).getColumns().get(1);
      assertThat(reader.readColumnIndex(score)).isNull();
      assertThat(reader.readOffsetIndex(score).getPageCount()).isEqualTo(6);
      ColumnChunkMetaData seq = reader.getFooter().getBlocks().get(0).getColumns().get(0);
      assertThat(reader.readColumnIndex(seq)).isNotNull();
    }
    assertThat(TestFiles.readRows(file)).hasSize(3000);
  }

  private static boolean validUtf8(byte[] b) {
    try {
      StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b));
      return true;
    } catch (java.nio.charset.CharacterCodingException e) {
      return false;
    }
  }

  private static ByteBuffer le(ByteBuffer b) {
    return b.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  private static final class CountingStream extends java.io.FilterInputStream {
    long count;

    CountingStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }
}
