package io.crest.iceberg.write;

import io.crest.iceberg.testing.ArrowTestData;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static io.crest.iceberg.testing.ArrowTestData.listOf;
import static io.crest.iceberg.testing.ArrowTestData.map;
import static io.crest.iceberg.testing.ArrowTestData.mapOf;
import static io.crest.iceberg.testing.ArrowTestData.struct;
import static io.crest.iceberg.testing.ArrowTestData.structOf;
import static io.crest.iceberg.testing.ArrowTestData.values;
import static org.apache.iceberg.types.Types.NestedField.optional;
import static org.apache.iceberg.types.Types.NestedField.required;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.ValidationException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.MapVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ArrowRecordsTest {
  private static final String TABLE = "shop.orders";
  private static final ArrowType.Int INT32 = new ArrowType.Int(32, true);
  private static final ArrowType INT64 = new ArrowType.Int(64, true);
  private static final ArrowType UTF8 = ArrowType.Utf8.INSTANCE;

  private BufferAllocator allocator;

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

  // Schema-level problems: found when the converter is built, before any row is read.

  @Test
  void converter_missingRequiredColumn_isRejected() {
    Schema table =
        new Schema(
            required(1, "id", Types.LongType.get()),
            required(2, "amount", Types.IntegerType.get()));

    assertRejected(
        table,
        arrow(field("id", false, INT64)),
        "Cannot write batch to table shop.orders: column 'amount' is required but the batch has no"
            + " such Arrow column (add it to the batch, or make the column optional)");
  }

  @Test
  void converter_missingRequiredNestedField_isRejectedNamingPath() {
    Schema table =
        new Schema(
            optional(
                1,
                "payload",
                Types.StructType.of(
                    optional(2, "name", Types.StringType.get()),
                    required(3, "size", Types.IntegerType.get()))));

    assertRejected(
        table,
        arrow(structOf("payload", true, field("name", true, UTF8))),
        "Cannot write batch to table shop.orders: column 'payload.size' is required but the batch"
            + " has no such Arrow column (add it to the batch, or make the column optional)");
  }

  @Test
  void converter_extraArrowColumn_isRejected() {
    Schema table = new Schema(required(1, "id", Types.LongType.get()));

    assertRejected(
        table,
        arrow(field("id", false, INT64), field("note", true, UTF8)),
        "Cannot write batch to table shop.orders: Arrow column 'note' is not in the table schema"
            + " (drop it from the batch, or add it to the table)");
  }

  @Test
  void converter_extraNestedArrowField_isRejectedNamingPath() {
    Schema table =
        new Schema(
            optional(
                1, "payload", Types.StructType.of(optional(2, "name", Types.StringType.get()))));

    assertRejected(
        table,
        arrow(structOf("payload", true, field("name", true, UTF8), field("extra", true, INT32))),
        "Cannot write batch to table shop.orders: Arrow column 'payload.extra' is not in the table"
            + " schema (drop it from the batch, or add it to the table)");
  }

  @Test
  void converter_utf8ForIntColumn_isRejected() {
    Schema table = new Schema(required(1, "amount", Types.IntegerType.get()));

    assertRejected(
        table,
        arrow(field("amount", false, UTF8)),
        "Cannot write batch to table shop.orders: column 'amount' has Arrow type Utf8 but the table"
            + " column is int (cast it to an Arrow type that maps to int)");
  }

  @Test
  void converter_narrowingTypes_areRejected() {
    assertRejected(
        new Schema(optional(1, "n", Types.IntegerType.get())),
        arrow(field("n", true, INT64)),
        "Cannot write batch to table shop.orders: column 'n' has Arrow type Int(64, true) but the"
            + " table column is int (cast it to an Arrow type that maps to int)");
    assertRejected(
        new Schema(optional(1, "d", Types.DecimalType.of(10, 2))),
        arrow(field("d", true, new ArrowType.Decimal(10, 3, 128))),
        "Cannot write batch to table shop.orders: column 'd' has Arrow type Decimal(10, 3, 128) but"
            + " the table column is decimal(10, 2) (cast it to an Arrow type that maps to"
            + " decimal(10, 2))");
    assertRejected(
        new Schema(optional(1, "ts", Types.TimestampType.withoutZone())),
        arrow(field("ts", true, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))),
        "Cannot write batch to table shop.orders: column 'ts' has Arrow type"
            + " Timestamp(MICROSECOND, UTC) but the table column is timestamp (cast it to an Arrow"
            + " type that maps to timestamp)");
    assertRejected(
        new Schema(optional(1, "ts", Types.TimestampType.withZone())),
        arrow(field("ts", true, new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC"))),
        "Cannot write batch to table shop.orders: column 'ts' has Arrow type"
            + " Timestamp(NANOSECOND, UTC) but the table column is timestamptz (cast it to an Arrow"
            + " type that maps to timestamptz)");
  }

  @Test
  void converter_unsupportedArrowTypeForColumn_isRejected() {
    assertRejected(
        new Schema(optional(1, "big", Types.LongType.get())),
        arrow(field("big", true, new ArrowType.Int(64, false))),
        "Cannot write batch to table shop.orders: column 'big' has Arrow type Int(64, false) but"
            + " the table column is long (cast it to an Arrow type that maps to long)");
  }

  @Test
  void converter_listElementTypeMismatch_isRejectedNamingPath() {
    Schema table =
        new Schema(
            optional(
                1,
                "payload",
                Types.StructType.of(
                    optional(2, "tags", Types.ListType.ofOptional(3, Types.StringType.get())))));

    assertRejected(
        table,
        arrow(structOf("payload", true, listOf("tags", true, field("item", true, INT32)))),
        "Cannot write batch to table shop.orders: column 'payload.tags.element' has Arrow type"
            + " Int(32, true) but the table column is string (cast it to an Arrow type that maps"
            + " to string)");
  }

  @Test
  void converter_structForPrimitiveAndPrimitiveForList_areRejected() {
    assertRejected(
        new Schema(optional(1, "p", Types.StringType.get())),
        arrow(structOf("p", true, field("a", true, INT32))),
        "Cannot write batch to table shop.orders: column 'p' has Arrow type Struct but the table"
            + " column is string (cast it to an Arrow type that maps to string)");
    assertRejected(
        new Schema(optional(1, "l", Types.ListType.ofOptional(2, Types.IntegerType.get()))),
        arrow(field("l", true, INT32)),
        "Cannot write batch to table shop.orders: column 'l' has Arrow type Int(32, true) but the"
            + " table column is list<int> (send an Arrow list with the table's fields)");
  }

  @Test
  void converter_mapValueMismatch_isRejectedNamingPath() {
    Schema table =
        new Schema(
            optional(
                1,
                "attributes",
                Types.MapType.ofOptional(2, 3, Types.StringType.get(), Types.LongType.get())));

    assertRejected(
        table,
        arrow(mapOf("attributes", true, UTF8, field("value", true, UTF8))),
        "Cannot write batch to table shop.orders: column 'attributes.value' has Arrow type Utf8 but"
            + " the table column is long (cast it to an Arrow type that maps to long)");
  }

  @Test
  void converter_dictionaryEncodedColumn_isRejected() {
    Field country =
        new Field(
            "country",
            new FieldType(true, UTF8, new DictionaryEncoding(7L, false, INT32)),
            List.of());

    assertRejected(
        new Schema(optional(1, "country", Types.StringType.get())),
        arrow(country),
        "Cannot write batch to table shop.orders: column 'country' is dictionary-encoded Utf8"
            + " (decode the dictionary before writing)");
  }

  @Test
  void converter_duplicateArrowNames_isRejected() {
    assertRejected(
        new Schema(optional(1, "a", Types.IntegerType.get())),
        arrow(field("a", true, INT32), field("a", true, INT32)),
        "Cannot write batch to table shop.orders: the Arrow schema has two fields named 'a' at 'a'"
            + " (rename one of them)");
  }

  // Rows.

  @Test
  void row_fieldsInOtherOrder_areMatchedByName() {
    Schema table =
        new Schema(
            required(1, "id", Types.LongType.get()),
            optional(2, "name", Types.StringType.get()),
            optional(3, "missing", Types.StringType.get()),
            optional(
                4,
                "point",
                Types.StructType.of(
                    required(5, "x", Types.IntegerType.get()),
                    required(6, "y", Types.IntegerType.get()))));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(
            structOf("point", true, field("y", false, INT32), field("x", false, INT32)),
            field("name", true, UTF8),
            field("id", false, INT64));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(
            allocator, arrow, List.of(values(struct("y", 2, "x", 1)), values("ann"), values(7L)))) {
      Record record = ArrowRecords.converter(table, arrow, TABLE).row(root, 0);

      assertThat(record.getField("id")).isEqualTo(7L);
      assertThat(record.getField("name")).isEqualTo("ann");
      assertThat(record.getField("missing")).isNull();
      Record point = (Record) record.getField("point");
      assertThat(point.getField("x")).isEqualTo(1);
      assertThat(point.getField("y")).isEqualTo(2);
    }
  }

  @Test
  void row_promotedTypes_areWidened() {
    Schema table =
        new Schema(
            optional(1, "i", Types.LongType.get()),
            optional(2, "u", Types.LongType.get()),
            optional(3, "f", Types.DoubleType.get()),
            optional(4, "d", Types.DecimalType.of(12, 2)),
            optional(5, "id", Types.UUIDType.get()));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(
            field("i", true, INT32),
            field("u", true, new ArrowType.Int(16, false)),
            field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
            field("d", true, new ArrowType.Decimal(5, 2, 128)),
            field("id", true, new ArrowType.FixedSizeBinary(16)));
    UUID uuid = UUID.fromString("00112233-4455-6677-8899-aabbccddeeff");
    byte[] uuidBytes = {
      0x00,
      0x11,
      0x22,
      0x33,
      0x44,
      0x55,
      0x66,
      0x77,
      (byte) 0x88,
      (byte) 0x99,
      (byte) 0xaa,
      (byte) 0xbb,
      (byte) 0xcc,
      (byte) 0xdd,
      (byte) 0xee,
      (byte) 0xff
    };

    try (VectorSchemaRoot root =
        ArrowTestData.batch(
            allocator,
            arrow,
            List.of(
                values(-5),
                values(65_535),
                values(0.5f),
                values(new BigDecimal("-123.45")),
                values((Object) uuidBytes)))) {
      Record record = ArrowRecords.converter(table, arrow, TABLE).row(root, 0);

      assertThat(record.getField("i")).isEqualTo(-5L);
      assertThat(record.getField("u")).isEqualTo(65_535L);
      assertThat(record.getField("f")).isEqualTo(0.5d);
      assertThat(record.getField("d")).isEqualTo(new BigDecimal("-123.45"));
      assertThat(record.getField("id")).isEqualTo(uuid);
    }
  }

  @Test
  void row_nullInRequiredColumn_isRejectedNamingRow() {
    Schema table =
        new Schema(
            required(1, "id", Types.LongType.get()),
            required(2, "amount", Types.IntegerType.get()));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(field("id", false, INT64), field("amount", true, INT32));
    List<Object> ids = new ArrayList<>();
    List<Object> amounts = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ids.add((long) i);
      amounts.add(i == 17 ? null : i * 10);
    }

    try (VectorSchemaRoot root = ArrowTestData.batch(allocator, arrow, List.of(ids, amounts))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);
      converter.validate(root);
      for (int i = 0; i < 17; i++) {
        assertThat(converter.row(root, i).getField("amount")).isEqualTo(i * 10);
      }

      assertThatThrownBy(() -> converter.row(root, 17))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'amount' is required but row 17 is"
                  + " null");
    }
  }

  @Test
  void row_nullInRequiredNestedFields_isRejectedNamingPath() {
    Schema table =
        new Schema(
            optional(
                1,
                "payload",
                Types.StructType.of(
                    optional(2, "tags", Types.ListType.ofRequired(3, Types.StringType.get())))),
            optional(
                4,
                "attributes",
                Types.MapType.ofRequired(5, 6, Types.StringType.get(), Types.IntegerType.get())));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(
            structOf("payload", true, listOf("tags", true, field("item", true, UTF8))),
            mapOf("attributes", true, UTF8, field("value", true, INT32)));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(
            allocator,
            arrow,
            List.of(
                values(struct("tags", values("a")), null, struct("tags", values("b", null))),
                values(map("k", 1), map("k", null), null)))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);

      assertThat(converter.row(root, 0).getField("attributes")).isEqualTo(Map.of("k", 1));
      assertThatThrownBy(() -> converter.row(root, 1))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'attributes.value' is required but"
                  + " row 1 is null");
      assertThatThrownBy(() -> converter.row(root, 2))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'payload.tags.element' is required"
                  + " but row 2 is null");
    }
  }

  @Test
  void row_requiredFieldInsideNullStruct_isNotAnError() {
    Schema table =
        new Schema(
            optional(1, "point", Types.StructType.of(required(2, "x", Types.IntegerType.get()))));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(structOf("point", true, field("x", true, INT32)));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(allocator, arrow, List.of(values((Object) null)))) {
      assertThat(ArrowRecords.converter(table, arrow, TABLE).row(root, 0).getField("point"))
          .isNull();
    }
  }

  @Test
  void row_duplicateMapKey_isRejected() {
    Schema table =
        new Schema(
            optional(
                1,
                "m",
                Types.MapType.ofOptional(2, 3, Types.StringType.get(), Types.IntegerType.get())));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(mapOf("m", true, UTF8, field("value", true, INT32)));

    try (VectorSchemaRoot root = VectorSchemaRoot.create(arrow, allocator)) {
      // Two entries with key "a": written by hand, a Java map cannot hold them.
      MapVector vector = (MapVector) root.getVector(0);
      StructVector entries = (StructVector) vector.getDataVector();
      int offset = vector.startNewValue(0);
      for (int j = 0; j < 2; j++) {
        entries.setIndexDefined(offset + j);
        ArrowTestData.write(entries.getChildByOrdinal(0), offset + j, "a");
        ArrowTestData.write(entries.getChildByOrdinal(1), offset + j, null);
      }
      vector.endValue(0, 2);
      root.setRowCount(1);

      assertThatThrownBy(() -> ArrowRecords.converter(table, arrow, TABLE).row(root, 0))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'm' has the key a twice in one map"
                  + " at row 0 (an Iceberg map holds each key once; deduplicate the entries)");
    }
  }

  @Test
  void row_decimalBeyondPrecision_isRejected() {
    Schema table = new Schema(optional(1, "price", Types.DecimalType.of(5, 2)));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(field("price", true, new ArrowType.Decimal(5, 2, 128)));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(allocator, arrow, List.of(values(new BigDecimal("999.99"), null)))) {
      // Arrow's setters check the declared precision but its format does not: a producer can send
      // 1234.56 (unscaled 123456) as decimal(5, 2). Iceberg's writers would reject it.
      ((DecimalVector) root.getVector(0))
          .setBigEndianSafe(1, BigInteger.valueOf(123_456).toByteArray());
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);

      assertThat(converter.row(root, 0).getField("price")).isEqualTo(new BigDecimal("999.99"));
      assertThatThrownBy(() -> converter.row(root, 1))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'price' has the value 1234.56, which"
                  + " does not fit decimal(5, 2) at row 1 (fix the value, or widen the column)");
    }
  }

  @Test
  void row_timeOutsideDay_isRejected() {
    Schema table = new Schema(optional(1, "t", Types.TimeType.get()));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(field("t", true, new ArrowType.Time(TimeUnit.MILLISECOND, 32)));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(allocator, arrow, List.of(values(86_399_999, 86_400_000, -1)))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);

      assertThat(converter.row(root, 0).getField("t"))
          .isEqualTo(LocalTime.of(23, 59, 59, 999_000_000));
      assertThatThrownBy(() -> converter.row(root, 1))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 't' has the time 86400000 ms, which"
                  + " is not within a day at row 1 (a time of day must be at least 0 and less than"
                  + " 24 hours)");
      assertThatThrownBy(() -> converter.row(root, 2))
          .isInstanceOf(ValidationException.class)
          .hasMessageContaining("column 't' has the time -1 ms");
    }
  }

  @Test
  void row_timestampSecondsOverflowingMicros_isRejected() {
    Schema table = new Schema(optional(1, "ts", Types.TimestampType.withZone()));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(field("ts", true, new ArrowType.Timestamp(TimeUnit.SECOND, "UTC")));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(allocator, arrow, List.of(values(Long.MAX_VALUE)))) {
      assertThatThrownBy(() -> ArrowRecords.converter(table, arrow, TABLE).row(root, 0))
          .isInstanceOf(ValidationException.class)
          .hasMessage(
              "Cannot write batch to table shop.orders: column 'ts' has the timestamp "
                  + Long.MAX_VALUE
                  + " SECOND since the epoch, which is out of range at row 0 (Iceberg timestamps"
                  + " are 64-bit microsecond counts; fix the value)");
    }
  }

  @Test
  void row_indexOutsideBatch_isRejected() {
    Schema table = new Schema(optional(1, "a", Types.IntegerType.get()));
    org.apache.arrow.vector.types.pojo.Schema arrow = arrow(field("a", true, INT32));

    try (VectorSchemaRoot root = ArrowTestData.batch(allocator, arrow, List.of(values(1)))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);

      assertThatThrownBy(() -> converter.row(root, 1))
          .isInstanceOf(IndexOutOfBoundsException.class);
    }
  }

  @Test
  void fill_reusedRecord_overwritesEveryField() {
    Schema table =
        new Schema(
            optional(1, "a", Types.IntegerType.get()),
            optional(2, "absent", Types.StringType.get()),
            optional(3, "tags", Types.ListType.ofOptional(4, Types.StringType.get())));
    org.apache.arrow.vector.types.pojo.Schema arrow =
        arrow(field("a", true, INT32), listOf("tags", true, field("item", true, UTF8)));

    try (VectorSchemaRoot root =
        ArrowTestData.batch(
            allocator, arrow, List.of(values(1, null), values(values("x", null), values())))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, arrow, TABLE);
      GenericRecord reused = GenericRecord.create(table);
      reused.setField("absent", "stale");

      converter.fill(root, 0, reused);
      assertThat(reused.getField("a")).isEqualTo(1);
      assertThat(reused.getField("absent")).isNull();
      assertThat(reused.getField("tags")).isEqualTo(values("x", null));

      converter.fill(root, 1, reused);
      assertThat(reused.getField("a")).isNull();
      assertThat(reused.getField("tags")).isEqualTo(Collections.emptyList());
    }
  }

  @Test
  void validate_rootOfOtherSchema_isRejected() {
    Schema table = new Schema(optional(1, "a", Types.IntegerType.get()));
    org.apache.arrow.vector.types.pojo.Schema built = arrow(field("a", true, INT32));
    org.apache.arrow.vector.types.pojo.Schema other = arrow(field("a", false, INT32));

    try (VectorSchemaRoot root = ArrowTestData.batch(allocator, other, List.of(values(1)))) {
      ArrowRecords.Converter converter = ArrowRecords.converter(table, built, TABLE);

      assertThatThrownBy(() -> converter.validate(root))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "Cannot convert batch for table shop.orders: the batch has schema"
                  + " Schema<a: Int(32, true) not null> but the converter was built for"
                  + " Schema<a: Int(32, true)> (build a converter for the batch's schema)");
    }
  }

  private static void assertRejected(
      Schema table, org.apache.arrow.vector.types.pojo.Schema arrow, String message) {
    assertThatThrownBy(() -> ArrowRecords.converter(table, arrow, TABLE))
        .isInstanceOf(ValidationException.class)
        .hasMessage(message);
  }

  private static org.apache.arrow.vector.types.pojo.Schema arrow(Field... fields) {
    return new org.apache.arrow.vector.types.pojo.Schema(List.of(fields));
  }
}
