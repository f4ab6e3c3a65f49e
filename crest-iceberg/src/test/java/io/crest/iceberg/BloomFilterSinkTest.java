package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.CommitStrategy;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.parquet.ParquetBloomRowGroupFilter;
import org.apache.iceberg.parquet.ParquetDictionaryRowGroupFilter;
import org.apache.iceberg.parquet.ParquetMetricsRowGroupFilter;
import org.apache.parquet.column.statistics.Statistics;
import org.apache.parquet.hadoop.BloomFilterReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.schema.MessageType;
import org.junit.jupiter.api.Test;

/**
 * Bloom filters of key columns, end to end: a table asking for them is written by Crest's
 * columnar writer, and Iceberg's own row-group filter skips the row groups of an absent key that
 * their bounds and dictionaries cannot rule out; a table the sink creates for upserts asks for a
 * filter on each key column.
 */
class BloomFilterSinkTest extends SinkTestBase {
  private static final Schema ROWS = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)),
      field("name", true, ArrowType.Utf8.INSTANCE)));

  /** Rows with even ids {@code 2 * first ..} and distinct names. */
  private VectorSchemaRoot evenIds(int first, int n) {
    List<Object[]> rows = new ArrayList<>();
    for (int i = first; i < first + n; i++) {
      rows.add(new Object[] {2L * i, "name-" + i});
    }
    return batch(allocator, ROWS, columns(rows.toArray(new Object[0][])));
  }

  @Test
  void absentKeyInsideTheBounds_isRuledOutByTheBloomFilters_ofTheColumnarWritersRowGroups()
      throws Exception {
    IcebergSink sink = sink()
        .tableProperty("write.parquet.bloom-filter-enabled.column.id", "true")
        .tableProperty("write.parquet.bloom-filter-enabled.column.name", "true")
        .tableProperty("write.parquet.bloom-filter-fpp.column.name", "0.001")
        .tableProperty("write.parquet.row-group-size-bytes", "65536")
        .build();
    write(sink, evenIds(0, 20_000), evenIds(20_000, 20_000));
    Table t = table();
    assertThat(createdBy(t)).containsExactly("crest");

    int[] counts = new int[3]; // row groups, absent keys probed, absent keys not ruled out
    eachDataFile(t, reader -> {
      MessageType fileSchema = reader.getFooter().getFileMetaData().getSchema();
      for (BlockMetaData block : reader.getRowGroups()) {
        counts[0]++;
        BloomFilterReader blooms = reader.getBloomFilterDataReader(block);
        Statistics<?> stats = column(block, "id").getStatistics();
        long min = (Long) stats.genericGetMin();
        long max = (Long) stats.genericGetMax();
        assertThat(max - min).isGreaterThan(100);
        // every key the row group holds may be read; so may its names
        for (long id = min; id <= max; id += 2) {
          assertThat(bloomShouldRead(t, Expressions.equal("id", id), fileSchema, block, blooms))
              .as("present id %d", id).isTrue();
        }
        assertThat(bloomShouldRead(t, Expressions.equal("name", "name-" + min / 2), fileSchema,
            block, blooms)).isTrue();
        // absent (odd) keys inside the bounds: neither bounds nor dictionaries rule them out,
        // the bloom filter does (all but about 1 % of them)
        for (long id = min + 1; id < max; id += 2) {
          Expression absent = Expressions.equal("id", id);
          assertThat(new ParquetMetricsRowGroupFilter(t.schema(), absent)
              .shouldRead(fileSchema, block)).isTrue();
          assertThat(new ParquetDictionaryRowGroupFilter(t.schema(), absent)
              .shouldRead(fileSchema, block, reader.getDictionaryReader(block))).isTrue();
          counts[1]++;
          counts[2] += bloomShouldRead(t, absent, fileSchema, block, blooms) ? 1 : 0;
        }
      }
    });
    assertThat(counts[0]).isGreaterThan(2);
    assertThat(counts[1]).isGreaterThan(30_000);
    assertThat(counts[2] / (double) counts[1]).isLessThan(0.02);

    // and Iceberg's reader, which applies those filters, still finds what is there
    assertThat(rows(t, Expressions.equal("id", 2L * 31_337))).hasSize(1);
    assertThat(rows(t, Expressions.equal("name", "name-7"))).hasSize(1);
    assertThat(rows(t, Expressions.equal("id", 2L * 31_337 + 1))).isEmpty();
  }

  @Test
  void aBloomFilterOnADoubleColumn_sendsTheTableToIcebergsWriter_namingTheProperty()
      throws Exception {
    Schema withDouble = new Schema(List.of(
        field("id", false, new ArrowType.Int(64, true)),
        field("score", true, new ArrowType.FloatingPoint(
            org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE))));
    List<Object[]> rows = new ArrayList<>();
    for (long i = 0; i < 100; i++) {
      rows.add(new Object[] {i, i / 8.0});
    }
    String log;
    try (CapturedOutput output = CapturedOutput.start()) {
      write(sink().tableProperty("write.parquet.bloom-filter-enabled.column.score", "true")
          .build(), batch(allocator, withDouble, columns(rows.toArray(new Object[0][]))));
      log = output.text();
    }
    assertThat(log).contains("write.parquet.bloom-filter-enabled.column.score is true, and the"
        + " columnar writer writes no bloom filter for a floating-point column");
    Table t = table();
    assertThat(createdBy(t)).containsExactly("parquet-mr");
    assertThat(bloomFilters(t, "score")).isNotEmpty().doesNotContainNull();
    assertThat(rows(t, Expressions.equal("score", 1.5))).hasSize(1);
  }

  @Test
  void aTableCreatedForUpserts_getsABloomFilterOnEachKeyColumn() throws Exception {
    write(sink().commitStrategy(CommitStrategy.upsert("id", "name")).build(),
        evenIds(0, 500));
    Table t = table();
    assertThat(t.properties())
        .containsEntry("write.parquet.bloom-filter-enabled.column.id", "true")
        .containsEntry("write.parquet.bloom-filter-enabled.column.name", "true");
    List<org.apache.parquet.column.values.bloomfilter.BloomFilter> filters = bloomFilters(t, "id");
    assertThat(filters).isNotEmpty().doesNotContainNull();
    for (long id = 0; id < 1000; id += 2) {
      long v = id;
      assertThat(filters).as("id %d", id).anyMatch(f -> f.findHash(f.hash(v)));
    }
  }

  @Test
  void aTableCreatedForUpserts_keepsTheBloomFilterSettingItWasGiven() throws Exception {
    write(sink().commitStrategy(CommitStrategy.upsert("id"))
        .tableProperty("write.parquet.bloom-filter-enabled.column.id", "false").build(),
        evenIds(0, 100));
    Table t = table();
    assertThat(t.properties())
        .containsEntry("write.parquet.bloom-filter-enabled.column.id", "false");
    assertThat(bloomFilters(t, "id")).isNotEmpty().containsOnlyNulls();
  }

  @Test
  void aTableCreatedForAppends_getsNoBloomFilter() throws Exception {
    write(sink().build(), evenIds(0, 100));
    assertThat(table().properties()).doesNotContainKey(
        "write.parquet.bloom-filter-enabled.column.id");
  }

  private static boolean bloomShouldRead(Table t, Expression e, MessageType fileSchema,
      BlockMetaData block, BloomFilterReader blooms) {
    return new ParquetBloomRowGroupFilter(t.schema(), e).shouldRead(fileSchema, block, blooms);
  }

  private static ColumnChunkMetaData column(BlockMetaData block, String name) {
    return block.getColumns().stream().filter(c -> c.getPath().toDotString().equals(name))
        .findFirst().orElseThrow();
  }
}
