package io.crest.iceberg.write;

import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.iceberg.testing.ArrowTestData;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static io.crest.iceberg.testing.ArrowTestData.listOf;
import static io.crest.iceberg.testing.ArrowTestData.map;
import static io.crest.iceberg.testing.ArrowTestData.mapOf;
import static io.crest.iceberg.testing.ArrowTestData.struct;
import static io.crest.iceberg.testing.ArrowTestData.structOf;
import static io.crest.iceberg.testing.ArrowTestData.values;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.hadoop.HadoopTables;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes Arrow batches of every supported type through {@link ArrowRecords} into a real Iceberg
 * table (Hadoop tables on a temporary directory, Parquet, format version 3) and compares what
 * Iceberg reads back with expected values written out by hand.
 */
class ArrowRecordsRoundTripTest {
  private static final String TABLE = "db.round_trip";
  private static final ArrowType INT32 = new ArrowType.Int(32, true);
  private static final ArrowType INT64 = new ArrowType.Int(64, true);
  private static final ArrowType FLOAT64 =
      new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
  private static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;

  @TempDir Path warehouse;

  private BufferAllocator allocator;

  /** One column of the batch: its Arrow field, the Arrow values and the Iceberg values. */
  private static final class Column {
    final Field field;
    final List<Object> arrow;
    final List<Object> expected;

    Column(Field field, List<Object> arrow, List<Object> expected) {
      this.field = field;
      this.arrow = arrow;
      this.expected = expected;
    }
  }

  @BeforeEach
  void createAllocator() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void closeAllocator() {
    // Fails the test when the test or the converter leaked Arrow memory.
    assertThat(allocator.getAllocatedMemory()).as("leaked Arrow memory").isZero();
    allocator.close();
  }

