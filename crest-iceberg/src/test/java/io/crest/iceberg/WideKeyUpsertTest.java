package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.DataSize;
import io.crest.Pipeline;
import io.crest.testing.RootsSource;
import java.io.IOException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.Record;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Upserts by keys that are not one long column (several columns: a string, a date and a uuid; or
 * one string) through the key index, deleting by position: random upserts and deletes over a key
 * space, many flushes, restarts (a cold index), an index far smaller than the key space (keys
 * resolved from the table by their hash), an index that holds every key, keys moving between
 * partitions of a non-key column, and a compaction between runs. After every run the table, read
 * through Iceberg, equals the model and holds no equality delete.
 */
class WideKeyUpsertTest extends SinkTestBase {
  private static final Schema COMPOSITE = new Schema(List.of(
      field("tenant", false, ArrowType.Utf8.INSTANCE),
      field("day", false, new ArrowType.Date(DateUnit.DAY)),
      field("item", false, UuidType.INSTANCE),
      field("region", false, ArrowType.Utf8.INSTANCE),
      field("v", true, ArrowType.Utf8.INSTANCE),
      field("op", true, ArrowType.Utf8.INSTANCE)));
  private static final Schema STRING = new Schema(List.of(
      field("sku", false, ArrowType.Utf8.INSTANCE),
      field("region", false, ArrowType.Utf8.INSTANCE),
      field("v", true, ArrowType.Utf8.INSTANCE),
      field("op", true, ArrowType.Utf8.INSTANCE)));
  private static final String[] REGIONS = {"eu", "us", "ap"};

  private final Map<List<Object>, String[]> model = new HashMap<>(); // key -> {region, v}

