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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.ValidationException;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.hadoop.HadoopTables;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Types;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Writes the same Arrow batches through Crest's columnar writer ({@link ArrowDataWriter}) and
 * through Iceberg's own generic Parquet writer, then compares what Iceberg reads back, the footers'
 * schemas (field ids, types) and the data files' metrics.
 */
class ArrowDataWriterTest {
  private static final String TABLE = "db.columnar";

  @TempDir Path warehouse;
  private BufferAllocator allocator;
  private int tables;

  @BeforeEach
  void setUp() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void tearDown() {
    allocator.close(); // fails on a leak
  }

  static List<Field> fields() {
    return List.of(
        field("id", false, new ArrowType.Int(32, true)),
        field("b", true, ArrowType.Bool.INSTANCE),
        field("i8", true, new ArrowType.Int(8, true)),
        field("i32", true, new ArrowType.Int(32, true)),
        field("i64", true, new ArrowType.Int(64, true)),
        field("u32", true, new ArrowType.Int(32, false)),
        field("f32", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
        field("f64", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
        field("s", true, ArrowType.Utf8.INSTANCE),
        field("ls", true, ArrowType.LargeUtf8.INSTANCE),
        field("bin", true, ArrowType.Binary.INSTANCE),
        field("fx", true, new ArrowType.FixedSizeBinary(5)),
        field("d9", true, new ArrowType.Decimal(9, 2, 128)),
        field("d18", true, new ArrowType.Decimal(18, 3, 128)),
        field("d38", true, new ArrowType.Decimal(38, 5, 128)),
        field("date", true, new ArrowType.Date(DateUnit.DAY)),
        field("dms", true, new ArrowType.Date(DateUnit.MILLISECOND)),
        field("tus", true, new ArrowType.Time(TimeUnit.MICROSECOND, 64)),
        field("tms", true, new ArrowType.Time(TimeUnit.MILLISECOND, 32)),
        field("ts", true, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC")),
        field("tsl", true, new ArrowType.Timestamp(TimeUnit.MILLISECOND, null)),
        field("tsn", true, new ArrowType.Timestamp(TimeUnit.NANOSECOND, "UTC")),
        field("u", true, UuidType.INSTANCE),
        listOf("ints", true, field("element", true, new ArrowType.Int(32, true))),
        structOf("point", true,
            field("x", false, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
            field("label", true, ArrowType.Utf8.INSTANCE)),
        mapOf("attrs", true, ArrowType.Utf8.INSTANCE,
            field("value", true, new ArrowType.Int(64, true))),
        listOf("events", true, structOf("element", false,
            field("kind", false, ArrowType.Utf8.INSTANCE),
            listOf("tags", true, field("element", true, ArrowType.Utf8.INSTANCE)))),
        // inputs that convert to the table's types on the way
        field("i16", true, new ArrowType.Int(16, true)),
        field("u8", true, new ArrowType.Int(8, false)),
        field("u16", true, new ArrowType.Int(16, false)),
        field("f16", true, new ArrowType.FloatingPoint(FloatingPointPrecision.HALF)),
        field("lbin", true, ArrowType.LargeBinary.INSTANCE),
        field("sv", true, ArrowType.Utf8View.INSTANCE),
        field("d256", true, new ArrowType.Decimal(20, 4, 256)),
        field("tns", true, new ArrowType.Time(TimeUnit.NANOSECOND, 64)),
        field("tsec", true, new ArrowType.Time(TimeUnit.SECOND, 32)),
        field("tss", true, new ArrowType.Timestamp(TimeUnit.SECOND, "UTC")),
        field("llist", true, ArrowType.LargeList.INSTANCE,
            field("element", true, new ArrowType.Int(64, true))),
        field("fsl", true, new ArrowType.FixedSizeList(2),
            field("element", true, new ArrowType.Int(32, true))));
  }

  /** Values of the converting columns for row {@code i}: edge values in rows 0 and 1. */
  private static Object[] converting(Random r, int i) {
    if (i == 0) {
      return new Object[] {(int) Short.MIN_VALUE, 0, 0, -65504f, new byte[0], "",
          new BigDecimal("-9999999999999999.9999"), 0L, 0, -62135596800L, values(), values(1, 2)};
    }
    if (i == 1) {
      return new Object[] {(int) Short.MAX_VALUE, 255, 65535, Float.NaN, bytes(r, 100),
          "a string longer than twelve bytes", new BigDecimal("9999999999999999.9999"),
          86_399_999_999_999L, 86_399, 253402300799L, values(Long.MAX_VALUE, null),
          values(null, Integer.MIN_VALUE)};
    }
    boolean n = r.nextInt(6) == 0;
    return new Object[] {
        n ? null : r.nextInt(65536) - 32768,
        n ? null : r.nextInt(256),
        n ? null : r.nextInt(65536),
        n ? null : (float) (r.nextInt(2000) - 1000) / 8,
        n ? null : bytes(r, r.nextInt(20)),
        n ? null : r.nextBoolean() ? "short" + r.nextInt(9) : "long-enough-" + r.nextLong(),
        n ? null : BigDecimal.valueOf(r.nextLong() % 10_000_000_000_000_000L, 4),
        n ? null : (long) r.nextInt(86_400_000) * 1_000_000 + r.nextInt(1_000_000),
        n ? null : r.nextInt(86_400),
        n ? null : 1_600_000_000L + r.nextInt(100_000_000),
        r.nextInt(5) == 0 ? null : values(r.nextLong(), null, r.nextLong()),
        r.nextInt(5) == 0 ? null : values(r.nextInt(), r.nextBoolean() ? null : r.nextInt())};
  }

  static List<List<?>> data(int rows, long seed) {
    Random r = new Random(seed);
    List<Object[]> out = new ArrayList<>();
    String longString = "ü".repeat(40) + "z";
    out.add(new Object[] {0, true, (int) Byte.MIN_VALUE, Integer.MIN_VALUE, Long.MIN_VALUE, 0L,
        Float.NaN, Double.NEGATIVE_INFINITY, "", longString, new byte[0], new byte[5],
        new BigDecimal("-9999999.99"), new BigDecimal("-999999999999999.999"),
        new BigDecimal("-999999999999999999999999999999999.99999"), -719162, -86_400_000L, 0L, 0,
        -62135596800000000L, -62135596800000L, Long.MIN_VALUE + 1, new UUID(0, 0),
        values(), struct("x", Double.NaN, "label", ""), map("", 0L), values()});
    out.add(new Object[] {1, false, (int) Byte.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE,
        4294967295L, -0.0f, Double.NaN, "\uffff\uffff", "zz" + longString, bytes(r, 40),
        new byte[] {-1, -1, -1, -1, -1}, new BigDecimal("9999999.99"),
        new BigDecimal("999999999999999.999"),
        new BigDecimal("999999999999999999999999999999999.99999"), 2932896, 86_400_000L,
        86_399_999_999L, 86_399_999, 253402300799999999L, 253402300799999L, Long.MAX_VALUE,
        new UUID(-1, -1), null, null, null, null});
    for (int i = 2; i < rows; i++) {
      boolean n = r.nextInt(6) == 0;
      List<Object> ints = new ArrayList<>();
      for (int k = r.nextInt(5); k > 0; k--) {
        ints.add(r.nextInt(9) == 0 ? null : r.nextInt(100_000) - 50_000);
      }
      List<Object> events = new ArrayList<>();
      for (int k = r.nextInt(3); k > 0; k--) {
        List<Object> tags = new ArrayList<>();
        for (int t = r.nextInt(3); t > 0; t--) {
          tags.add(r.nextInt(7) == 0 ? null : "tag" + r.nextInt(20));
        }
        events.add(struct("kind", "k" + r.nextInt(4), "tags", r.nextBoolean() ? tags : null));
      }
      out.add(new Object[] {i,
          n ? null : r.nextBoolean(),
          n ? null : r.nextInt(256) - 128,
          n ? null : r.nextInt(),
          n ? null : r.nextLong(),
          n ? null : r.nextLong() & 0xFFFFFFFFL,
          n ? null : r.nextInt(50) == 0 ? Float.NaN : r.nextFloat() * 100 - 50,
          n ? null : r.nextGaussian() * 1e6,
          n ? null : "s-" + Long.toString(r.nextLong(), 36),
          n ? null : "large-" + r.nextInt(1000),
          n ? null : bytes(r, r.nextInt(30)),
          n ? null : bytes(r, 5),
          n ? null : BigDecimal.valueOf(r.nextInt(1_999_999_999) - 999_999_999, 2),
          n ? null : BigDecimal.valueOf(r.nextLong() % 1_000_000_000_000_000L, 3),
          n ? null : new BigDecimal(new BigInteger(110, r), 5),
          n ? null : r.nextInt(30_000),
          n ? null : (long) r.nextInt(30_000) * 86_400_000L,
          n ? null : (long) r.nextInt(86_400_000) * 1000 + r.nextInt(1000),
          n ? null : r.nextInt(86_400_000),
          n ? null : 1_600_000_000_000_000L + r.nextInt(1_000_000_000),
          n ? null : 1_600_000_000_000L + r.nextInt(1_000_000_000),
          n ? null : r.nextLong(),
          n ? null : new UUID(r.nextLong(), r.nextLong()),
          r.nextInt(8) == 0 ? null : ints,
          r.nextInt(8) == 0 ? null
              : struct("x", r.nextDouble(), "label", r.nextBoolean() ? null : "l" + i),
          r.nextInt(8) == 0 ? null : map("a" + (i % 5), (long) i, "b", null),
          r.nextInt(8) == 0 ? null : events});
    }
    Random c = new Random(seed + 1);
    for (int i = 0; i < out.size(); i++) {
      Object[] base = out.get(i);
      Object[] extra = converting(c, i);
      Object[] row = java.util.Arrays.copyOf(base, base.length + extra.length);
      System.arraycopy(extra, 0, row, base.length, extra.length);
      out.set(i, row);
    }
    return ArrowTestData.columns(out.toArray(new Object[0][]));
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  private Table table(Map<String, String> properties) {
    org.apache.arrow.vector.types.pojo.Schema arrow =
        new org.apache.arrow.vector.types.pojo.Schema(fields());
    Map<String, String> props = new HashMap<>(properties);
    props.put(TableProperties.FORMAT_VERSION, "3");
    return new HadoopTables(new Configuration()).create(ArrowSchemas.toIceberg(arrow, TABLE),
        PartitionSpec.unpartitioned(), props,
        warehouse.resolve("t" + (tables++)).toUri().toString());
  }

  private List<DataFile> writeCrest(Table table, List<List<?>>... batches) {
    try (ArrowDataWriter writer = ArrowDataWriter.open(table, 1, 7)) {
      for (List<List<?>> columns : batches) {
        try (VectorSchemaRoot root = ArrowTestData.batch(allocator,
            new org.apache.arrow.vector.types.pojo.Schema(fields()), columns)) {
          writer.write(root);
        }
      }
      return writer.complete();
    }
  }

  private DataFile writeIceberg(Table table, List<List<?>> columns) throws IOException {
    List<Record> records = new ArrayList<>();
    try (VectorSchemaRoot root = ArrowTestData.batch(allocator,
        new org.apache.arrow.vector.types.pojo.Schema(fields()), columns)) {
      ArrowRecords.Converter converter =
          ArrowRecords.converter(table.schema(), root.getSchema(), TABLE);
      for (int row = 0; row < root.getRowCount(); row++) {
        records.add(converter.row(root, row));
      }
    }
    DataWriter<Record> writer = Parquet.writeData(table.io().newOutputFile(
            table.locationProvider().newDataLocation("iceberg-" + tables + ".parquet")))
        .forTable(table)
        .createWriterFunc(GenericParquetWriter::create)
        .overwrite()
        .build();
    try (writer) {
      for (Record record : records) {
        writer.write(record);
      }
    }
    return writer.toDataFile();
  }

  private static List<Object> read(Table table, DataFile file) throws IOException {
    List<Object> rows = new ArrayList<>();
    try (CloseableIterable<Record> records = Parquet.read(table.io().newInputFile(file.location()))
        .project(table.schema())
        .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(table.schema(),
            fileSchema))
        .build()) {
      for (Record r : records) {
        rows.add(normalize(r));
      }
    }
    return rows;
  }

  private static MessageType footerSchema(DataFile file) throws IOException {
    try (ParquetFileReader reader = ParquetFileReader.open(
        new LocalInputFile(Path.of(java.net.URI.create(file.location()).getPath())),
        ParquetReadOptions.builder().build())) {
      return reader.getFooter().getFileMetaData().getSchema();
    }
  }

  static Object normalize(Object value) {
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
      return "bytes:" + hex((ByteBuffer) value);
    } else if (value instanceof CharSequence) {
      return value.toString();
    }
    return value;
  }

  private static String hex(ByteBuffer value) {
    ByteBuffer buffer = value.duplicate();
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  private static Map<Integer, String> hexMap(Map<Integer, ByteBuffer> map) {
    Map<Integer, String> out = new TreeMap<>();
    if (map != null) {
      map.forEach((k, v) -> out.put(k, hex(v)));
    }
    return out;
  }

  private static <T> Map<Integer, T> sorted(Map<Integer, T> map) {
    return map == null ? new TreeMap<>() : new TreeMap<>(map);
  }

  static Stream<Map<String, String>> metricsConfigs() {
    return Stream.of(
        Map.of(),
        Map.of("write.metadata.metrics.default", "full"),
        Map.of("write.metadata.metrics.default", "counts",
            "write.metadata.metrics.column.s", "truncate(4)",
            "write.metadata.metrics.column.i64", "none"),
        Map.of("write.metadata.metrics.default", "none",
            "write.metadata.metrics.column.bin", "truncate(2)",
            "write.metadata.metrics.column.f32", "full"));
  }

  @ParameterizedTest
  @MethodSource("metricsConfigs")
  void sameBatches_crestAndIcebergWriters_agreeOnValuesMetricsAndFieldIds(
      Map<String, String> properties) throws IOException {
    Table table = table(properties);
    List<List<?>> columns = data(2500, 11);

    List<DataFile> crest = writeCrest(table, columns);
    DataFile iceberg = writeIceberg(table, columns);

    assertThat(crest).hasSize(1);
    DataFile c = crest.get(0);
    assertThat(read(table, c)).isEqualTo(read(table, iceberg));
    assertThat(footerSchema(c)).isEqualTo(footerSchema(iceberg));
    assertThat(c.recordCount()).isEqualTo(iceberg.recordCount());
    assertThat(c.fileSizeInBytes()).isEqualTo(Files.size(
        Path.of(java.net.URI.create(c.location()).getPath())));
    assertThat(sorted(c.valueCounts())).as("value counts")
        .isEqualTo(sorted(iceberg.valueCounts()));
    assertThat(sorted(c.nullValueCounts())).as("null counts")
        .isEqualTo(sorted(iceberg.nullValueCounts()));
    assertThat(sorted(c.nanValueCounts())).as("NaN counts")
        .isEqualTo(sorted(iceberg.nanValueCounts()));
    assertThat(hexMap(c.lowerBounds())).as("lower bounds")
        .isEqualTo(hexMap(iceberg.lowerBounds()));
    assertThat(hexMap(c.upperBounds())).as("upper bounds")
        .isEqualTo(hexMap(iceberg.upperBounds()));
    assertThat(sorted(c.columnSizes()).keySet()).as("columns with sizes")
        .isEqualTo(sorted(iceberg.columnSizes()).keySet());
    assertThat(c.splitOffsets()).isEqualTo(iceberg.splitOffsets());
  }

  @Test
  void committedCrestFiles_readBackThroughTheTable() throws IOException {
    Table table = table(Map.of(TableProperties.PARQUET_COMPRESSION, "snappy"));
    List<List<?>> first = data(700, 21);
    List<List<?>> second = data(300, 22);

    List<DataFile> files = writeCrest(table, first, second);
    var append = table.newFastAppend();
    files.forEach(append::appendFile);
    append.commit();

    List<Object> expected = new ArrayList<>();
    expected.addAll(read(table, writeIceberg(table, first)));
    expected.addAll(read(table, writeIceberg(table, second)));
    List<Record> records = new ArrayList<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      rows.forEach(records::add);
    }
    assertThat(records).hasSize(1000);
    List<Object> actual = new ArrayList<>();
    for (Record r : records) {
      actual.add(normalize(r));
    }
    assertThat(actual).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void smallTargetFileSize_rollsIntoSeveralDataFiles() throws IOException {
    Table table = table(Map.of(TableProperties.WRITE_TARGET_FILE_SIZE_BYTES, "65536",
        TableProperties.PARQUET_ROW_GROUP_SIZE_BYTES, "16384"));

    List<DataFile> files = writeCrest(table, data(3000, 31), data(9000, 32));

    assertThat(files.size()).isGreaterThan(2);
    assertThat(files.stream().mapToLong(DataFile::recordCount).sum()).isEqualTo(12_000);
    long rows = 0;
    for (DataFile f : files) {
      rows += read(table, f).size();
      assertThat(f.fileSizeInBytes()).isLessThan(65536 * 2);
    }
    assertThat(rows).isEqualTo(12_000);
  }

  @Test
  void unsupportedCodecProperty_isRejectedWhenOpening() {
    Table table = table(Map.of(TableProperties.PARQUET_COMPRESSION, "brotli"));

    assertThatThrownBy(() -> ArrowDataWriter.open(table, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write table " + table.name() + ": write.parquet.compression-codec"
            + " is 'brotli', which Crest's columnar writer does not support (set it to"
            + " uncompressed, snappy, gzip, zstd or lz4_raw, or use the generic writer)");
  }

  @Test
  void codecAndLevelProperties_reachTheFile() throws IOException {
    Table table = table(Map.of(TableProperties.PARQUET_COMPRESSION, "gzip",
        TableProperties.PARQUET_COMPRESSION_LEVEL, "9"));

    DataFile file = writeCrest(table, data(100, 41)).get(0);

    try (ParquetFileReader reader = ParquetFileReader.open(
        new LocalInputFile(Path.of(java.net.URI.create(file.location()).getPath())),
        ParquetReadOptions.builder().build())) {
      assertThat(reader.getFooter().getBlocks().get(0).getColumns().get(0).getCodec().name())
          .isEqualTo("GZIP");
    }
  }

  @Test
  void close_withoutComplete_deletesTheStartedFiles() throws IOException {
    Table table = table(Map.of());
    Path data = Path.of(java.net.URI.create(table.location()).getPath()).resolve("data");
    try (ArrowDataWriter writer = ArrowDataWriter.open(table, 1, 1);
        VectorSchemaRoot root = ArrowTestData.batch(allocator,
            new org.apache.arrow.vector.types.pojo.Schema(fields()), data(50, 51))) {
      writer.write(root);
      writer.complete();
      writer.write(root);
      assertThat(writer.openFileBytes()).isPositive();
    }

    try (Stream<Path> files = Files.list(data)) {
      assertThat(files.filter(p -> p.toString().endsWith(".parquet")).count()).isEqualTo(1);
    }
  }

  @Test
  void batchWithUnknownColumn_isRejectedNamingTable() {
    Table table = table(Map.of());
    org.apache.arrow.vector.types.pojo.Schema extra = new org.apache.arrow.vector.types.pojo
        .Schema(List.of(field("id", false, new ArrowType.Int(32, true)),
            field("nope", true, ArrowType.Utf8.INSTANCE)));
    try (ArrowDataWriter writer = ArrowDataWriter.open(table, 1, 1);
        VectorSchemaRoot root = ArrowTestData.batch(allocator, extra,
            ArrowTestData.columns(new Object[] {1, "x"}))) {
      assertThatThrownBy(() -> writer.write(root))
          .isInstanceOf(ValidationException.class)
          .hasMessage("Cannot write batch to table " + table.name() + ": the batch has columns"
              + " [nope] that the file schema lacks (drop them, or add them to the table first)");
    }
  }

  @Test
  void partitionedTable_needsThePartitionAWriterWrites() {
    org.apache.arrow.vector.types.pojo.Schema arrow =
        new org.apache.arrow.vector.types.pojo.Schema(fields());
    Schema schema = ArrowSchemas.toIceberg(arrow, TABLE);
    Table table = new HadoopTables(new Configuration()).create(schema,
        PartitionSpec.builderFor(schema).identity("i32").build(),
        Map.of(TableProperties.FORMAT_VERSION, "3"),
        warehouse.resolve("partitioned").toUri().toString());

    assertThatThrownBy(() -> ArrowDataWriter.open(table, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot write table " + table.name()
            + " with one columnar writer: it is partitioned by")
        .hasMessageContaining("needs the partition it writes");
  }

}
