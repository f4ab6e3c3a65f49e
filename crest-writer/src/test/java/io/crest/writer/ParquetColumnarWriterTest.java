package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.id;
import static io.crest.writer.Batches.list;
import static io.crest.writer.Batches.listValue;
import static io.crest.writer.Batches.map;
import static io.crest.writer.Batches.mapValue;
import static io.crest.writer.Batches.struct;
import static io.crest.writer.Batches.structValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.DataSize;
import io.crest.errors.ValidationException;
import io.crest.spi.ColumnStats;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.column.Encoding;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.Type;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ParquetColumnarWriterTest extends WriterTestBase {
  private static final ArrowType UTC_MICROS = new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");

  /** Every flat type, nullable and required, with edge values and random ones. */
  static Schema flatSchema() {
    return new Schema(List.of(
        id(1, field("b", true, ArrowType.Bool.INSTANCE)),
        id(2, field("i8", true, new ArrowType.Int(8, true))),
        id(3, field("i16", true, new ArrowType.Int(16, true))),
        id(4, field("i32", false, new ArrowType.Int(32, true))),
        id(5, field("i64", true, new ArrowType.Int(64, true))),
        id(6, field("f32", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE))),
        id(7, field("f64", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
        id(8, field("s", true, ArrowType.Utf8.INSTANCE)),
        id(9, field("bin", true, ArrowType.Binary.INSTANCE)),
        id(10, field("fx", true, new ArrowType.FixedSizeBinary(3))),
        id(11, field("d9", true, new ArrowType.Decimal(9, 2, 128))),
        id(12, field("d18", true, new ArrowType.Decimal(18, 3, 128))),
        id(13, field("d38", true, new ArrowType.Decimal(38, 5, 128))),
        id(14, field("date", true, new ArrowType.Date(DateUnit.DAY))),
        id(15, field("time", true, new ArrowType.Time(TimeUnit.MICROSECOND, 64))),
        id(16, field("ts", true, UTC_MICROS)),
        id(17, field("tsn", true, new ArrowType.Timestamp(TimeUnit.NANOSECOND, null))),
        id(18, field("u", true, UuidType.INSTANCE))));
  }

  static List<List<Object>> flatColumns(int rows, long seed) {
    Random r = new Random(seed);
    List<Object[]> out = new ArrayList<>();
    out.add(new Object[] {true, (int) Byte.MIN_VALUE, (int) Short.MIN_VALUE, Integer.MIN_VALUE,
        Long.MIN_VALUE, Float.NaN, Double.NEGATIVE_INFINITY, "", "", "000000",
        new BigDecimal("-9999999.99"), new BigDecimal("-999999999999999.999"),
        new BigDecimal("-999999999999999999999999999999999.99999"), -719162, 0L, Long.MIN_VALUE,
        Long.MIN_VALUE, new UUID(0, 0)});
    out.add(new Object[] {false, (int) Byte.MAX_VALUE, (int) Short.MAX_VALUE, Integer.MAX_VALUE,
        Long.MAX_VALUE, -0.0f, Double.NaN, "héllo wörld ✓", "ff00", "ffffff",
        new BigDecimal("9999999.99"), new BigDecimal("999999999999999.999"),
        new BigDecimal("999999999999999999999999999999999.99999"), 2932896, 86_399_999_999L,
        Long.MAX_VALUE, Long.MAX_VALUE, new UUID(-1, -1)});
    out.add(new Object[] {null, null, null, 0, null, null, null, null, null, null, null, null,
        null, null, null, null, null, null});
    for (int i = 3; i < rows; i++) {
      boolean nul = r.nextInt(5) == 0;
      out.add(new Object[] {
          nul ? null : r.nextBoolean(),
          nul ? null : r.nextInt(256) - 128,
          nul ? null : r.nextInt(65536) - 32768,
          r.nextInt(),
          nul ? null : r.nextLong(),
          nul ? null : r.nextFloat() * 1000 - 500,
          nul ? null : r.nextGaussian(),
          nul ? null : "v" + r.nextInt(50),
          nul ? null : HexFormat.of().formatHex(bytes(r, r.nextInt(8))),
          nul ? null : HexFormat.of().formatHex(bytes(r, 3)),
          nul ? null : BigDecimal.valueOf(r.nextInt(2_000_000_000) - 1_000_000_000 + 1, 2),
          nul ? null : BigDecimal.valueOf(r.nextLong() % 1_000_000_000_000_000L, 3),
          nul ? null : new BigDecimal(new java.math.BigInteger(100, r), 5),
          nul ? null : r.nextInt(40000),
          nul ? null : (long) r.nextInt(86_400_000) * 1000,
          nul ? null : r.nextLong() / 1000,
          nul ? null : r.nextLong(),
          nul ? null : new UUID(r.nextLong(), r.nextLong())});
    }
    return Batches.columns(out.toArray(new Object[0][]));
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  static List<List<Object>> rows(List<List<Object>> columns) {
    List<List<Object>> rows = new ArrayList<>();
    for (int r = 0; r < columns.get(0).size(); r++) {
      List<Object> row = new ArrayList<>();
      for (List<Object> c : columns) {
        row.add(c.get(r));
      }
      rows.add(row);
    }
    return rows;
  }

  private List<WrittenFile> write(Schema schema, List<List<Object>> columns,
      Function<ParquetWriterBuilder, ParquetWriterBuilder> config) {
    try (FileWriter w = config.apply(FileWriters.parquet(schema, files)).build();
        VectorSchemaRoot batch = Batches.batch(allocator, schema, columns)) {
      w.write(batch);
      return w.finish();
    }
  }

  @Test
  void flatTypes_roundTrip_parquetJavaReadsSameValues() throws Exception {
    List<List<Object>> columns = flatColumns(3000, 1);
    List<WrittenFile> written = write(flatSchema(), columns, b -> b);

    assertThat(written).hasSize(1);
    assertThat(written.get(0).rowCount()).isEqualTo(3000);
    assertThat(written.get(0).sizeInBytes()).isEqualTo(dir.resolve("part-00000.out").toFile()
        .length());
    assertThat(TestFiles.readRows(Path.of(written.get(0).location())))
        .isEqualTo(rows(columns));
  }

  @Test
  void flatTypes_footer_carriesFieldIdsAndLogicalTypes() throws Exception {
    List<WrittenFile> written = write(flatSchema(), flatColumns(10, 2), b -> b);

    MessageType schema = TestFiles.footer(Path.of(written.get(0).location()))
        .getFileMetaData().getSchema();
    List<Integer> ids = new ArrayList<>();
    for (Type t : schema.getFields()) {
      ids.add(t.getId().intValue());
    }
    assertThat(ids).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
        18);
    assertThat(schema.getType("i32").getRepetition()).isEqualTo(Type.Repetition.REQUIRED);
    assertThat(schema.getType("ts").toString())
        .isEqualTo("optional int64 ts (TIMESTAMP(MICROS,true)) = 16");
    assertThat(schema.getType("d38").toString())
        .isEqualTo("optional fixed_len_byte_array(16) d38 (DECIMAL(38,5)) = 13");
    assertThat(schema.getType("u").toString())
        .isEqualTo("optional fixed_len_byte_array(16) u (UUID) = 18");
    assertThat(schema.getType("s").toString()).isEqualTo("optional binary s (STRING) = 8");
  }

  static Schema nestedSchema() {
    return new Schema(List.of(
        id(1, field("id", false, new ArrowType.Int(64, true))),
        id(2, list("ints", true, id(3, field("element", true, new ArrowType.Int(32, true))))),
        id(4, struct("point", true,
            id(5, field("x", false, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
            id(6, field("label", true, ArrowType.Utf8.INSTANCE)))),
        id(7, map("attrs", true, id(8, field("key", false, ArrowType.Utf8.INSTANCE)),
            id(9, field("value", true, new ArrowType.Int(64, true))))),
        id(10, list("events", true, id(11, struct("element", false,
            id(12, field("kind", false, ArrowType.Utf8.INSTANCE)),
            id(13, list("tags", true, id(14, field("element", true, ArrowType.Utf8.INSTANCE))))
        ))))));
  }

  static List<List<Object>> nestedColumns(int rows, long seed) {
    Random r = new Random(seed);
    List<Object[]> out = new ArrayList<>();
    List<Object> longList = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      longList.add(i % 7 == 0 ? null : i);
    }
    out.add(new Object[] {0L, longList, structValue("x", Double.NaN, "label", ""),
        mapValue("", 0L, "k", null), listValue()});
    out.add(new Object[] {1L, listValue(), null, mapValue(), null});
    out.add(new Object[] {2L, null, structValue("x", -0.0, "label", null), null,
        listValue(structValue("kind", "a", "tags", null),
            structValue("kind", "", "tags", listValue()),
            structValue("kind", "c", "tags", listValue(null, "x", "")))});
    for (int i = 3; i < rows; i++) {
      List<Object> ints = new ArrayList<>();
      int n = r.nextInt(6);
      for (int k = 0; k < n; k++) {
        ints.add(r.nextInt(10) == 0 ? null : r.nextInt(1000));
      }
      List<Object> events = new ArrayList<>();
      for (int k = r.nextInt(3); k > 0; k--) {
        List<Object> tags = new ArrayList<>();
        for (int t = r.nextInt(3); t > 0; t--) {
          tags.add("t" + r.nextInt(5));
        }
        events.add(structValue("kind", "k" + r.nextInt(3), "tags", r.nextBoolean() ? tags : null));
      }
      out.add(new Object[] {(long) i,
          r.nextInt(8) == 0 ? null : ints,
          r.nextInt(8) == 0 ? null
              : structValue("x", r.nextDouble(), "label", r.nextBoolean() ? null : "l" + i),
          r.nextInt(8) == 0 ? null : mapValue("a", (long) i, "b" + (i % 3), null),
          r.nextInt(8) == 0 ? null : events});
    }
    return Batches.columns(out.toArray(new Object[0][]));
  }

  @Test
  void nestedTypes_roundTrip_parquetJavaReadsSameValues() throws Exception {
    List<List<Object>> columns = nestedColumns(2000, 3);
    List<WrittenFile> written = write(nestedSchema(), columns, b -> b.pageRowLimit(100));

    assertThat(TestFiles.readRows(Path.of(written.get(0).location())))
        .isEqualTo(rows(columns));
    MessageType schema = TestFiles.footer(Path.of(written.get(0).location()))
        .getFileMetaData().getSchema();
    assertThat(schema.getType("events").toString()).isEqualTo(
        "optional group events (LIST) = 10 {\n  repeated group list {\n"
            + "    required group element = 11 {\n      required binary kind (STRING) = 12;\n"
            + "      optional group tags (LIST) = 13 {\n        repeated group list {\n"
            + "          optional binary element (STRING) = 14;\n        }\n      }\n    }\n"
            + "  }\n}");
    assertThat(schema.getType("attrs").toString()).isEqualTo(
        "optional group attrs (MAP) = 7 {\n  repeated group key_value {\n"
            + "    required binary key (STRING) = 8;\n    optional int64 value = 9;\n  }\n}");
  }

  @ParameterizedTest
  @EnumSource(ParquetCodec.class)
  void everyCodec_roundTrip_parquetJavaReadsSameValues(ParquetCodec codec) throws Exception {
    List<List<Object>> columns = nestedColumns(500, 4);
    List<WrittenFile> written = write(nestedSchema(), columns, b -> b.codec(codec));

    assertThat(TestFiles.readRows(Path.of(written.get(0).location())))
        .isEqualTo(rows(columns));
    ParquetMetadata footer = TestFiles.footer(Path.of(written.get(0).location()));
    assertThat(footer.getBlocks().get(0).getColumns().get(0).getCodec().name())
        .isEqualTo(codec.name());
  }

  @Test
  void zstdLevel_roundTrip_smallerThanLevelOne() throws Exception {
    List<List<Object>> columns = flatColumns(5000, 5);
    long fast = write(flatSchema(), columns, b -> b.codec(ParquetCodec.ZSTD).compressionLevel(1))
        .get(0).sizeInBytes();
    List<WrittenFile> strong = write(flatSchema(), columns,
        b -> b.codec(ParquetCodec.ZSTD).compressionLevel(19));

    assertThat(strong.get(0).sizeInBytes()).isLessThan(fast);
    assertThat(TestFiles.readRows(Path.of(strong.get(0).location()))).isEqualTo(rows(columns));
  }

  @Test
  void targetFileSize_small_rollsIntoSeveralReadableFiles() throws Exception {
    Schema schema = flatSchema();
    List<List<Object>> all = new ArrayList<>();
    List<WrittenFile> written;
    try (FileWriter w = FileWriters.parquet(schema, files)
        .targetFileSize(DataSize.kib(64)).rowGroupSize(DataSize.kib(16)).build()) {
      for (int b = 0; b < 6; b++) {
        List<List<Object>> columns = flatColumns(2000, 10 + b);
        all.addAll(rows(columns));
        try (VectorSchemaRoot batch = Batches.batch(allocator, schema, columns)) {
          w.write(batch);
        }
      }
      written = w.finish();
    }

    assertThat(written.size()).isGreaterThan(2);
    List<List<Object>> read = new ArrayList<>();
    long rows = 0;
    for (WrittenFile f : written) {
      read.addAll(TestFiles.readRows(Path.of(f.location())));
      rows += f.rowCount();
      assertThat(f.splitOffsets()).startsWith(4L);
      assertThat(f.splitOffsets().size())
          .isEqualTo(TestFiles.footer(Path.of(f.location())).getBlocks().size());
    }
    assertThat(rows).isEqualTo(12_000);
    assertThat(read).isEqualTo(all);
  }

  @Test
  void pageRowLimitAndRowGroupSize_shapePagesAndRowGroups() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("l", true, new ArrowType.Int(64, true)))));
    List<Object> values = new ArrayList<>();
    Random r = new Random(9);
    for (int i = 0; i < 100_000; i++) {
      values.add(i % 10 == 0 ? null : r.nextLong());
    }
    List<WrittenFile> written = write(schema, List.of(values),
        b -> b.pageRowLimit(1000).rowGroupSize(DataSize.kib(256)).codec(ParquetCodec.SNAPPY));

    Path file = Path.of(written.get(0).location());
    ParquetMetadata footer = TestFiles.footer(file);
    assertThat(footer.getBlocks().size()).isGreaterThan(2);
    assertThat(footer.getBlocks().stream().mapToLong(b -> b.getRowCount()).sum())
        .isEqualTo(100_000);
    assertThat(written.get(0).splitOffsets()).hasSize(footer.getBlocks().size());
    List<Integer> pageValues = new ArrayList<>();
    try (org.apache.parquet.hadoop.ParquetFileReader reader =
        org.apache.parquet.hadoop.ParquetFileReader.open(
            new org.apache.parquet.io.LocalInputFile(file),
            org.apache.parquet.ParquetReadOptions.builder().build())) {
      org.apache.parquet.column.ColumnDescriptor column =
          footer.getFileMetaData().getSchema().getColumns().get(0);
      org.apache.parquet.column.page.PageReadStore group;
      while ((group = reader.readNextRowGroup()) != null) {
        org.apache.parquet.column.page.PageReader pages = group.getPageReader(column);
        org.apache.parquet.column.page.DataPage page;
        while ((page = pages.readPage()) != null) {
          pageValues.add(page.getValueCount());
        }
      }
    }
    assertThat(pageValues).allSatisfy(n -> assertThat(n).isBetween(1, 1000));
    assertThat(pageValues.stream().mapToInt(Integer::intValue).sum()).isEqualTo(100_000);
    assertThat(TestFiles.readRows(file)).isEqualTo(rows(List.of(values)));
  }

  @Test
  void lowCardinalityStrings_useDictionary_highCardinalityFallsBackToPlain() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("low", false, ArrowType.Utf8.INSTANCE)),
        id(2, field("high", false, ArrowType.Utf8.INSTANCE))));
    List<Object> low = new ArrayList<>();
    List<Object> high = new ArrayList<>();
    for (int i = 0; i < 50_000; i++) {
      low.add("value-" + (i % 10));
      high.add(UUID.nameUUIDFromBytes(Integer.toString(i).getBytes(StandardCharsets.UTF_8))
          .toString());
    }
    List<WrittenFile> written = write(schema, List.of(low, high),
        b -> b.dictionarySize(DataSize.kib(64)));

    ParquetMetadata footer = TestFiles.footer(Path.of(written.get(0).location()));
    ColumnChunkMetaData lowChunk = footer.getBlocks().get(0).getColumns().get(0);
    ColumnChunkMetaData highChunk = footer.getBlocks().get(0).getColumns().get(1);
    assertThat(lowChunk.getEncodings()).contains(Encoding.PLAIN_DICTIONARY);
    assertThat(lowChunk.getDictionaryPageOffset()).isPositive();
    assertThat(highChunk.getEncodings()).contains(Encoding.PLAIN)
        .doesNotContain(Encoding.PLAIN_DICTIONARY);
    assertThat(highChunk.getTotalUncompressedSize()).isGreaterThan(50_000L * 36);
    assertThat(TestFiles.readRows(Path.of(written.get(0).location())))
        .isEqualTo(rows(List.of(low, high)));
  }

  @Test
  void stats_countNullsNansAndBoundsOfEveryColumn() {
    List<List<Object>> columns = Batches.columns(
        new Object[] {1L, 2.5, "b", listValue(3, null)},
        new Object[] {null, Double.NaN, "", listValue()},
        new Object[] {-7L, -0.0, null, null},
        new Object[] {5L, null, "zz", listValue(9)});
    Schema schema = new Schema(List.of(id(1, field("l", true, new ArrowType.Int(64, true))),
        id(2, field("d", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
        id(3, field("s", true, ArrowType.Utf8.INSTANCE)),
        id(4, list("li", true, id(5, field("element", true, new ArrowType.Int(32, true)))))));

    List<ColumnStats> stats = write(schema, columns, b -> b).get(0).columns();

    assertThat(stats).extracting(ColumnStats::fieldId).containsExactly(1, 2, 3, 5);
    assertThat(stats).extracting(ColumnStats::path)
        .containsExactly("l", "d", "s", "li.list.element");
    assertThat(stats).extracting(ColumnStats::valueCount).containsExactly(4L, 4L, 4L, 5L);
    assertThat(stats).extracting(ColumnStats::nullCount).containsExactly(1L, 1L, 1L, 3L);
    assertThat(stats).extracting(ColumnStats::nanCount).containsExactly(-1L, 1L, -1L, -1L);
    assertThat(longOf(stats.get(0).lowerBound().get())).isEqualTo(-7L);
    assertThat(longOf(stats.get(0).upperBound().get())).isEqualTo(5L);
    assertThat(Double.longBitsToDouble(longOf(stats.get(1).lowerBound().get()))).isEqualTo(-0.0);
    assertThat(Double.longBitsToDouble(longOf(stats.get(1).upperBound().get()))).isEqualTo(2.5);
    assertThat(StandardCharsets.UTF_8.decode(stats.get(2).lowerBound().get()).toString())
        .isEqualTo("");
    assertThat(StandardCharsets.UTF_8.decode(stats.get(2).upperBound().get()).toString())
        .isEqualTo("zz");
    assertThat(stats.get(3).lowerBound().get().order(ByteOrder.LITTLE_ENDIAN).getInt())
        .isEqualTo(3);
    assertThat(stats).allSatisfy(s -> assertThat(s.sizeInBytes()).isPositive());
  }

  private static long longOf(ByteBuffer b) {
    return b.order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  @Test
  void narrowerInputTypes_areWidenedToTheColumnType() throws Exception {
    Schema target = new Schema(List.of(id(1, field("l", true, new ArrowType.Int(64, true))),
        id(2, field("d", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
        id(3, field("ts", true, UTC_MICROS)),
        id(4, field("s", true, ArrowType.Utf8.INSTANCE))));
    Schema input = new Schema(List.of(field("s", true, ArrowType.LargeUtf8.INSTANCE),
        field("l", true, new ArrowType.Int(16, true)),
        field("ts", true, new ArrowType.Timestamp(TimeUnit.MILLISECOND, "UTC")),
        field("d", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE))));
    List<WrittenFile> written;
    try (FileWriter w = FileWriters.parquet(target, files).build();
        VectorSchemaRoot batch = Batches.batch(allocator, input, Batches.columns(
            new Object[] {"x", -3, 1_700_000_000_123L, 1.5f},
            new Object[] {null, null, null, null}))) {
      w.write(batch);
      written = w.finish();
    }

    assertThat(TestFiles.readRows(Path.of(written.get(0).location()))).containsExactly(
        List.of(-3L, 1.5, 1_700_000_000_123_000L, "x"), Collections.nCopies(4, null));
  }

  @Test
  void missingOptionalColumn_isWrittenAsNulls() throws Exception {
    Schema target = new Schema(List.of(id(1, field("a", false, new ArrowType.Int(32, true))),
        id(2, field("b", true, ArrowType.Utf8.INSTANCE))));
    Schema input = new Schema(List.of(field("a", false, new ArrowType.Int(32, true))));
    List<WrittenFile> written;
    try (FileWriter w = FileWriters.parquet(target, files).build();
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {1}, new Object[] {2}))) {
      w.write(batch);
      written = w.finish();
    }

    assertThat(TestFiles.readRows(Path.of(written.get(0).location())))
        .containsExactly(java.util.Arrays.asList(1, null), java.util.Arrays.asList(2, null));
    assertThat(written.get(0).columns().get(1).nullCount()).isEqualTo(2);
  }

  @Test
  void nullInRequiredColumn_isRejectedNamingTheColumn() {
    Schema target = new Schema(List.of(field("a", false, new ArrowType.Int(32, true))));
    Schema input = new Schema(List.of(field("a", true, new ArrowType.Int(32, true))));
    try (FileWriter w = FileWriters.parquet(target, files).target("db.t").build();
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {1}, new Object[] {null}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to db.t: column 'a' is required but value 1 of the"
              + " batch's vector is null (fill the value, or make the column optional)");
    }
  }

  @Test
  void nullInsideRequiredListElement_failsTheBatchAndThenTheWriter() {
    Schema target = new Schema(List.of(
        list("l", true, field("element", false, new ArrowType.Int(32, true)))));
    Schema input = new Schema(List.of(
        list("l", true, field("element", true, new ArrowType.Int(32, true)))));
    try (FileWriter w = FileWriters.parquet(target, files).target("db.t").build();
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {listValue(1, 2)}, new Object[] {listValue(3, null)}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to db.t: column 'l.list.element' is required but value 3"
              + " of the batch's vector is null (fill the value, or make the column optional)");
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("Cannot write batch to db.t: an earlier batch failed half-way into file "
              + dir.resolve("part-00000.out") + " (Cannot write batch to db.t: column"
              + " 'l.list.element' is required but value 3 of the batch's vector is null (fill the"
              + " value, or make the column optional)); close this writer and discard that file");
    }
  }

  @Test
  void unknownColumn_isRejectedNamingIt() {
    Schema target = new Schema(List.of(field("a", true, new ArrowType.Int(32, true))));
    Schema input = new Schema(List.of(field("a", true, new ArrowType.Int(32, true)),
        field("zzz", true, new ArrowType.Int(32, true))));
    try (FileWriter w = FileWriters.parquet(target, files).target("db.t").build();
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {1, 2}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to db.t: the batch has columns [zzz] that the file"
              + " schema lacks (drop them, or add them to the table first)");
    }
  }

  @Test
  void lossyInputType_isRejectedNamingBothTypes() {
    Schema target = new Schema(List.of(field("a", true, new ArrowType.Int(32, true))));
    Schema input = new Schema(List.of(field("a", true, new ArrowType.Int(64, true))));
    try (FileWriter w = FileWriters.parquet(target, files).target("db.t").build();
        VectorSchemaRoot batch = Batches.batch(allocator, input,
            Batches.columns(new Object[] {1L}))) {
      assertThatThrownBy(() -> w.write(batch))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to db.t: column 'a' has Arrow type Int(64, true) but"
              + " the file column is Int(32, true) (cast it to a type that converts without"
              + " loss)");
    }
  }

  @Test
  void unsupportedCodecName_isRejectedListingSupportedOnes() {
    assertThatThrownBy(() -> ParquetCodec.fromName("brotli"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot use Parquet compression codec 'brotli': not supported by Crest's"
            + " columnar writer (use uncompressed, snappy, gzip, zstd or lz4_raw)");
    assertThat(ParquetCodec.fromName("ZSTD")).isEqualTo(ParquetCodec.ZSTD);
  }

  @Test
  void levelForCodecWithoutLevels_isRejectedAtBuild() {
    ParquetWriterBuilder b = FileWriters.parquet(flatSchema(), files)
        .codec(ParquetCodec.SNAPPY).compressionLevel(3);
    assertThatThrownBy(b::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build Parquet writer: codec SNAPPY has no compression level, but"
            + " level 3 was set (drop the level)");
  }

  @Test
  void codecSetTwice_isRejectedNamingTheEarlierValue() {
    ParquetWriterBuilder b = FileWriters.parquet(flatSchema(), files).codec(ParquetCodec.GZIP);
    assertThatThrownBy(() -> b.codec(ParquetCodec.ZSTD))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set codec to ZSTD: it was already set to GZIP");
  }

  @Test
  void unsignedColumnType_isRejectedAtBuild() {
    Schema schema = new Schema(List.of(field("u", true, new ArrowType.Int(32, false))));
    assertThatThrownBy(() -> FileWriters.parquet(schema, files).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write column u: Arrow type Int(32, false) is not supported by the"
            + " Parquet writer (declare a signed integer type wide enough)");
  }

  @Test
  void duckDb_readsFlatAndNestedFiles() throws Exception {
    List<List<Object>> flat = flatColumns(1000, 7);
    String flatFile = write(flatSchema(), flat, b -> b.codec(ParquetCodec.SNAPPY)).get(0)
        .location();
    List<List<Object>> nested = nestedColumns(300, 8);
    String nestedFile = write(nestedSchema(), nested, b -> b).get(0).location();

    long sumI32 = 0;
    long nonNullStrings = 0;
    for (int i = 0; i < 1000; i++) {
      sumI32 += (Integer) flat.get(3).get(i);
      nonNullStrings += flat.get(7).get(i) == null ? 0 : 1;
    }
    long ints = 0;
    for (Object l : nested.get(1)) {
      ints += l == null ? 0 : ((List<?>) l).size();
    }
    try (Connection c = DriverManager.getConnection("jdbc:duckdb:");
        Statement st = c.createStatement()) {
      try (ResultSet rs = st.executeQuery("select count(*), sum(i32), count(s),"
          + " count(ts), count(u),"
          + " max(d38) from read_parquet('" + flatFile + "')")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(1000);
        assertThat(rs.getLong(2)).isEqualTo(sumI32);
        assertThat(rs.getLong(3)).isEqualTo(nonNullStrings);
        assertThat(rs.getLong(4)).isEqualTo(flat.get(15).stream().filter(v -> v != null).count());
        assertThat(rs.getLong(5)).isEqualTo(flat.get(17).stream().filter(v -> v != null).count());
        assertThat(rs.getBigDecimal(6))
            .isEqualTo(new BigDecimal("999999999999999999999999999999999.99999"));
      }
      try (ResultSet rs = st.executeQuery("select count(*), sum(len(ints)),"
          + " sum(len(events)), count(point.label) from read_parquet('" + nestedFile + "')")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(300);
        assertThat(rs.getLong(2)).isEqualTo(ints);
      }
      try (ResultSet rs = st.executeQuery("select attrs[''], point.x, len(ints)"
          + " from read_parquet('" + nestedFile + "') where id = 0")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getLong(1)).isEqualTo(0L);
        assertThat(rs.getDouble(2)).isNaN();
        assertThat(rs.getLong(3)).isEqualTo(50_000);
      }
    }
  }

  @Test
  void columnChunksReachTheStreamInSlicesOf64KiB() throws Exception {
    // FileOutputStream mallocs a native buffer per write: a chunk of megabytes in one write
    // faulted in and zeroed fresh pages for every chunk
    Schema schema = new Schema(List.of(id(1, field("v", false, new ArrowType.Int(64, true)))));
    int[] largest = {0};
    long[] total = {0};
    Path file = dir.resolve("sliced.parquet");
    io.crest.spi.FileOutputFactory recording = outputTo(file,
        stream -> new java.io.FilterOutputStream(stream) {
          @Override
          public void write(byte[] b, int off, int len) throws java.io.IOException {
            largest[0] = Math.max(largest[0], len);
            total[0] += len;
            out.write(b, off, len);
          }
        });
    List<Object> values = new ArrayList<>();
    Random r = new Random(5);
    for (int i = 0; i < 300_000; i++) {
      values.add(r.nextLong());
    }
    try (FileWriter w = FileWriters.parquet(schema, recording).codec(ParquetCodec.UNCOMPRESSED)
        .withoutDictionary().build();
        VectorSchemaRoot batch = Batches.batch(allocator, schema, List.of(values))) {
      w.write(batch);
      assertThat(w.finish()).singleElement()
          .satisfies(f -> assertThat(f.sizeInBytes()).isEqualTo(total[0]));
    }
    assertThat(total[0]).isGreaterThan(2_400_000);
    assertThat(largest[0]).isEqualTo(64 << 10);
    assertThat(TestFiles.readRows(file)).hasSize(300_000);
  }

  @Test
  void aFileThatCannotBeFinished_stopsTheWriter_insteadOfWritingOnIntoItsState() throws Exception {
    Schema schema = new Schema(List.of(id(1, field("v", false, new ArrowType.Int(64, true)))));
    Path file = dir.resolve("broken.parquet");
    io.crest.spi.FileOutputFactory failingClose = outputTo(file,
        stream -> new java.io.FilterOutputStream(stream) {
          @Override
          public void close() throws java.io.IOException {
            super.close();
            throw new java.io.IOException("disk gone");
          }
        });
    try (FileWriter w = FileWriters.parquet(schema, failingClose).target("db.t").build();
        VectorSchemaRoot batch = Batches.batch(allocator, schema,
            Batches.columns(new Object[] {1L}, new Object[] {2L}))) {
      w.write(batch);
      assertThatThrownBy(w::finish).isInstanceOf(java.io.UncheckedIOException.class)
          .hasMessageContaining("disk gone");
      assertThatThrownBy(() -> w.write(batch)).isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("Cannot write batch to db.t")
          .hasMessageContaining(file.toString())
          .hasMessageContaining("disk gone");
    }
  }

  /** Outputs into {@code file}, through the stream {@code wrap} makes of the file's. */
  private static io.crest.spi.FileOutputFactory outputTo(Path file,
      java.util.function.UnaryOperator<java.io.OutputStream> wrap) {
    return () -> new io.crest.spi.FileOutput() {
      @Override
      public String location() {
        return file.toString();
      }

      @Override
      public java.io.OutputStream create() {
        try {
          return wrap.apply(java.nio.file.Files.newOutputStream(file));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }
    };
  }
}