  @ParameterizedTest(name = "{0} key, v{1}, index {2} bytes, partitioned {3}")
  @CsvSource({
      "composite, 3, 1024, true",
      "composite, 2, 1024, false",
      "composite, 3, 67108864, false",
      "string, 3, 1024, true",
      "string, 2, 67108864, true"})
  void randomUpsertsAndDeletes_matchTheModel(String kind, int version, long indexBytes,
      boolean partitioned) throws Exception {
    boolean composite = kind.equals("composite");
    Random random = new Random(version * 31L + indexBytes % 97 + (partitioned ? 7 : 0));
    CommitStrategy keys = composite
        ? CommitStrategy.upsertWithOps("op", "tenant", "day", "item")
        : CommitStrategy.upsertWithOps("op", "sku");
    IcebergSink.Builder b = sink().formatVersion(version)
        .keyIndexMemory(DataSize.bytes(indexBytes)).commitStrategy(keys);
    if (partitioned) {
      b.partitionBy("region"); // not a key: a key's row moves between partitions
    }
    IcebergSink sink = b.build();
    int flush = 0;
    for (int run = 0; run < 4; run++) {
      List<VectorSchemaRoot> flushes = new ArrayList<>();
      for (int f = 0; f < 5; f++, flush++) {
        flushes.add(changes(random, flush, composite));
      }
      try (Pipeline p = Pipeline.from(new RootsSource("run-" + run, flushes)).id("wide")
          .batch(BatchPolicy.rows(1)).to(sink)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      assertMatchesModel("after run " + run, composite);
      if (run == 1) {
        assertThat(TableMaintenance.of(table()).compact(2).dataFilesRemoved()).isPositive();
        assertMatchesModel("after the compaction", composite);
      }
    }
  }

  @ParameterizedTest(name = "v{0}")
  @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3})
  void aTableWrittenWithEqualityDeletes_goesOnThroughTheIndex_andMatchesTheModel(int version)
      throws Exception {
    // Composite keys went through equality deletes before they could be indexed: such a table
    // (or one written with equalityDeletes()) takes upserts by position from where it stands.
    Random random = new Random(40 + version);
    CommitStrategy keys = CommitStrategy.upsertWithOps("op", "tenant", "day", "item");
    IcebergSink equality = sink().formatVersion(version).partitionBy("tenant")
        .equalityDeletes().commitStrategy(keys).build();
    List<VectorSchemaRoot> before = new ArrayList<>();
    for (int f = 0; f < 4; f++) {
      before.add(changes(random, f, true));
    }
    try (Pipeline p = Pipeline.from(new RootsSource("equality", before)).id("wide")
        .batch(BatchPolicy.rows(1)).to(equality)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
    assertThat(equalityDeleteFiles()).as("equality delete files written").isPositive();
    for (long indexBytes : new long[] {1024, 64L << 20}) {
      IcebergSink byPosition = sink().formatVersion(version)
          .keyIndexMemory(DataSize.bytes(indexBytes)).commitStrategy(keys).build();
      List<VectorSchemaRoot> after = new ArrayList<>();
      for (int f = 0; f < 4; f++) {
        after.add(changes(random, 10 + f, true));
      }
      try (Pipeline p = Pipeline.from(new RootsSource("index-" + indexBytes, after)).id("wide")
          .batch(BatchPolicy.rows(1)).to(byPosition)) {
        p.start();
        assertThat(p.awaitIdle(WAIT)).isTrue();
      }
      Table t = table();
      Map<List<Object>, String[]> found = new HashMap<>();
      for (Record r : rows(t, null)) {
        List<Object> key = List.of(r.getField("tenant"), r.getField("day"), r.getField("item"));
        assertThat(found.put(key, new String[] {(String) r.getField("region"),
            (String) r.getField("v")})).as("key %s twice", key).isNull();
      }
      assertThat(found.keySet()).containsExactlyInAnyOrderElementsOf(model.keySet());
      model.forEach((key, expected) ->
          assertThat(found.get(key)).as("key %s", key).containsExactly(expected));
    }
  }

  private long equalityDeleteFiles() throws IOException {
    long n = 0;
    try (org.apache.iceberg.io.CloseableIterable<org.apache.iceberg.FileScanTask> tasks =
        table().newScan().planFiles()) {
      for (org.apache.iceberg.FileScanTask task : tasks) {
        n += task.deletes().stream()
            .filter(d -> d.content() == org.apache.iceberg.FileContent.EQUALITY_DELETES).count();
      }
    }
    return n;
  }

  @org.junit.jupiter.api.Test
  void aKeyTheIndexCannotHold_fallsBackToEqualityDeletes_whichRejectANonKeyPartitionAtStart()
      throws IOException {
    // A double key column: Iceberg's equality deletes, which only reach rows of their own
    // partition, so the table must not be partitioned outside the key.
    Schema weighed = new Schema(List.of(
        field("sku", false, ArrowType.Utf8.INSTANCE),
        field("weight", false, new ArrowType.FloatingPoint(
            org.apache.arrow.vector.types.FloatingPointPrecision.DOUBLE)),
        field("region", false, ArrowType.Utf8.INSTANCE)));
    IcebergSink sink = sink().partitionBy("region")
        .commitStrategy(CommitStrategy.upsert("sku", "weight")).build(); // types unknown yet
    Throwable cause = failure(sink, batch(allocator, weighed,
        columns(new Object[][] {{"a", 1.5, "eu"}})));
    assertThat(cause).isInstanceOf(io.crest.errors.ValidationException.class)
        .hasMessageContaining("Cannot upsert into table db.t on keys [sku, weight]")
        .hasMessageContaining("comes from column 'region', which is not a key");
    assertThat(catalog.tableExists(TABLE) ? rows() : List.of()).as("rows written").isEmpty();
  }

  @org.junit.jupiter.api.Test
  void anIndexTooSmallForTheTable_isSaidOnce_withTheMemoryThatWouldHoldEveryKey()
      throws Exception {
    Random random = new Random(3);
    IcebergSink sink = sink().keyIndexMemory(DataSize.bytes(1024))
        .commitStrategy(CommitStrategy.upsertWithOps("op", "sku")).build();
    String log;
    try (CapturedOutput output = CapturedOutput.start()) {
      for (int run = 0; run < 2; run++) { // the second starts cold: the index is not filled
        List<VectorSchemaRoot> flushes = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
          flushes.add(changes(random, run * 3 + f, false));
        }
        try (Pipeline p = Pipeline.from(new RootsSource("run-" + run, flushes)).id("wide")
            .batch(BatchPolicy.rows(1)).to(sink)) {
          p.start();
          assertThat(p.awaitIdle(WAIT)).isTrue();
        }
      }
      log = output.text();
    }
    assertMatchesModel("with an index of 24 keys", false);
    // 32 slots of 24 bytes and their reference bits: 24 keys
    // Once per run: when the first outgrows it, and at the cold start of the second, with what
    // the table holds then and the memory for all of it
    assertThat(log).contains("The key index of table crest.db.t holds 24 keys (in 776 bytes)"
        + " and the table has more than 24 live keys: each flush looks up the keys the index"
        + " lacks by reading the key columns of the table's data files. Raise keyIndexMemory"
        + " (33 bytes per key held).");
    java.util.regex.Matcher said = java.util.regex.Pattern.compile("The key index of table"
        + " crest\\.db\\.t holds 24 keys \\(in 776 bytes\\) and the table has (\\d+) live keys:"
        + " .*? A keyIndexMemory of (\\d+) KiB would hold (\\d+) keys").matcher(log);
    assertThat(said.find()).as("said at the cold start").isTrue();
    assertThat(Long.parseLong(said.group(1))).isGreaterThan(24);
    assertThat(Long.parseLong(said.group(3))).isGreaterThanOrEqualTo(
        Long.parseLong(said.group(1)));
    assertThat(log.split("The key index of table crest.db.t holds", -1)).as("said once per run")
        .hasSize(3);
  }

  /** The key of key number {@code k} (of 400): distinct for distinct numbers. */
  private static List<Object> key(int k, boolean composite) {
    if (!composite) {
      return List.of("sku-" + k + (k % 3 == 0 ? "-é" : ""));
    }
    return List.of("t" + (k % 7), LocalDate.of(2026, 1, 1).plusDays(k % 5),
        new UUID(k / 35, 0x9e3779b97f4a7c15L ^ (k % 35)));
  }

  /**
   * One flush of changes: 60 rows over 400 keys (a key may come several times, a quarter are
   * deletes), recorded in the model.
   */
  private VectorSchemaRoot changes(Random random, int flush, boolean composite) {
    List<Object[]> rows = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      List<Object> key = key(random.nextInt(400), composite);
      String region = REGIONS[random.nextInt(REGIONS.length)];
      boolean delete = random.nextInt(4) == 0;
      String v = delete ? null : "f" + flush + "r" + i;
      List<Object> row = new ArrayList<>();
      for (Object part : key) {
        row.add(part instanceof LocalDate d ? (Object) (int) d.toEpochDay() : part);
      }
      row.add(region);
      row.add(v);
      row.add(delete ? "delete" : "upsert");
      rows.add(row.toArray());
      if (delete) {
        model.remove(key);
      } else {
        model.put(key, new String[] {region, v});
      }
    }
    return batch(allocator, composite ? COMPOSITE : STRING, columns(rows.toArray(Object[][]::new)));
  }

  private void assertMatchesModel(String when, boolean composite) throws IOException {
    Table t = table();
    Map<List<Object>, String[]> found = new HashMap<>();
    for (Record r : rows(t, null)) {
      List<Object> key = composite
          ? List.of(r.getField("tenant"), r.getField("day"), r.getField("item"))
          : List.of(r.getField("sku"));
      String[] previous = found.put(key,
          new String[] {(String) r.getField("region"), (String) r.getField("v")});
      assertThat(previous).as("%s: key %s twice", when, key).isNull();
    }
    assertThat(found.keySet()).as(when).containsExactlyInAnyOrderElementsOf(model.keySet());
    model.forEach((key, expected) ->
        assertThat(found.get(key)).as("%s: key %s", when, key).containsExactly(expected));
    assertOneDeletionVectorOrPositionDeleteFileAtMost(t, when);
  }
}
