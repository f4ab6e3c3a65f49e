package io.crest.iceberg.write;

import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.iceberg.testing.ArrowTestData;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.util.BucketUtil;
import org.apache.iceberg.util.StructLikeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The vectorized partitioner groups rows exactly as Iceberg's own {@link PartitionKey} does, row
 * by row, for every transform and every Arrow type it accepts, on random values with nulls,
 * negatives, calendar edges and multi-byte text.
 */
class ArrowPartitionerTest {
  private static final long MICROS_PER_DAY = 86_400_000_000L;
  private static final String[] WORDS = {
    "", "a", "ab", "abc", "abcd", "é", "éé", "日本語", "日本", "😀x", "😀😀😀", "x😀", "zzzzzzzz",
    "eu", "us", "ap"
  };

  private BufferAllocator allocator;

  @BeforeEach
  void setUp() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void tearDown() {
    assertThat(allocator.getAllocatedMemory()).isZero();
    allocator.close();
  }

  static Stream<Arguments> cases() {
    ArrowType int32 = new ArrowType.Int(32, true);
    ArrowType int64 = new ArrowType.Int(64, true);
    ArrowType tsMicroUtc = new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC");
    ArrowType tsMilli = new ArrowType.Timestamp(TimeUnit.MILLISECOND, null);
    ArrowType tsSecond = new ArrowType.Timestamp(TimeUnit.SECOND, "UTC");
    ArrowType dateDay = new ArrowType.Date(DateUnit.DAY);
    ArrowType dateMilli = new ArrowType.Date(DateUnit.MILLISECOND);
    Function<Random, Object> ints = r -> r.nextInt(5) == 0
        ? pick(r, Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 0, 1, -10, 10, -11, 9)
        : r.nextInt(2_000) - 1_000;
    Function<Random, Object> longs = r -> r.nextInt(5) == 0
        ? pick(r, Long.MIN_VALUE + 1_000, Long.MAX_VALUE, -1L, 0L, 1L, -100L, 100L, -101L)
        : (long) (r.nextInt(20_000) - 10_000);
    // 1900 to 2100, with a bias to the edges of years, months, days and hours around 1970
    Function<Random, Object> micros = r -> {
      long base = r.nextBoolean() ? 0 : (long) (r.nextDouble() * 2 * 36_500 - 25_550) * MICROS_PER_DAY;
      return base + (r.nextInt(7) - 3) * 3_600_000_000L + (r.nextInt(3) - 1);
    };
    Function<Random, Object> days = r -> r.nextInt(3) == 0 ? r.nextInt(5) - 2 : r.nextInt(73_000) - 25_550;
    Function<Random, Object> words = r -> WORDS[r.nextInt(WORDS.length)];
    Function<Random, Object> bytes = r -> ((String) WORDS[r.nextInt(WORDS.length)])
        .getBytes(StandardCharsets.UTF_8);
    Function<Random, Object> fixed = r -> new byte[] {(byte) r.nextInt(3), 0, (byte) r.nextInt(2), 7};
    return Stream.of(
        Arguments.of("int identity", int32, ints, "identity"),
        Arguments.of("int bucket", int32, ints, "bucket[7]"),
        Arguments.of("int truncate", int32, ints, "truncate[10]"),
        Arguments.of("smallint bucket", new ArrowType.Int(16, true),
            (Function<Random, Object>) r -> r.nextInt(600) - 300, "bucket[5]"),
        Arguments.of("uint32 identity", new ArrowType.Int(32, false),
            (Function<Random, Object>) r -> (long) r.nextInt(50) + (r.nextBoolean() ? 4_000_000_000L : 0),
            "identity"),
        Arguments.of("long identity", int64, longs, "identity"),
        Arguments.of("long bucket", int64, longs, "bucket[16]"),
        Arguments.of("long truncate", int64, longs, "truncate[100]"),
        Arguments.of("long void", int64, longs, "void"),
        Arguments.of("date identity", dateDay, days, "identity"),
        Arguments.of("date bucket", dateDay, days, "bucket[9]"),
        Arguments.of("date year", dateDay, days, "year"),
        Arguments.of("date month", dateDay, days, "month"),
        Arguments.of("date day", dateDay, days, "day"),
        Arguments.of("date-millis month", dateMilli,
            (Function<Random, Object>) r -> ((Integer) days.apply(r)) * 86_400_000L
                + (r.nextBoolean() ? 0 : 3_600_000L), "month"),
        Arguments.of("timestamptz identity", tsMicroUtc, micros, "identity"),
        Arguments.of("timestamptz bucket", tsMicroUtc, micros, "bucket[11]"),
        Arguments.of("timestamptz year", tsMicroUtc, micros, "year"),
        Arguments.of("timestamptz month", tsMicroUtc, micros, "month"),
        Arguments.of("timestamptz day", tsMicroUtc, micros, "day"),
        Arguments.of("timestamptz hour", tsMicroUtc, micros, "hour"),
        Arguments.of("timestamp-millis hour", tsMilli,
            (Function<Random, Object>) r -> ((Long) micros.apply(r)) / 1_000, "hour"),
        Arguments.of("timestamp-millis day", tsMilli,
            (Function<Random, Object>) r -> ((Long) micros.apply(r)) / 1_000, "day"),
        Arguments.of("timestamptz-seconds year", tsSecond,
            (Function<Random, Object>) r -> ((Long) micros.apply(r)) / 1_000_000, "year"),
        Arguments.of("time identity", new ArrowType.Time(TimeUnit.MICROSECOND, 64),
            (Function<Random, Object>) r -> (long) r.nextInt(40) * 1_000_000L, "identity"),
        Arguments.of("time-millis bucket", new ArrowType.Time(TimeUnit.MILLISECOND, 32),
            (Function<Random, Object>) r -> r.nextInt(86_400_000), "bucket[4]"),
        Arguments.of("boolean identity", ArrowType.Bool.INSTANCE,
            (Function<Random, Object>) Random::nextBoolean, "identity"),
        Arguments.of("float identity", new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE),
            (Function<Random, Object>) r -> pick(r, 0.0f, -0.0f, Float.NaN, 1.5f, -1.5f,
                Float.POSITIVE_INFINITY), "identity"),
        Arguments.of("double identity", new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE),
            (Function<Random, Object>) r -> pick(r, 0.0, -0.0, Double.NaN, 2.25, -2.25,
                Double.MIN_VALUE), "identity"),
        Arguments.of("string identity", ArrowType.Utf8.INSTANCE, words, "identity"),
        Arguments.of("string bucket", ArrowType.Utf8.INSTANCE, words, "bucket[5]"),
        Arguments.of("string truncate", ArrowType.Utf8.INSTANCE, words, "truncate[2]"),
        Arguments.of("large string truncate", ArrowType.LargeUtf8.INSTANCE, words, "truncate[1]"),
        Arguments.of("binary identity", ArrowType.Binary.INSTANCE, bytes, "identity"),
        Arguments.of("binary bucket", ArrowType.Binary.INSTANCE, bytes, "bucket[3]"),
        Arguments.of("binary truncate", ArrowType.LargeBinary.INSTANCE, bytes, "truncate[3]"),
        Arguments.of("fixed identity", new ArrowType.FixedSizeBinary(4), fixed, "identity"),
        Arguments.of("fixed bucket", new ArrowType.FixedSizeBinary(4), fixed, "bucket[2]"));
  }

  @SafeVarargs
  private static <T> T pick(Random r, T... values) {
    return values[r.nextInt(values.length)];
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void groupsRowsExactlyAsIcebergsPartitionKey(
      String name, ArrowType type, Function<Random, Object> values, String transform) {
    Random random = new Random(name.hashCode());
    Schema arrow = new Schema(List.of(field("c", true, type), field("n", false, new ArrowType.Int(32, true))));
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(arrow, "db.t");
    PartitionSpec spec = spec(schema, transform);
    for (int round = 0; round < 4; round++) {
      int rows = 1 + random.nextInt(3_000);
      List<Object> column = new ArrayList<>();
      List<Object> ns = new ArrayList<>();
      for (int i = 0; i < rows; i++) {
        column.add(random.nextInt(10) == 0 ? null : values.apply(random));
        ns.add(i);
      }
      try (VectorSchemaRoot batch = ArrowTestData.batch(allocator, arrow, List.of(column, ns))) {
        assertSameGroupsAsIceberg(schema, spec, arrow, batch);
      }
    }
  }

  @Test
  void severalFields_missingColumns_andPartitionsReappearingFarApart() {
    Schema arrow = new Schema(List.of(
        field("id", false, new ArrowType.Int(64, true)),
        field("region", false, ArrowType.Utf8.INSTANCE),
        field("customer", true, ArrowType.Utf8.INSTANCE),
        field("at", false, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))));
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(arrow, "db.t");
    PartitionSpec spec = PartitionSpec.builderFor(schema).identity("region")
        .bucket("customer", 4).truncate("region", 1).day("at").truncate("id", 50).build();
    Random random = new Random(7);
    List<List<?>> columns = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
        new ArrayList<>());
    for (int i = 0; i < 5_000; i++) {
      ((List<Object>) columns.get(0)).add((long) random.nextInt(400) - 200);
      ((List<Object>) columns.get(1)).add(WORDS[random.nextInt(WORDS.length)]);
      ((List<Object>) columns.get(2)).add(random.nextInt(6) == 0 ? null : "c-" + random.nextInt(30));
      ((List<Object>) columns.get(3)).add((long) (random.nextInt(40) - 20) * 7_200_000_000L);
    }
    try (VectorSchemaRoot batch = ArrowTestData.batch(allocator, arrow, columns)) {
      int partitions = assertSameGroupsAsIceberg(schema, spec, arrow, batch);
      assertThat(partitions).isGreaterThan(100);
    }
    // a batch without the partition source column 'customer': null in every row
    Schema fewer = new Schema(List.of(arrow.getFields().get(0), arrow.getFields().get(1),
        arrow.getFields().get(3)));
    try (VectorSchemaRoot batch = ArrowTestData.batch(allocator, fewer,
        List.of(columns.get(0), columns.get(1), columns.get(3)))) {
      ArrowPartitioner partitioner = ArrowPartitioner.create(schema, spec, fewer);
      partitioner.partition(batch);
      ArrowRecords.Converter converter = ArrowRecords.converter(schema, fewer, "db.t", Set.of());
      assertGroups(schema, spec, converter, partitioner, batch);
    }
  }

  @Test
  void contiguous_tellsWhetherEachPartitionsRowsWereTogether() {
    Schema arrow = new Schema(List.of(field("c", false, ArrowType.Utf8.INSTANCE)));
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(arrow, "db.t");
    PartitionSpec spec = PartitionSpec.builderFor(schema).identity("c").build();
    ArrowPartitioner partitioner = ArrowPartitioner.create(schema, spec, arrow);
    try (VectorSchemaRoot sorted = ArrowTestData.batch(allocator, arrow,
            List.of(List.of("a", "a", "b", "c", "c")));
        VectorSchemaRoot unsorted = ArrowTestData.batch(allocator, arrow,
            List.of(List.of("a", "b", "a")))) {
      assertThat(partitioner.partition(sorted)).isEqualTo(3);
      assertThat(partitioner.contiguous()).isTrue();
      assertThat(partitioner.partition(unsorted)).isEqualTo(2);
      assertThat(partitioner.contiguous()).isFalse();
      assertThat(partitioner.rowOrder()).startsWith(0, 2, 1);
    }
  }

  @Test
  void unsupportedTransformsAndTypes_areNamed() {
    Schema arrow = new Schema(List.of(
        field("d", true, new ArrowType.Decimal(10, 2, 128)),
        field("ns", true, new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC")),
        field("s", true, ArrowType.Utf8View.INSTANCE)));
    org.apache.iceberg.Schema schema = ArrowSchemas.toIceberg(arrow, "db.t");
    assertThatThrownBy(() -> ArrowPartitioner.create(schema,
        PartitionSpec.builderFor(schema).bucket("d", 4).build(), arrow))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("partition field d_bucket").hasMessageContaining("decimal(10, 2)");
    assertThatThrownBy(() -> ArrowPartitioner.create(schema,
        PartitionSpec.builderFor(schema).day("ns").build(), arrow))
        .hasMessageContaining("partition field ns_day");
    assertThatThrownBy(() -> ArrowPartitioner.create(schema,
        PartitionSpec.builderFor(schema).identity("s").build(), arrow))
        .hasMessageContaining("partition field s").hasMessageContaining("Arrow type");
  }

  @Test
  void murmur3_matchesIcebergsBucketHash() {
    Random random = new Random(3);
    try (ArrowBuf buf = allocator.buffer(64)) {
      for (int i = 0; i < 10_000; i++) {
        long v = random.nextLong() >> random.nextInt(64);
        assertThat(Murmur3.hashLong(v)).isEqualTo(BucketUtil.hash(v));
        byte[] bytes = new byte[random.nextInt(20)];
        random.nextBytes(bytes);
        buf.setBytes(3, bytes);
        assertThat(Murmur3.hashBytes(buf, 3, bytes.length)).isEqualTo(BucketUtil.hash(bytes));
      }
    }
  }

  @Test
  void civilDays_matchJavaTime() {
    for (long day = -800_000; day <= 800_000; day += 13) {
      java.time.LocalDate date = java.time.LocalDate.ofEpochDay(day);
      assertThat(PartitionEvaluators.CivilDays.year(day)).isEqualTo(date.getYear());
      assertThat(PartitionEvaluators.CivilDays.monthsSinceEpoch(day))
          .isEqualTo((date.getYear() - 1970L) * 12 + date.getMonthValue() - 1);
    }
  }

  private static int assertSameGroupsAsIceberg(org.apache.iceberg.Schema schema,
      PartitionSpec spec, Schema arrow, VectorSchemaRoot batch) {
    ArrowPartitioner partitioner = ArrowPartitioner.create(schema, spec, arrow);
    int partitions = partitioner.partition(batch);
    ArrowRecords.Converter converter = ArrowRecords.converter(schema, arrow, "db.t", Set.of());
    assertGroups(schema, spec, converter, partitioner, batch);
    return partitions;
  }

  /** Rows share an ordinal exactly when Iceberg gives them equal partition tuples. */
  private static void assertGroups(org.apache.iceberg.Schema schema, PartitionSpec spec,
      ArrowRecords.Converter converter, ArrowPartitioner partitioner, VectorSchemaRoot batch) {
    PartitionKey key = new PartitionKey(spec, schema);
    InternalRecordWrapper wrapper = new InternalRecordWrapper(schema.asStruct());
    StructLikeMap<Integer> ordinalOf = StructLikeMap.create(spec.partitionType());
    java.util.Map<Integer, StructLike> keyOf = new java.util.HashMap<>();
    int rows = batch.getRowCount();
    for (int row = 0; row < rows; row++) {
      Record record = GenericRecord.create(schema);
      converter.fill(batch, row, record);
      key.partition(wrapper.wrap(record));
      int ordinal = partitioner.partitionOf(row);
      Integer known = ordinalOf.get(key);
      if (known == null) {
        assertThat(keyOf).as("row %d: partition %s shares ordinal %d with %s", row,
            spec.partitionToPath(key), ordinal,
            keyOf.containsKey(ordinal) ? spec.partitionToPath(keyOf.get(ordinal)) : "")
            .doesNotContainKey(ordinal);
        StructLike copy = key.copy();
        ordinalOf.put(copy, ordinal);
        keyOf.put(ordinal, copy);
        assertThat(partitioner.representative(ordinal)).isEqualTo(row);
      } else {
        assertThat(ordinal).as("row %d of partition %s", row, spec.partitionToPath(key))
            .isEqualTo(known);
      }
    }
    // rowOrder lists each partition's rows together, in row order
    int[] order = partitioner.rowOrder();
    int previous = -1;
    for (int p = 0; p < keyOf.size(); p++) {
      for (int i = partitioner.start(p); i < partitioner.start(p + 1); i++) {
        assertThat(partitioner.partitionOf(order[i])).isEqualTo(p);
        if (i > partitioner.start(p)) {
          assertThat(order[i]).isGreaterThan(previous);
        }
        previous = order[i];
      }
    }
    assertThat(partitioner.start(keyOf.size())).isEqualTo(rows);
  }

  private static PartitionSpec spec(org.apache.iceberg.Schema schema, String transform) {
    PartitionSpec.Builder b = PartitionSpec.builderFor(schema);
    int bracket = transform.indexOf('[');
    int argument = bracket < 0 ? 0
        : Integer.parseInt(transform.substring(bracket + 1, transform.length() - 1));
    switch (bracket < 0 ? transform : transform.substring(0, bracket)) {
      case "identity":
        return b.identity("c").build();
      case "bucket":
        return b.bucket("c", argument).build();
      case "truncate":
        return b.truncate("c", argument).build();
      case "year":
        return b.year("c").build();
      case "month":
        return b.month("c").build();
      case "day":
        return b.day("c").build();
      case "hour":
        return b.hour("c").build();
      case "void":
        return b.alwaysNull("c").build();
      default:
        throw new IllegalArgumentException(transform);
    }
  }
}
