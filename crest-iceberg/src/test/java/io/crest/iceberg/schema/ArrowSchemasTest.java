package io.crest.iceberg.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.ValidationException;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.arrow.vector.extension.OpaqueType;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.IntervalUnit;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.UnionMode;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.iceberg.Schema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ArrowSchemasTest {
  private static final String TABLE = "shop.orders";

  static Stream<Arguments> primitives() {
    return Stream.of(
        Arguments.of(ArrowType.Bool.INSTANCE, Types.BooleanType.get()),
        Arguments.of(new ArrowType.Int(8, true), Types.IntegerType.get()),
        Arguments.of(new ArrowType.Int(16, true), Types.IntegerType.get()),
        Arguments.of(new ArrowType.Int(32, true), Types.IntegerType.get()),
        Arguments.of(new ArrowType.Int(64, true), Types.LongType.get()),
        Arguments.of(new ArrowType.Int(8, false), Types.IntegerType.get()),
        Arguments.of(new ArrowType.Int(16, false), Types.IntegerType.get()),
        Arguments.of(new ArrowType.Int(32, false), Types.LongType.get()),
        Arguments.of(
            new ArrowType.FloatingPoint(FloatingPointPrecision.HALF), Types.FloatType.get()),
        Arguments.of(
            new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE), Types.FloatType.get()),
        Arguments.of(
            new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE), Types.DoubleType.get()),
        Arguments.of(ArrowType.Utf8.INSTANCE, Types.StringType.get()),
        Arguments.of(ArrowType.LargeUtf8.INSTANCE, Types.StringType.get()),
        Arguments.of(ArrowType.Utf8View.INSTANCE, Types.StringType.get()),
        Arguments.of(ArrowType.Binary.INSTANCE, Types.BinaryType.get()),
        Arguments.of(ArrowType.LargeBinary.INSTANCE, Types.BinaryType.get()),
        Arguments.of(ArrowType.BinaryView.INSTANCE, Types.BinaryType.get()),
        Arguments.of(new ArrowType.FixedSizeBinary(7), Types.FixedType.ofLength(7)),
        Arguments.of(new ArrowType.FixedSizeBinary(16), Types.FixedType.ofLength(16)),
        Arguments.of(UuidType.INSTANCE, Types.UUIDType.get()),
        Arguments.of(new ArrowType.Decimal(10, 2, 128), Types.DecimalType.of(10, 2)),
        Arguments.of(new ArrowType.Decimal(38, 38, 128), Types.DecimalType.of(38, 38)),
        Arguments.of(new ArrowType.Decimal(38, 0, 256), Types.DecimalType.of(38, 0)),
        Arguments.of(new ArrowType.Date(DateUnit.DAY), Types.DateType.get()),
        Arguments.of(new ArrowType.Date(DateUnit.MILLISECOND), Types.DateType.get()),
        Arguments.of(new ArrowType.Time(TimeUnit.SECOND, 32), Types.TimeType.get()),
        Arguments.of(new ArrowType.Time(TimeUnit.MILLISECOND, 32), Types.TimeType.get()),
        Arguments.of(new ArrowType.Time(TimeUnit.MICROSECOND, 64), Types.TimeType.get()),
        Arguments.of(new ArrowType.Time(TimeUnit.NANOSECOND, 64), Types.TimeType.get()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.SECOND, null), Types.TimestampType.withoutZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.MILLISECOND, null), Types.TimestampType.withoutZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.MICROSECOND, null), Types.TimestampType.withoutZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.MICROSECOND, ""), Types.TimestampType.withoutZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.SECOND, "UTC"), Types.TimestampType.withZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.MILLISECOND, "+01:00"),
            Types.TimestampType.withZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.MICROSECOND, "America/New_York"),
            Types.TimestampType.withZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.NANOSECOND, null),
            Types.TimestampNanoType.withoutZone()),
        Arguments.of(
            new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC"),
            Types.TimestampNanoType.withZone()));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("primitives")
  void toIceberg_primitive_mapsToExpectedTypeAndNullability(ArrowType arrow, Type expected) {
    Schema schema =
        ArrowSchemas.toIceberg(
            new org.apache.arrow.vector.types.pojo.Schema(
                List.of(Field.nullable("a", arrow), Field.notNullable("b", arrow))),
            TABLE);

    assertThat(schema.columns())
        .containsExactly(
            Types.NestedField.optional(1, "a", expected),
            Types.NestedField.required(2, "b", expected));
  }

  @Test
  void toIceberg_uuidExtensionMetadataOnFixedSizeBinary_mapsToUuid() {
    Field field =
        new Field(
            "id",
            new FieldType(
                true,
                new ArrowType.FixedSizeBinary(16),
                null,
                Map.of(ArrowType.ExtensionType.EXTENSION_METADATA_KEY_NAME, "arrow.uuid")),
            List.of());

    Schema schema = ArrowSchemas.toIceberg(schema(field), TABLE);

    assertThat(schema.columns())
        .containsExactly(Types.NestedField.optional(1, "id", Types.UUIDType.get()));
  }

  @Test
  void toIceberg_nestedTypes_getSequentialIdsAndNullability() {
    Field tags =
        new Field(
            "tags",
            FieldType.nullable(ArrowType.List.INSTANCE),
            List.of(Field.notNullable("item", ArrowType.Utf8.INSTANCE)));
    Field point =
        new Field(
            "point",
            FieldType.notNullable(ArrowType.Struct.INSTANCE),
            List.of(
                Field.notNullable("x", new ArrowType.Int(64, true)),
                Field.nullable("y", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))));
    Field payload =
        new Field(
            "payload",
            FieldType.nullable(ArrowType.Struct.INSTANCE),
            List.of(Field.nullable("name", ArrowType.Utf8.INSTANCE), tags, point));
    Field attributes = mapField("attributes", true, ArrowType.Utf8.INSTANCE, true);
    Field scores =
        new Field(
            "scores",
            FieldType.notNullable(new ArrowType.LargeList()),
            List.of(Field.nullable("$data$", new ArrowType.Int(32, true))));
    Field pair =
        new Field(
            "pair",
            FieldType.nullable(new ArrowType.FixedSizeList(2)),
            List.of(
                Field.notNullable(
                    "item", new ArrowType.FloatingPoint(FloatingPointPrecision.HALF))));
    Field strictMap = mapField("strict", false, new ArrowType.Int(32, true), false);

    Schema schema =
        ArrowSchemas.toIceberg(
            schema(
                Field.notNullable("id", new ArrowType.Int(64, true)),
                payload,
                attributes,
                scores,
                pair,
                strictMap),
            TABLE);

    Schema expected =
        new Schema(
            Types.NestedField.required(1, "id", Types.LongType.get()),
            Types.NestedField.optional(
                2,
                "payload",
                Types.StructType.of(
                    Types.NestedField.optional(7, "name", Types.StringType.get()),
                    Types.NestedField.optional(
                        8, "tags", Types.ListType.ofRequired(10, Types.StringType.get())),
                    Types.NestedField.required(
                        9,
                        "point",
                        Types.StructType.of(
                            Types.NestedField.required(11, "x", Types.LongType.get()),
                            Types.NestedField.optional(12, "y", Types.DoubleType.get()))))),
            Types.NestedField.optional(
                3,
                "attributes",
                Types.MapType.ofOptional(13, 14, Types.StringType.get(), Types.StringType.get())),
            Types.NestedField.required(
                4, "scores", Types.ListType.ofOptional(15, Types.IntegerType.get())),
            Types.NestedField.optional(
                5, "pair", Types.ListType.ofRequired(16, Types.FloatType.get())),
            Types.NestedField.required(
                6,
                "strict",
                Types.MapType.ofRequired(17, 18, Types.IntegerType.get(), Types.StringType.get())));
    assertThat(schema.asStruct()).isEqualTo(expected.asStruct());
    assertThat(schema.highestFieldId()).isEqualTo(18);
  }

  static Stream<Arguments> rejected() {
    return Stream.of(
        Arguments.of(
            new ArrowType.Int(64, false),
            "Arrow type Int(64, false) has no Iceberg equivalent (Iceberg has no unsigned 64-bit"
                + " integer; cast to int64 or decimal(20,0))"),
        Arguments.of(
            new ArrowType.Decimal(39, 2, 256),
            "Arrow type Decimal(39, 2, 256) has no Iceberg equivalent (Iceberg decimals hold at"
                + " most 38 digits; cast to a decimal of precision 38 or less, or to string)"),
        Arguments.of(
            new ArrowType.Decimal(10, -2, 128),
            "Arrow type Decimal(10, -2, 128) has no Iceberg equivalent (Iceberg decimals need"
                + " 0 <= scale <= precision; rescale the values)"),
        Arguments.of(
            ArrowType.Null.INSTANCE,
            "Arrow type Null has no Iceberg equivalent (Iceberg has no null type; give the"
                + " column a concrete nullable type)"),
        Arguments.of(
            new ArrowType.Duration(TimeUnit.SECOND),
            "Arrow type Duration(SECOND) has no Iceberg equivalent (Iceberg has no duration"
                + " type; cast to int64 in a fixed unit)"),
        Arguments.of(
            new ArrowType.Interval(IntervalUnit.MONTH_DAY_NANO),
            "Arrow type Interval(MONTH_DAY_NANO) has no Iceberg equivalent (Iceberg has no"
                + " interval type; cast to int64 or to a struct of its parts)"),
        Arguments.of(
            new OpaqueType(ArrowType.Binary.INSTANCE, "geo", "vendor"),
            "Arrow type OpaqueType(Binary, typeName='geo', vendorName='vendor') has no Iceberg"
                + " equivalent (extension"
                + " type arrow.opaque is not supported; send its storage type Binary instead)"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("rejected")
  void toIceberg_unsupportedPrimitive_isRejectedNamingColumn(ArrowType type, String reason) {
    assertRejected(
        schema(Field.nullable("col", type)),
        "Cannot map column 'col' of table shop.orders: " + reason);
  }

  @Test
  void toIceberg_union_isRejectedNamingColumn() {
    for (UnionMode mode : UnionMode.values()) {
      Field union =
          new Field(
              "choice",
              FieldType.nullable(new ArrowType.Union(mode, new int[] {0, 1})),
              List.of(
                  Field.nullable("i", new ArrowType.Int(32, true)),
                  Field.nullable("s", ArrowType.Utf8.INSTANCE)));

      assertRejected(
          schema(union),
          "Cannot map column 'choice' of table shop.orders: Arrow type Union("
              + mode
              + ", [0, 1]) has no Iceberg equivalent (Iceberg has no union type; split the members"
              + " into separate nullable columns)");
    }
  }

  @Test
  void toIceberg_listView_isRejectedNamingColumn() {
    Field view =
        new Field(
            "v",
            FieldType.nullable(ArrowType.ListView.INSTANCE),
            List.of(Field.nullable("item", new ArrowType.Int(32, true))));
    Field largeView =
        new Field(
            "lv",
            FieldType.nullable(ArrowType.LargeListView.INSTANCE),
            List.of(Field.nullable("item", new ArrowType.Int(32, true))));

    assertRejected(
        schema(view),
        "Cannot map column 'v' of table shop.orders: Arrow type ListView has no Iceberg equivalent"
            + " (cast list views to List or LargeList)");
    assertRejected(
        schema(largeView),
        "Cannot map column 'lv' of table shop.orders: Arrow type LargeListView has no Iceberg"
            + " equivalent (cast list views to List or LargeList)");
  }

  @Test
  void toIceberg_runEndEncoded_isRejectedNamingColumn() {
    Field ree =
        new Field(
            "runs",
            FieldType.nullable(ArrowType.RunEndEncoded.INSTANCE),
            List.of(
                Field.notNullable("run_ends", new ArrowType.Int(32, true)),
                Field.nullable("values", ArrowType.Utf8.INSTANCE)));

    assertRejected(
        schema(ree),
        "Cannot map column 'runs' of table shop.orders: Arrow type RunEndEncoded has no Iceberg"
            + " equivalent (decode the run-end encoding before writing)");
  }

  @Test
  void toIceberg_dictionaryEncoded_isRejectedNamingColumn() {
    Field dictionary =
        new Field(
            "country",
            new FieldType(
                true,
                ArrowType.Utf8.INSTANCE,
                new DictionaryEncoding(1L, false, new ArrowType.Int(32, true))),
            List.of());

    assertRejected(
        schema(dictionary),
        "Cannot map column 'country' of table shop.orders: Arrow type dictionary-encoded Utf8 has"
            + " no Iceberg equivalent (decode the dictionary before writing)");
  }

  @Test
  void toIceberg_emptyStruct_isRejectedNamingColumn() {
    Field empty = new Field("nothing", FieldType.nullable(ArrowType.Struct.INSTANCE), List.of());

    assertRejected(
        schema(empty),
        "Cannot map column 'nothing' of table shop.orders: Arrow type Struct has no Iceberg"
            + " equivalent (Iceberg cannot store a struct without fields; drop the column or add"
            + " a field)");
  }

  @Test
  void toIceberg_unsupportedTypeInListInStruct_namesDottedPath() {
    Field tags =
        new Field(
            "tags",
            FieldType.nullable(ArrowType.List.INSTANCE),
            List.of(Field.nullable("item", new ArrowType.Duration(TimeUnit.MILLISECOND))));
    Field payload =
        new Field(
            "payload",
            FieldType.nullable(ArrowType.Struct.INSTANCE),
            List.of(Field.nullable("name", ArrowType.Utf8.INSTANCE), tags));

    assertRejected(
        schema(Field.nullable("id", new ArrowType.Int(32, true)), payload),
        "Cannot map column 'payload.tags.element' of table shop.orders: Arrow type"
            + " Duration(MILLISECOND) has no Iceberg equivalent (Iceberg has no duration type;"
            + " cast to int64 in a fixed unit)");
  }

  @Test
  void toIceberg_unsupportedMapKeyAndValue_namesKeyAndValuePaths() {
    assertRejected(
        schema(mapField("m", true, new ArrowType.Int(64, false), true)),
        "Cannot map column 'm.key' of table shop.orders: Arrow type Int(64, false) has no Iceberg"
            + " equivalent (Iceberg has no unsigned 64-bit integer; cast to int64 or"
            + " decimal(20,0))");
    Field map =
        new Field(
            "m",
            FieldType.nullable(new ArrowType.Map(false)),
            List.of(
                new Field(
                    "entries",
                    FieldType.notNullable(ArrowType.Struct.INSTANCE),
                    List.of(
                        Field.notNullable("key", ArrowType.Utf8.INSTANCE),
                        Field.nullable("value", ArrowType.Null.INSTANCE)))));
    assertRejected(
        schema(map),
        "Cannot map column 'm.value' of table shop.orders: Arrow type Null has no Iceberg"
            + " equivalent (Iceberg has no null type; give the column a concrete nullable type)");
  }

  @Test
  void toIceberg_duplicateNames_isRejectedNamingColumn() {
    assertRejected(
        schema(
            Field.nullable("a", new ArrowType.Int(32, true)),
            Field.nullable("a", ArrowType.Utf8.INSTANCE)),
        "Cannot map column 'a' of table shop.orders: the Arrow schema has two fields named 'a'"
            + " (rename one of them)");
  }

  private static void assertRejected(org.apache.arrow.vector.types.pojo.Schema arrow, String msg) {
    assertThatThrownBy(() -> ArrowSchemas.toIceberg(arrow, TABLE))
        .isInstanceOf(ValidationException.class)
        .hasMessage(msg);
  }

  private static org.apache.arrow.vector.types.pojo.Schema schema(Field... fields) {
    return new org.apache.arrow.vector.types.pojo.Schema(List.of(fields));
  }

  private static Field mapField(
      String name, boolean nullable, ArrowType keyType, boolean valueNullable) {
    return new Field(
        name,
        new FieldType(nullable, new ArrowType.Map(false), null),
        List.of(
            new Field(
                "entries",
                FieldType.notNullable(ArrowType.Struct.INSTANCE),
                List.of(
                    Field.notNullable("key", keyType),
                    new Field(
                        "value",
                        new FieldType(valueNullable, ArrowType.Utf8.INSTANCE, null),
                        List.of())))));
  }
}
