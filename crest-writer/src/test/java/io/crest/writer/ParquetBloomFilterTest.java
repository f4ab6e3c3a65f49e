package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.id;
import static io.crest.writer.Batches.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.DataSize;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.ParquetReadOptions;
import org.apache.parquet.column.values.bloomfilter.BloomFilter;
import org.apache.parquet.hadoop.BloomFilterReader;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.io.LocalInputFile;
import org.apache.parquet.io.api.Binary;
import org.junit.jupiter.api.Test;

/**
 * Bloom filters of Crest's Parquet files read back through parquet-java's {@link
 * BloomFilterReader}: every value a row group holds is "might contain" in that row group's filter,
 * absent values are ruled out about as often as the probability asked for says, and each filter
 * is sized for the distinct values of its row group.
 */
class ParquetBloomFilterTest extends WriterTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      id(1, field("id", false, new ArrowType.Int(64, true))),
      id(2, field("name", true, ArrowType.Utf8.INSTANCE)),
      id(3, field("small", true, new ArrowType.Int(32, true))),
      id(4, field("bin", true, ArrowType.Binary.INSTANCE)),
      id(5, field("u", true, UuidType.INSTANCE)),
      id(6, field("score", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)))));

  /**
   * Rows with: unique ids; names that repeat a few values (dictionary pages), then turn distinct
   * half-way (the dictionary gives up mid-chunk), with nulls; small ints (dictionary throughout);
   * random binaries and uuids.
   */
  private static List<Object[]> rows(int n, long seed) {
    Random r = new Random(seed);
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Object name = r.nextInt(10) == 0 ? null
          : i % 9000 < 4000 ? "n" + r.nextInt(20) : "name-" + r.nextLong();
      byte[] bin = new byte[1 + r.nextInt(40)];
      r.nextBytes(bin);
      rows.add(new Object[] {
          (long) i * 7 - 50_000,
          name,
          r.nextInt(6) == 0 ? null : (Object) (r.nextInt(300) - 150),
          HexFormat.of().formatHex(bin),
          new UUID(r.nextLong(), r.nextLong()),
          r.nextDouble()});
    }
    return rows;
  }

  private List<WrittenFile> write(List<Object[]> rows,
      Function<ParquetWriterBuilder, ParquetWriterBuilder> config) {
    try (FileWriter w = config.apply(FileWriters.parquet(SCHEMA, files)).build()) {
      for (int from = 0; from < rows.size(); from += 3000) {
        List<Object[]> part = rows.subList(from, Math.min(rows.size(), from + 3000));
        try (VectorSchemaRoot batch = Batches.batch(allocator, SCHEMA,
            Batches.columns(part.toArray(new Object[0][])))) {
          w.write(batch);
        }
      }
      return w.finish();
    }
  }

  private static ParquetWriterBuilder allFilters(ParquetWriterBuilder b) {
    return b.bloomFilter("id", 0.01).bloomFilter("name", 0.01).bloomFilter("small", 0.05)
        .bloomFilter("bin", 0.01).bloomFilter("u", 0.01);
  }

  @Test
  void everyWrittenValue_mightBeContained_inItsRowGroupsFilter() throws Exception {
    List<Object[]> rows = rows(40_000, 1);
    List<WrittenFile> written = write(rows,
        b -> allFilters(b.rowGroupSize(DataSize.kib(256)).pageRowLimit(2000)));
    assertThat(written).hasSize(1);
    assertEveryValueFound(Path.of(written.get(0).location()), rows, 3);
  }

  @Test
  void parallelEncoders_writeTheFiltersOfEachOfTheirFiles() throws Exception {
    List<Object[]> rows = rows(24_000, 2);
    List<WrittenFile> written = write(rows, b -> allFilters(b.encoderThreads(2)));
    assertThat(written).isNotEmpty();
    long checked = 0;
    Set<Long> ids = new HashSet<>();
    for (Object[] row : rows) {
      ids.add((Long) row[0]);
    }
    for (WrittenFile f : written) {
      // rows are spread over the files in no set order: check each file's ids against its filter
      try (ParquetFileReader reader = open(Path.of(f.location()))) {
        assertThat(reader.getRowGroups()).hasSize(1);
        BloomFilter filter = filter(reader, reader.getRowGroups().get(0), "id");
        for (List<Object> row : TestFiles.readRows(Path.of(f.location()))) {
          assertThat(ids.remove((Long) row.get(0))).isTrue();
          assertThat(filter.findHash(filter.hash((long) (Long) row.get(0)))).isTrue();
          checked++;
        }
      }
    }
    assertThat(checked).isEqualTo(rows.size());
  }

  @Test
  void absentValues_areRuledOut_nearTheConfiguredFalsePositiveRate() throws Exception {
    int n = 200_000;
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(new Object[] {(long) i * 2, null, null, null, null, null}); // even ids only
    }
    List<WrittenFile> written = write(rows, b -> b.bloomFilter("id", 0.01));
    Path file = Path.of(written.get(0).location());
    try (ParquetFileReader reader = open(file)) {
      assertThat(reader.getRowGroups()).hasSize(1);
      BlockMetaData block = reader.getRowGroups().get(0);
      BloomFilter filter = filter(reader, block, "id");
      // -8 * 200,000 / ln(1 - 0.01^(1/8)) bits = 242,071 bytes, rounded up to a power of two
      assertThat(filter.getBitsetSize()).isEqualTo(256 << 10)
          .isEqualTo(expectedBytes(n, 0.01));
      assertThat(columnMeta(block, "id").getBloomFilterLength()).isGreaterThan(256 << 10);
      assertThat(filter(reader, block, "name")).isNull(); // no filter asked for
      for (long v = 0; v < 2L * n; v += 2) {
        assertThat(filter.findHash(filter.hash(v))).isTrue();
      }
      Random r = new Random(99);
      int trials = 200_000;
      int positives = 0;
      for (int t = 0; t < trials; t++) {
        long absent = r.nextInt(2 * n) | 1L; // odd, inside the written range
        positives += filter.findHash(filter.hash(absent)) ? 1 : 0;
      }
      double rate = positives / (double) trials;
      // ~10.5 bits per value; Parquet's formula ignores how unevenly values fill the blocks,
      // which the rounding up about makes good for (measured: 0.99 %)
      assertThat(rate).isBetween(0.005, 0.0125);
    }
  }

  @Test
  void aRowGroupWithMoreValuesThanTheCapFits_getsAFilterOfTheCap() throws Exception {
    int n = 100_000;
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      rows.add(new Object[] {(long) i, "s" + i, null, null, null, null});
    }
    List<WrittenFile> written = write(rows, b -> b.bloomFilter("id", 0.01)
        .bloomFilter("name", 0.001).bloomFilterMaxSize(DataSize.kib(64)));
    try (ParquetFileReader reader = open(Path.of(written.get(0).location()))) {
      BlockMetaData block = reader.getRowGroups().get(0);
      for (String column : List.of("id", "name")) {
        BloomFilter filter = filter(reader, block, column);
        assertThat(filter.getBitsetSize()).as(column).isEqualTo(64 << 10);
        for (int i = 0; i < n; i++) {
          long h = column.equals("id") ? filter.hash((long) i)
              : filter.hash(Binary.fromString("s" + i));
          assertThat(filter.findHash(h)).isTrue();
        }
      }
    }
  }

  @Test
  void aFewDistinctValues_getASmallFilter() throws Exception {
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      rows.add(new Object[] {(long) (i % 10), null, null, null, null, null});
    }
    List<WrittenFile> written = write(rows, b -> b.bloomFilter("id", 0.01));
    try (ParquetFileReader reader = open(Path.of(written.get(0).location()))) {
      BloomFilter filter = filter(reader, reader.getRowGroups().get(0), "id");
      assertThat(filter.getBitsetSize()).isEqualTo(32);
      for (long v = 0; v < 10; v++) {
        assertThat(filter.findHash(filter.hash(v))).isTrue();
      }
    }
  }

  @Test
  void bloomFilter_settingsAreChecked() {
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).bloomFilter("id", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set the bloom filter of column 'id' to false-positive probability"
            + " 0.0: it must be between 0 and 1, exclusive (for example 0.01)");
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).bloomFilter("id", 1))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).bloomFilter("id", 0.01)
        .bloomFilter("id", 0.02))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set the bloom filter of column 'id' to false-positive probability"
            + " 0.02: it was already set to 0.01");
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files)
        .bloomFilterMaxSize(DataSize.bytes(16)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set bloomFilterMaxSize to " + DataSize.bytes(16)
            + ": it must be between 32 bytes and 128 MiB");
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).target("table db.t")
        .bloomFilter("nope", 0.01).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write a bloom filter for column 'nope' of table db.t: the schema has"
            + " no top-level column of that name (name a top-level column, or drop the filter)");
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).target("table db.t")
        .bloomFilter("score", 0.01).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Cannot write a bloom filter for column 'score' of table db.t:"
            + " its type FloatingPoint(DOUBLE) is stored as DOUBLE, and filters are written for"
            + " int, long");
    Schema withList = new Schema(List.of(
        list("tags", true, id(8, field("element", true, new ArrowType.Int(32, true))))));
    assertThatThrownBy(() -> FileWriters.parquet(withList, files).target("table db.t")
        .bloomFilter("tags", 0.01).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot write a bloom filter for column 'tags' of table db.t: it is a list,"
            + " and filters are written for primitive columns only (drop the filter)");
    // the parallel writer checks as it is built, too
    assertThatThrownBy(() -> FileWriters.parquet(SCHEMA, files).encoderThreads(2)
        .bloomFilter("score", 0.01).build())
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Checks the filters of row groups against the rows each holds. */
  private static void assertEveryValueFound(Path file, List<Object[]> rows, int minGroups)
      throws Exception {
    try (ParquetFileReader reader = open(file)) {
      List<BlockMetaData> groups = reader.getRowGroups();
      assertThat(groups.size()).isGreaterThanOrEqualTo(minGroups);
      long seen = 0;
      for (BlockMetaData block : groups) {
        int from = (int) block.getRowIndexOffset();
        int to = from + (int) block.getRowCount();
        BloomFilter id = filter(reader, block, "id");
        BloomFilter name = filter(reader, block, "name");
        BloomFilter small = filter(reader, block, "small");
        BloomFilter bin = filter(reader, block, "bin");
        BloomFilter u = filter(reader, block, "u");
        assertThat(filter(reader, block, "score")).isNull();
        Set<Object> distinctSmall = new HashSet<>();
        for (int i = from; i < to; i++) {
          Object[] row = rows.get(i);
          if (row[2] != null) {
            distinctSmall.add(row[2]);
          }
          assertThat(id.findHash(id.hash((long) (Long) row[0]))).as("id of row %d", i).isTrue();
          if (row[1] != null) {
            assertThat(name.findHash(name.hash(Binary.fromString((String) row[1]))))
                .as("name of row %d", i).isTrue();
          }
          if (row[2] != null) {
            assertThat(small.findHash(small.hash((int) (Integer) row[2])))
                .as("small of row %d", i).isTrue();
          }
          assertThat(bin.findHash(bin.hash(Binary.fromConstantByteArray(
              HexFormat.of().parseHex((String) row[3]))))).as("bin of row %d", i).isTrue();
          UUID uuid = (UUID) row[4];
          byte[] ub = ByteBuffer.allocate(16).putLong(uuid.getMostSignificantBits())
              .putLong(uuid.getLeastSignificantBits()).array();
          assertThat(u.findHash(u.hash(Binary.fromConstantByteArray(ub))))
              .as("uuid of row %d", i).isTrue();
          seen++;
        }
        // a dictionary-encoded column (up to 300 values): sized for the values the group has
        assertThat(small.getBitsetSize()).isEqualTo(expectedBytes(distinctSmall.size(), 0.05));
      }
      assertThat(seen).isEqualTo(rows.size());
    }
  }

  /** Parquet's sizing: {@code -8 n / ln(1 - fpp^(1/8))} bits, up to a power of two. */
  private static int expectedBytes(long distinct, double fpp) {
    int bytes = (int) Math.ceil(-distinct / Math.log(1 - Math.pow(fpp, 1.0 / 8)));
    int size = 32;
    while (size < bytes) {
      size *= 2;
    }
    return size;
  }

  private static ParquetFileReader open(Path file) throws java.io.IOException {
    return ParquetFileReader.open(new LocalInputFile(file), ParquetReadOptions.builder().build());
  }

  private static ColumnChunkMetaData columnMeta(BlockMetaData block, String column) {
    return block.getColumns().stream()
        .filter(c -> c.getPath().toDotString().equals(column)).findFirst().orElseThrow();
  }

  private static BloomFilter filter(ParquetFileReader reader, BlockMetaData block,
      String column) {
    return new BloomFilterReader(reader, block).readBloomFilter(columnMeta(block, column));
  }
}
