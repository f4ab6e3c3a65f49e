package io.crest.iceberg.keyed;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.UuidVector;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.Test;

class KeyCodecTest {
  private static final Schema SCHEMA = new Schema(
      Types.NestedField.required(1, "tenant", Types.StringType.get()),
      Types.NestedField.required(2, "day", Types.DateType.get()),
      Types.NestedField.required(3, "item", Types.UUIDType.get()),
      Types.NestedField.required(4, "n", Types.IntegerType.get()),
      Types.NestedField.required(5, "at", Types.TimestampType.withZone()),
      Types.NestedField.required(6, "raw", Types.BinaryType.get()),
      Types.NestedField.required(7, "id", Types.LongType.get()),
      Types.NestedField.optional(8, "score", Types.DoubleType.get()),
      Types.NestedField.optional(9, "s", Types.StructType.of(
          Types.NestedField.optional(10, "inner", Types.LongType.get()))));
  private static final List<String> ALL =
      List.of("tenant", "day", "item", "n", "at", "raw");

  @Test
  void hash128_isMurmur3x64_128() {
    Hash128 h = new Hash128();
    h.putLong(0x0102030405060708L);
    h.finish();
    assertThat(new long[] {h.h1, h.h2}).containsExactly(0x9377698977526192L, 0x72bbc33e537b13a0L);
    h.reset();
    h.putSized("The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8));
    h.finish();
    assertThat(new long[] {h.h1, h.h2}).containsExactly(0xd2b5eb699ae6c572L, 0x67cb4f1d54c996dfL);
    h.reset();
    h.putLong(-7L);
    h.putSized(new byte[] {1, 2, 3});
    h.finish();
    assertThat(new long[] {h.h1, h.h2}).containsExactly(0x6e388b37030a3c02L, 0x96e71e0f66649ab5L);
  }

  @Test
  void aKeyReadFromArrowVectors_hashesAsTheSameKeyReadFromAnIcebergRecord() {
    KeyCodec codec = KeyCodec.of(SCHEMA, ALL, "db.t");
    assertThat(codec.wide()).isTrue();
    UUID item = UUID.fromString("0b6a2f5e-3c1d-4e8f-9a7b-1c2d3e4f5a6b");
    LocalDate day = LocalDate.of(2026, 12, 2);
    OffsetDateTime at = OffsetDateTime.of(2026, 12, 2, 11, 0, 0, 123_456_000, ZoneOffset.UTC);
    byte[] raw = {0, 1, (byte) 0xff};
    try (BufferAllocator allocator = new RootAllocator();
        VarCharVector tenant = new VarCharVector("tenant", allocator);
        LargeVarCharVector largeTenant = new LargeVarCharVector("tenant", allocator);
        DateDayVector days = new DateDayVector("day", allocator);
        UuidVector items = new UuidVector("item", allocator);
        IntVector n = new IntVector("n", allocator);
        TimeStampMicroTZVector ats = new TimeStampMicroTZVector("at", allocator, "UTC");
        VarBinaryVector raws = new VarBinaryVector("raw", allocator)) {
      tenant.setSafe(0, "zoë".getBytes(StandardCharsets.UTF_8));
      tenant.setSafe(1, "zoe".getBytes(StandardCharsets.UTF_8));
      largeTenant.setSafe(0, "zoë".getBytes(StandardCharsets.UTF_8));
      days.setSafe(0, (int) day.toEpochDay());
      days.setSafe(1, (int) day.toEpochDay());
      items.setSafe(0, item);
      items.setSafe(1, item);
      n.setSafe(0, -42);
      n.setSafe(1, -42);
      ats.setSafe(0, at.toEpochSecond() * 1_000_000 + 123_456);
      ats.setSafe(1, at.toEpochSecond() * 1_000_000 + 123_456);
      raws.setSafe(0, raw);
      raws.setSafe(1, raw);
      for (FieldVector v : List.<FieldVector>of(tenant, days, items, n, ats, raws)) {
        v.setValueCount(2);
      }
      largeTenant.setValueCount(1);
      List<FieldVector> vectors = List.of(tenant, days, items, n, ats, raws);
      KeyCodec.ArrowKeys keys = codec.arrow(name -> vectors.stream()
          .filter(v -> v.getName().equals(name)).findFirst().orElse(null));
      KeyCodec.ArrowKeys large = codec.arrow(name -> name.equals("tenant") ? largeTenant
          : vectors.stream().filter(v -> v.getName().equals(name)).findFirst().orElse(null));
      KeyCodec.Key fromArrow = new KeyCodec.Key();
      KeyCodec.Key fromLarge = new KeyCodec.Key();
      KeyCodec.Key other = new KeyCodec.Key();
      KeyCodec.Key fromRecord = new KeyCodec.Key();
      keys.read(0, fromArrow);
      large.read(0, fromLarge);
      keys.read(1, other);
      Record r = GenericRecord.create(SCHEMA);
      r.setField("tenant", "zoë");
      r.setField("day", day);
      r.setField("item", item);
      r.setField("n", -42);
      r.setField("at", at);
      r.setField("raw", ByteBuffer.wrap(raw));
      codec.of(r, fromRecord);
      assertThat(new long[] {fromArrow.hi, fromArrow.lo})
          .containsExactly(fromRecord.hi, fromRecord.lo)
          .containsExactly(fromLarge.hi, fromLarge.lo);
      assertThat(new long[] {other.hi, other.lo}).as("'zoe' is another key than 'zoë'")
          .isNotEqualTo(new long[] {fromArrow.hi, fromArrow.lo});
    }
  }

  @Test
  void datesInMillisecondsAndTimestampsInCoarserUnits_hashAsTheDatesAndMicrosTheyAreWrittenAs() {
    Schema s = new Schema(Types.NestedField.required(1, "day", Types.DateType.get()),
        Types.NestedField.required(2, "at", Types.TimestampType.withZone()),
        Types.NestedField.required(3, "local", Types.TimestampType.withoutZone()));
    KeyCodec codec = KeyCodec.of(s, List.of("day", "at", "local"), "db.t");
    LocalDate day = LocalDate.of(1969, 12, 31); // before the epoch: days are floored
    OffsetDateTime at = OffsetDateTime.of(2026, 12, 2, 11, 0, 1, 234_000_000, ZoneOffset.UTC);
    LocalDateTime local = LocalDateTime.of(2026, 12, 2, 11, 0, 5);
    org.apache.arrow.vector.types.pojo.Schema arrow = new org.apache.arrow.vector.types.pojo.Schema(
        List.of(org.apache.arrow.vector.types.pojo.Field.notNullable("day",
                new org.apache.arrow.vector.types.pojo.ArrowType.Date(
                    org.apache.arrow.vector.types.DateUnit.MILLISECOND)),
            org.apache.arrow.vector.types.pojo.Field.notNullable("at",
                new org.apache.arrow.vector.types.pojo.ArrowType.Timestamp(
                    org.apache.arrow.vector.types.TimeUnit.MILLISECOND, "UTC")),
            org.apache.arrow.vector.types.pojo.Field.notNullable("local",
                new org.apache.arrow.vector.types.pojo.ArrowType.Timestamp(
                    org.apache.arrow.vector.types.TimeUnit.SECOND, null))));
    assertThat(codec.arrowUnsupported(arrow)).isNull();
    try (BufferAllocator allocator = new RootAllocator();
        org.apache.arrow.vector.VectorSchemaRoot root =
            org.apache.arrow.vector.VectorSchemaRoot.create(arrow, allocator)) {
      ((org.apache.arrow.vector.DateMilliVector) root.getVector("day"))
          .setSafe(0, day.toEpochDay() * 86_400_000L + 3_600_000L); // an hour into the day
      ((org.apache.arrow.vector.TimeStampMilliTZVector) root.getVector("at"))
          .setSafe(0, at.toInstant().toEpochMilli());
      ((org.apache.arrow.vector.TimeStampSecVector) root.getVector("local"))
          .setSafe(0, local.toEpochSecond(ZoneOffset.UTC));
      root.setRowCount(1);
      KeyCodec.Key fromArrow = new KeyCodec.Key();
      codec.arrow(root::getVector).read(0, fromArrow);
      Record r = GenericRecord.create(s);
      r.setField("day", day);
      r.setField("at", at);
      r.setField("local", local);
      KeyCodec.Key fromRecord = new KeyCodec.Key();
      codec.of(r, fromRecord);
      assertThat(new long[] {fromArrow.hi, fromArrow.lo})
          .containsExactly(fromRecord.hi, fromRecord.lo);
    }
  }

  @Test
  void columnsAreDelimited_soMovingBytesBetweenThemMakesAnotherKey() {
    Schema s = new Schema(Types.NestedField.required(1, "a", Types.StringType.get()),
        Types.NestedField.required(2, "b", Types.StringType.get()));
    KeyCodec codec = KeyCodec.of(s, List.of("a", "b"), "db.t");
    KeyCodec.Key x = new KeyCodec.Key();
    KeyCodec.Key y = new KeyCodec.Key();
    Record r = GenericRecord.create(s);
    r.setField("a", "ab");
    r.setField("b", "c");
    codec.of(r, x);
    r.setField("a", "a");
    r.setField("b", "bc");
    codec.of(r, y);
    assertThat(new long[] {x.hi, x.lo}).isNotEqualTo(new long[] {y.hi, y.lo});
  }

  @Test
  void oneIntOrLongColumn_isNarrow_itsValueIsTheKey() {
    KeyCodec codec = KeyCodec.of(SCHEMA, List.of("id"), "db.t");
    assertThat(codec.wide()).isFalse();
    try (BufferAllocator allocator = new RootAllocator();
        BigIntVector ids = new BigIntVector("id", allocator)) {
      ids.setSafe(0, -5L);
      ids.setValueCount(1);
      KeyCodec.Key key = new KeyCodec.Key();
      codec.arrow(name -> ids).read(0, key);
      assertThat(new long[] {key.hi, key.lo}).containsExactly(0L, -5L);
    }
    Record r = GenericRecord.create(SCHEMA);
    r.setField("id", 7L);
    KeyCodec.Key key = new KeyCodec.Key();
    codec.of(r, key);
    assertThat(new long[] {key.hi, key.lo}).containsExactly(0L, 7L);
  }

  @Test
  void columnsTheIndexCannotHold_areNamed() {
    assertThat(KeyCodec.unsupported(SCHEMA, List.of("tenant", "score")))
        .contains("'score'").contains("double");
    assertThat(KeyCodec.unsupported(SCHEMA, List.of("nope"))).contains("'nope' is missing");
    assertThat(KeyCodec.unsupported(SCHEMA, List.of("s.inner"))).contains("not a top-level");
    assertThat(KeyCodec.unsupported(SCHEMA, List.of("tenant", "day", "item", "at"))).isNull();
    assertThatThrownBy(() -> KeyCodec.of(SCHEMA, List.of("score"), "db.t"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("db.t")
        .hasMessageContaining("'score'");
    Record r = GenericRecord.create(SCHEMA);
    r.setField("tenant", "x");
    KeyCodec codec = KeyCodec.of(SCHEMA, List.of("tenant", "day"), "db.t");
    assertThatThrownBy(() -> codec.of(r, new KeyCodec.Key()))
        .hasMessageContaining("db.t").hasMessageContaining("'day' is null");
  }

  @Test
  void wideMaps_andAWideIndex_tellKeysApartByBothHalves() {
    LongLongMap map = LongLongMap.wide();
    map.put(1, 5, 10);
    map.put(2, 5, 20);
    assertThat(map.get(1, 5)).isEqualTo(10);
    assertThat(map.get(2, 5)).isEqualTo(20);
    assertThat(map.get(3, 5)).isEqualTo(LongLongMap.NONE);
    assertThat(map.remove(1, 5)).isEqualTo(10);
    assertThat(map.get(2, 5)).isEqualTo(20);
    LongLongMap copy = map.copy();
    map.clear();
    assertThat(copy.get(2, 5)).isEqualTo(20);
    LongKeyIndex index = LongKeyIndex.withMemory(4096, true);
    index.put(1, 5, LongKeyIndex.location(1, 1));
    index.put(2, 5, LongKeyIndex.location(2, 2));
    assertThat(index.get(1, 5)).isEqualTo(LongKeyIndex.location(1, 1));
    assertThat(index.get(2, 5)).isEqualTo(LongKeyIndex.location(2, 2));
    assertThat(index.remove(1, 5)).isTrue();
    assertThat(index.get(1, 5)).isEqualTo(LongKeyIndex.NONE);
    assertThat(index.get(2, 5)).isEqualTo(LongKeyIndex.location(2, 2));
    assertThatThrownBy(() -> LongKeyIndex.withMemory(4096).put(1, 5, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