  @Test
  void roundTrip_everySupportedType_readsBackExpectedValues() throws IOException {
    List<Column> columns = columns();
    List<Field> fields = new ArrayList<>();
    List<List<?>> arrowValues = new ArrayList<>();
    for (Column column : columns) {
      fields.add(column.field);
      arrowValues.add(column.arrow);
    }
    org.apache.arrow.vector.types.pojo.Schema arrowSchema =
        new org.apache.arrow.vector.types.pojo.Schema(fields);

    // The table declares its columns in the reverse order: the converter matches them by name.
    List<Types.NestedField> mapped = ArrowSchemas.toIceberg(arrowSchema, TABLE).columns();
    List<Types.NestedField> reversed = new ArrayList<>(mapped);
    Collections.reverse(reversed);
    Table table =
        new HadoopTables(new Configuration())
            .create(
                new Schema(reversed),
                PartitionSpec.unpartitioned(),
                Map.of(TableProperties.FORMAT_VERSION, "3"),
                warehouse.resolve("round_trip").toUri().toString());
    assertThat(table.schema().columns().get(0).name())
        .isEqualTo(columns.get(columns.size() - 1).field.getName());

    List<Record> converted = new ArrayList<>();
    try (VectorSchemaRoot root = ArrowTestData.batch(allocator, arrowSchema, arrowValues)) {
      ArrowRecords.Converter converter =
          ArrowRecords.converter(table.schema(), root.getSchema(), TABLE);
      converter.validate(root);
      for (int row = 0; row < root.getRowCount(); row++) {
        converted.add(converter.row(root, row));
      }
    }
    assertRows("converted", converted, columns);

    DataWriter<Record> writer =
        Parquet.writeData(
                table.io().newOutputFile(table.locationProvider().newDataLocation("rows.parquet")))
            .forTable(table)
            .createWriterFunc(GenericParquetWriter::create)
            .overwrite()
            .build();
    try (writer) {
      for (Record record : converted) {
        writer.write(record);
      }
    }
    table.newFastAppend().appendFile(writer.toDataFile()).commit();

    List<Record> read = new ArrayList<>();
    try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
      records.forEach(read::add);
    }
    read.sort(Comparator.comparing(record -> (Integer) record.getField("id")));
    assertRows("read back", read, columns);
  }

  private static void assertRows(String what, List<Record> records, List<Column> columns) {
    assertThat(records).as(what).hasSize(columns.get(0).expected.size());
    SoftAssertions softly = new SoftAssertions();
    for (int row = 0; row < records.size(); row++) {
      for (Column column : columns) {
        String name = column.field.getName();
        softly
            .assertThat(normalize(records.get(row).getField(name)))
            .as("%s: row %d, column %s", what, row, name)
            .isEqualTo(normalize(column.expected.get(row)));
      }
    }
    softly.assertAll();
  }

  /**
   * Makes values comparable with {@code equals}: records become maps by field name, {@code byte[]}
   * (fixed) and {@code ByteBuffer} (binary) become distinct hex strings.
   */
  private static Object normalize(Object value) {
    if (value instanceof Record) {
      Record record = (Record) value;
      Map<String, Object> fields = new LinkedHashMap<>();
      for (Types.NestedField field : record.struct().fields()) {
        fields.put(field.name(), normalize(record.getField(field.name())));
      }
      return fields;
    } else if (value instanceof Map) {
      Map<Object, Object> map = new LinkedHashMap<>();
      ((Map<?, ?>) value).forEach((k, v) -> map.put(normalize(k), normalize(v)));
      return map;
    } else if (value instanceof List) {
      List<Object> list = new ArrayList<>();
      ((List<?>) value).forEach(element -> list.add(normalize(element)));
      return list;
    } else if (value instanceof byte[]) {
      return "fixed:" + HexFormat.of().formatHex((byte[]) value);
    } else if (value instanceof ByteBuffer) {
      ByteBuffer buffer = ((ByteBuffer) value).duplicate();
      byte[] bytes = new byte[buffer.remaining()];
      buffer.get(bytes);
      return "binary:" + HexFormat.of().formatHex(bytes);
    }
    return value;
  }

  /**
   * The columns, five rows each: 0 ordinary values, 1 minimums and NaN, 2 nulls, 3 maximums, 4
   * zeros, empties and negative zero.
   */
  private static List<Column> columns() {
    List<Column> columns = new ArrayList<>();
    columns.add(
        new Column(field("id", false, INT32), values(0, 1, 2, 3, 4), values(0, 1, 2, 3, 4)));
    columns.add(
        primitive("bool", ArrowType.Bool.INSTANCE, values(true, false, null, true, false), null));
    columns.add(
        primitive(
            "i8",
            new ArrowType.Int(8, true),
            values(7, -128, null, 127, 0),
            values(7, -128, null, 127, 0)));
    columns.add(
        primitive(
            "i16",
            new ArrowType.Int(16, true),
            values(300, -32768, null, 32767, 0),
            values(300, -32768, null, 32767, 0)));
    columns.add(
        primitive(
            "i32",
            INT32,
            values(42, Integer.MIN_VALUE, null, Integer.MAX_VALUE, 0),
            values(42, Integer.MIN_VALUE, null, Integer.MAX_VALUE, 0)));
    columns.add(
        primitive(
            "i64",
            INT64,
            values(42L, Long.MIN_VALUE, null, Long.MAX_VALUE, 0L),
            values(42L, Long.MIN_VALUE, null, Long.MAX_VALUE, 0L)));
    columns.add(
        primitive(
            "u8",
            new ArrowType.Int(8, false),
            values(200, 0, null, 255, 1),
            values(200, 0, null, 255, 1)));
    columns.add(
        primitive(
            "u16",
            new ArrowType.Int(16, false),
            values(40_000, 0, null, 65_535, 1),
            values(40_000, 0, null, 65_535, 1)));
    columns.add(
        primitive(
            "u32",
            new ArrowType.Int(32, false),
            values(3_000_000_000L, 0L, null, 4_294_967_295L, 1L),
            values(3_000_000_000L, 0L, null, 4_294_967_295L, 1L)));
    columns.add(
        primitive(
            "f16",
            new ArrowType.FloatingPoint(FloatingPointPrecision.HALF),
            values(1.5f, Float.NaN, null, 65504f, -0.0f),
            values(1.5f, Float.NaN, null, 65504f, -0.0f)));
    columns.add(
        primitive(
            "f32",
            new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE),
            values(3.25f, Float.NaN, null, Float.MAX_VALUE, Float.NEGATIVE_INFINITY),
            values(3.25f, Float.NaN, null, Float.MAX_VALUE, Float.NEGATIVE_INFINITY)));
    columns.add(
        primitive(
            "f64",
            FLOAT64,
            values(2.5, Double.NaN, null, Double.MIN_VALUE, -0.0),
            values(2.5, Double.NaN, null, Double.MIN_VALUE, -0.0)));

    String unicode = "h\u00e9llo \u2603 \ud83d\ude00";
    String longText = "a string that is longer than twelve bytes";
    columns.add(primitive("utf8", UTF8, values("hello", "", null, unicode, "a\u0000b"), null));
    columns.add(
        primitive(
            "large_utf8",
            ArrowType.LargeUtf8.INSTANCE,
            values("large", "", null, unicode, "x"),
            null));
    columns.add(
        primitive(
            "utf8_view",
            ArrowType.Utf8View.INSTANCE,
            values("short", "", null, longText, "twelve bytes"),
            null));

    byte[][] binaries = {{1, 2, 3}, {}, null, {0, (byte) 0xff}, {0}};
    List<Object> binaryValues = values((Object[]) binaries);
    List<Object> binaryExpected =
        values(
            ByteBuffer.wrap(new byte[] {1, 2, 3}),
            ByteBuffer.allocate(0),
            null,
            ByteBuffer.wrap(new byte[] {0, (byte) 0xff}),
            ByteBuffer.wrap(new byte[] {0}));
    columns.add(primitive("binary", ArrowType.Binary.INSTANCE, binaryValues, binaryExpected));
    columns.add(
        primitive("large_binary", ArrowType.LargeBinary.INSTANCE, binaryValues, binaryExpected));
    columns.add(
        primitive("binary_view", ArrowType.BinaryView.INSTANCE, binaryValues, binaryExpected));
    columns.add(
        primitive(
            "fixed3",
            new ArrowType.FixedSizeBinary(3),
            values(
                new byte[] {1, 2, 3},
                new byte[] {0, 0, 0},
                null,
                new byte[] {-1, -1, -1},
                new byte[] {9, 8, 7}),
            null));

    UUID someUuid = UUID.fromString("123e4567-e89b-12d3-a456-426614174000");
    UUID otherUuid = UUID.fromString("f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
    List<Object> uuids = values(someUuid, new UUID(0, 0), null, new UUID(-1, -1), otherUuid);
    columns.add(primitive("uuid", UuidType.INSTANCE, uuids, uuids));
    columns.add(
        new Column(
            new Field(
                "uuid_meta",
                new FieldType(
                    true,
                    new ArrowType.FixedSizeBinary(16),
                    null,
                    Map.of(ArrowType.ExtensionType.EXTENSION_METADATA_KEY_NAME, "arrow.uuid")),
                List.of()),
            values(
                hex("123e4567e89b12d3a456426614174000"),
                hex("00000000000000000000000000000000"),
                null,
                hex("ffffffffffffffffffffffffffffffff"),
                hex("f81d4fae7dec11d0a76500a0c91e6bf6")),
            uuids));

    List<Object> decimals =
        values(
            new BigDecimal("12345678.90"),
            new BigDecimal("-99999999.99"),
            null,
            new BigDecimal("99999999.99"),
            new BigDecimal("0.00"));
    columns.add(primitive("dec", new ArrowType.Decimal(10, 2, 128), decimals, decimals));
    List<Object> decimals38 =
        values(
            new BigDecimal("1"),
            new BigDecimal("-99999999999999999999999999999999999999"),
            null,
            new BigDecimal("99999999999999999999999999999999999999"),
            new BigDecimal("0"));
    columns.add(primitive("dec38", new ArrowType.Decimal(38, 0, 128), decimals38, decimals38));
    List<Object> decimals256 =
        values(
            new BigDecimal("123456789012345.67890"),
            new BigDecimal("-0.00001"),
            null,
            new BigDecimal("999999999999999.99999"),
            new BigDecimal("0.00000"));
    columns.add(primitive("dec256", new ArrowType.Decimal(20, 5, 256), decimals256, decimals256));

    // 2024-02-29 is day 19782 of the Unix epoch; 0001-01-01 is day -719162; 9999-12-31 is 2932896.
    columns.add(
        primitive(
            "date_day",
            new ArrowType.Date(DateUnit.DAY),
            values(19_782, -719_162, null, 2_932_896, 0),
            values(
                LocalDate.of(2024, 2, 29),
                LocalDate.of(1, 1, 1),
                null,
                LocalDate.of(9999, 12, 31),
                LocalDate.of(1970, 1, 1))));
    columns.add(
        primitive(
            "date_milli",
            new ArrowType.Date(DateUnit.MILLISECOND),
            values(
                19_782L * 86_400_000L,
                -719_162L * 86_400_000L,
                null,
                2_932_896L * 86_400_000L + 86_399_999L,
                -1L),
            values(
                LocalDate.of(2024, 2, 29),
                LocalDate.of(1, 1, 1),
                null,
                LocalDate.of(9999, 12, 31),
                LocalDate.of(1969, 12, 31))));

    // 12:34:56 is second 45296 of the day.
    columns.add(
        primitive(
            "time_s",
            new ArrowType.Time(TimeUnit.SECOND, 32),
            values(45_296, 0, null, 86_399, 1),
            values(
                LocalTime.of(12, 34, 56),
                LocalTime.MIDNIGHT,
                null,
                LocalTime.of(23, 59, 59),
                LocalTime.of(0, 0, 1))));
    columns.add(
        primitive(
            "time_ms",
            new ArrowType.Time(TimeUnit.MILLISECOND, 32),
            values(45_296_789, 0, null, 86_399_999, 1),
            values(
                LocalTime.of(12, 34, 56, 789_000_000),
                LocalTime.MIDNIGHT,
                null,
                LocalTime.of(23, 59, 59, 999_000_000),
                LocalTime.of(0, 0, 0, 1_000_000))));
    columns.add(
        primitive(
            "time_us",
            new ArrowType.Time(TimeUnit.MICROSECOND, 64),
            values(45_296_789_012L, 0L, null, 86_399_999_999L, 1L),
            values(
                LocalTime.of(12, 34, 56, 789_012_000),
                LocalTime.MIDNIGHT,
                null,
                LocalTime.of(23, 59, 59, 999_999_000),
                LocalTime.of(0, 0, 0, 1_000))));
    // Nanosecond times are truncated to Iceberg's microseconds.
    columns.add(
        primitive(
            "time_ns",
            new ArrowType.Time(TimeUnit.NANOSECOND, 64),
            values(45_296_789_012_345L, 0L, null, 86_399_999_999_999L, 999L),
            values(
                LocalTime.of(12, 34, 56, 789_012_000),
                LocalTime.MIDNIGHT,
                null,
                LocalTime.of(23, 59, 59, 999_999_000),
                LocalTime.MIDNIGHT)));

    // 2024-02-29T12:34:56Z is epoch second 1709210096.
    long second = 1_709_210_096L;
    columns.add(
        primitive(
            "ts_s",
            new ArrowType.Timestamp(TimeUnit.SECOND, null),
            values(second, -62_135_596_800L, null, 253_402_300_799L, -1L),
            values(
                LocalDateTime.of(2024, 2, 29, 12, 34, 56),
                LocalDateTime.of(1, 1, 1, 0, 0),
                null,
                LocalDateTime.of(9999, 12, 31, 23, 59, 59),
                LocalDateTime.of(1969, 12, 31, 23, 59, 59))));
    columns.add(
        primitive(
            "ts_ms",
            new ArrowType.Timestamp(TimeUnit.MILLISECOND, null),
            values(second * 1_000 + 789, -1L, null, 253_402_300_799_999L, 0L),
            values(
                LocalDateTime.of(2024, 2, 29, 12, 34, 56, 789_000_000),
                LocalDateTime.of(1969, 12, 31, 23, 59, 59, 999_000_000),
                null,
                LocalDateTime.of(9999, 12, 31, 23, 59, 59, 999_000_000),
                LocalDateTime.of(1970, 1, 1, 0, 0))));
    columns.add(
        primitive(
            "ts_us",
            new ArrowType.Timestamp(TimeUnit.MICROSECOND, null),
            values(second * 1_000_000 + 789_012, -1L, null, 253_402_300_799_999_999L, 0L),
            values(
                LocalDateTime.of(2024, 2, 29, 12, 34, 56, 789_012_000),
                LocalDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_000),
                null,
                LocalDateTime.of(9999, 12, 31, 23, 59, 59, 999_999_000),
                LocalDateTime.of(1970, 1, 1, 0, 0))));
    columns.add(
        primitive(
            "ts_s_tz",
            new ArrowType.Timestamp(TimeUnit.SECOND, "UTC"),
            values(second, -62_135_596_800L, null, 253_402_300_799L, -1L),
            values(
                utc(2024, 2, 29, 12, 34, 56, 0),
                utc(1, 1, 1, 0, 0, 0, 0),
                null,
                utc(9999, 12, 31, 23, 59, 59, 0),
                utc(1969, 12, 31, 23, 59, 59, 0))));
    // The zone is metadata only: the values are UTC epoch milliseconds.
    columns.add(
        primitive(
            "ts_ms_tz",
            new ArrowType.Timestamp(TimeUnit.MILLISECOND, "+05:30"),
            values(second * 1_000 + 789, -1L, null, 253_402_300_799_999L, 0L),
            values(
                utc(2024, 2, 29, 12, 34, 56, 789_000_000),
                utc(1969, 12, 31, 23, 59, 59, 999_000_000),
                null,
                utc(9999, 12, 31, 23, 59, 59, 999_000_000),
                utc(1970, 1, 1, 0, 0, 0, 0))));
    columns.add(
        primitive(
            "ts_us_tz",
            new ArrowType.Timestamp(TimeUnit.MICROSECOND, "America/New_York"),
            values(second * 1_000_000 + 789_012, -1L, null, 253_402_300_799_999_999L, 0L),
            values(
                utc(2024, 2, 29, 12, 34, 56, 789_012_000),
                utc(1969, 12, 31, 23, 59, 59, 999_999_000),
                null,
                utc(9999, 12, 31, 23, 59, 59, 999_999_000),
                utc(1970, 1, 1, 0, 0, 0, 0))));
    // Long.MIN_VALUE and Long.MAX_VALUE nanoseconds are 1677-09-21T00:12:43.145224192Z and
    // 2262-04-11T23:47:16.854775807Z.
    columns.add(
        primitive(
            "ts_ns",
            new ArrowType.Timestamp(TimeUnit.NANOSECOND, null),
            values(
                second * 1_000_000_000L + 123_456_789L, Long.MIN_VALUE, null, Long.MAX_VALUE, -1L),
            values(
                LocalDateTime.of(2024, 2, 29, 12, 34, 56, 123_456_789),
                LocalDateTime.of(1677, 9, 21, 0, 12, 43, 145_224_192),
                null,
                LocalDateTime.of(2262, 4, 11, 23, 47, 16, 854_775_807),
                LocalDateTime.of(1969, 12, 31, 23, 59, 59, 999_999_999))));
    columns.add(
        primitive(
            "ts_ns_tz",
            new ArrowType.Timestamp(TimeUnit.NANOSECOND, "Europe/Paris"),
            values(
                second * 1_000_000_000L + 123_456_789L, Long.MIN_VALUE, null, Long.MAX_VALUE, -1L),
            values(
                utc(2024, 2, 29, 12, 34, 56, 123_456_789),
                utc(1677, 9, 21, 0, 12, 43, 145_224_192),
                null,
                utc(2262, 4, 11, 23, 47, 16, 854_775_807),
                utc(1969, 12, 31, 23, 59, 59, 999_999_999))));

    // Nested types.
    List<Object> intLists =
        values(
            values(1, null, 3),
            values(),
            null,
            values(Integer.MIN_VALUE, Integer.MAX_VALUE),
            values(0));
    columns.add(
        new Column(listOf("list_int", true, field("item", true, INT32)), intLists, intLists));
    List<Object> stringLists =
        values(values("a", ""), values(), null, values(unicode), values("x", "y", "z"));
    columns.add(
        new Column(
            field("large_list_str", true, ArrowType.LargeList.INSTANCE, field("item", false, UTF8)),
            stringLists,
            stringLists));
    List<Object> pairs =
        values(
            values(1.5, Double.NaN),
            values(-0.0, Double.NEGATIVE_INFINITY),
            null,
            values(Double.MAX_VALUE, Double.MIN_VALUE),
            values(0.0, 1.0));
    columns.add(
        new Column(
            field("pair", true, new ArrowType.FixedSizeList(2), field("item", false, FLOAT64)),
            pairs,
            pairs));
    List<Object> nestedLists =
        values(
            values(values(1), values(2, 3)),
            values(values()),
            null,
            values((Object) null),
            values());
    columns.add(
        new Column(
            listOf("list_list", true, listOf("item", true, field("item", true, INT32))),
            nestedLists,
            nestedLists));

    Field payload =
        structOf(
            "payload",
            true,
            field("name", true, UTF8),
            listOf("tags", true, field("item", false, UTF8)),
            structOf("point", false, field("x", false, INT64), field("y", true, FLOAT64)));
    List<Object> payloads =
        values(
            struct(
                "name", "n0",
                "tags", values("a", "b"),
                "point", struct("x", 1L, "y", 2.5)),
            struct(
                "name", "",
                "tags", values(),
                "point", struct("x", Long.MIN_VALUE, "y", Double.NaN)),
            null,
            struct("name", null, "tags", null, "point", struct("x", Long.MAX_VALUE, "y", null)),
            struct("name", "n4", "tags", values("only"), "point", struct("x", 0L, "y", -0.0)));
    columns.add(new Column(payload, payloads, payloads));

    List<Object> maps =
        values(
            map("a", 1, "b", null),
            map(),
            null,
            map("", Integer.MIN_VALUE, unicode, Integer.MAX_VALUE),
            map("k", 0));
    columns.add(
        new Column(mapOf("attributes", true, UTF8, field("value", true, INT32)), maps, maps));

    Field events =
        listOf(
            "events",
            true,
            structOf(
                "item",
                false,
                field("kind", false, UTF8),
                field("at", false, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))));
    columns.add(
        new Column(
            events,
            values(
                values(
                    struct("kind", "open", "at", second * 1_000_000),
                    struct("kind", "close", "at", second * 1_000_000 + 1)),
                values(),
                null,
                values(struct("kind", "", "at", -1L)),
                values()),
            values(
                values(
                    struct("kind", "open", "at", utc(2024, 2, 29, 12, 34, 56, 0)),
                    struct("kind", "close", "at", utc(2024, 2, 29, 12, 34, 56, 1_000))),
                values(),
                null,
                values(struct("kind", "", "at", utc(1969, 12, 31, 23, 59, 59, 999_999_000))),
                values())));
    return columns;
  }

  /** A nullable primitive column; {@code expected} null means the Arrow values are expected. */
  private static Column primitive(
      String name, ArrowType type, List<Object> arrow, List<Object> expected) {
    return new Column(
        new Field(name, FieldType.nullable(type), List.of()),
        arrow,
        expected == null ? arrow : expected);
  }

  private static OffsetDateTime utc(
      int year, int month, int day, int hour, int minute, int second, int nanos) {
    return OffsetDateTime.of(year, month, day, hour, minute, second, nanos, ZoneOffset.UTC);
  }

  private static byte[] hex(String hex) {
    return HexFormat.of().parseHex(hex);
  }
}
