package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.CrestException;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Table;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;

/** Writing to partitioned tables: every transform, spec evolution, pruning, file caps. */
class PartitioningTest extends SinkTestBase {
  private static final Schema EVENTS = new Schema(List.of(
      io.crest.iceberg.testing.ArrowTestData.field("id", false, new ArrowType.Int(64, true)),
      io.crest.iceberg.testing.ArrowTestData.field("region", false, ArrowType.Utf8.INSTANCE),
      io.crest.iceberg.testing.ArrowTestData.field("customer", true, ArrowType.Utf8.INSTANCE),
      io.crest.iceberg.testing.ArrowTestData.field(
          "at", false, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC"))));
  private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 1, 30, 22, 0, 0, 0, ZoneOffset.UTC);
  private static final List<String> REGIONS = List.of("eu", "us", "ap", "sa");

  /** {@code n} events from id {@code first}: regions rotate, one event every 7 hours. */
  private VectorSchemaRoot events(long first, int n) {
    List<List<?>> columns = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
        new ArrayList<>());
    for (long id = first; id < first + n; id++) {
      ((List<Object>) columns.get(0)).add(id);
      ((List<Object>) columns.get(1)).add(REGIONS.get((int) (id % REGIONS.size())));
      ((List<Object>) columns.get(2)).add("customer-" + (id % 13));
      ((List<Object>) columns.get(3)).add(java.time.temporal.ChronoUnit.MICROS.between(
          java.time.Instant.EPOCH, T0.plusHours(7 * id)));
    }
    return batch(allocator, EVENTS, columns);
  }

  private static int plannedFiles(Table table, Expression filter) throws Exception {
    int files = 0;
    try (CloseableIterable<FileScanTask> tasks = table.newScan().filter(filter).planFiles()) {
      for (FileScanTask ignored : tasks) {
        files++;
      }
    }
    return files;
  }

  private static int allFiles(Table table) throws Exception {
    return plannedFiles(table, Expressions.alwaysTrue());
  }

  @Test
  void everyTransform_partitionsTheData_andScansPruneByPartition() throws Exception {
    write(sink().partitionBy("region", "bucket(4, customer)", "truncate(2, region)", "day(at)")
        .build(), events(0, 200));
    Table t = table();
    PartitionSpec spec = t.spec();
    assertThat(spec.fields()).extracting(f -> f.transform().toString())
        .containsExactly("identity", "bucket[4]", "truncate[2]", "day");
    assertThat(rows()).hasSize(200);

    Expression euOnly = Expressions.equal("region", "eu");
    assertThat(rows(t, euOnly)).hasSize(50).allSatisfy(r -> assertThat(r.getField("region")).isEqualTo("eu"));
    assertThat(plannedFiles(t, euOnly)).isPositive().isLessThan(allFiles(t));

    Expression oneDay = Expressions.and(
        Expressions.greaterThanOrEqual("at", T0.plusDays(5).toString()),
        Expressions.lessThan("at", T0.plusDays(6).toString()));
    assertThat(plannedFiles(t, oneDay)).isLessThan(allFiles(t) / 10);
  }

  @Test
  void timeTransforms_yearMonthHour_partitionAsIcebergSays() throws Exception {
    for (String transform : List.of("year(at)", "month(at)", "hour(at)")) {
      catalog.catalog().dropTable(TABLE, true);
      write(sink().partitionBy(transform).build(), events(0, 100));
      Table t = table();
      Set<Object> partitions = new HashSet<>();
      try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
        tasks.forEach(task -> partitions.add(task.file().partition().get(0, Integer.class)));
      }
      // 100 events 7 hours apart from 30 Jan 22:00 span 29 days: 1 year, 2 months, 100 hours.
      int expected = transform.startsWith("year") ? 1 : transform.startsWith("month") ? 2 : 100;
      assertThat(partitions).as(transform).hasSize(expected);
      assertThat(rows()).hasSize(100);
    }
  }

  @Test
  void partitionEvolution_laterCommitsUseTheNewSpec_andOldDataStaysReadable() throws Exception {
    write(sink().partitionBy("region").build(), events(0, 40));
    table().updateSpec().addField(Expressions.bucket("customer", 2)).commit();
    write(sink().build(), events(40, 40));
    Table t = table();
    Set<Integer> specIds = new HashSet<>();
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      tasks.forEach(task -> specIds.add(task.file().specId()));
    }
    assertThat(specIds).hasSize(2);
    assertThat(rows()).hasSize(80);
    assertThat(rows(t, Expressions.equal("region", "us"))).hasSize(20);
  }

  /** Partition path to the sorted ids of its rows, over every data file of the table. */
  private static java.util.Map<String, List<Long>> idsByPartition(Table table) throws Exception {
    java.util.Map<String, List<Long>> ids = new java.util.TreeMap<>();
    try (CloseableIterable<FileScanTask> tasks = table.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        String path = table.specs().get(task.file().specId()).partitionToPath(task.file().partition());
        try (CloseableIterable<org.apache.iceberg.data.Record> records =
            org.apache.iceberg.parquet.Parquet.read(table.io().newInputFile(task.file().location()))
                .project(table.schema())
                .createReaderFunc(s -> org.apache.iceberg.data.parquet.GenericParquetReaders
                    .buildReader(table.schema(), s))
                .build()) {
          for (org.apache.iceberg.data.Record r : records) {
            ids.computeIfAbsent(path, k -> new ArrayList<>()).add((Long) r.getField("id"));
          }
        }
      }
    }
    ids.values().forEach(l -> l.sort(null));
    return ids;
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.ValueSource(strings = {
      "region,bucket(4, customer),truncate(1, customer),hour(at),truncate(10, id)", // scattered
      "day(at),truncate(25, id)"}) // runs of rows: sliced, not copied
  void columnarWriter_fansPartitionedBatchesOut_exactlyAsIcebergsWriterDoes(String spec)
      throws Exception {
    String[] fields = spec.split(",(?![^(]*\\))");
    write(sink().partitionBy(fields).build(), events(0, 400), events(400, 400));
    assertThat(createdBy(table())).containsExactly("crest");
    java.util.Map<String, List<Long>> columnar = idsByPartition(table());
    int columnarFiles = allFiles(table());
    catalog.catalog().dropTable(TABLE, true);

    write(sink().partitionBy(fields).genericWriter().build(), events(0, 400), events(400, 400));
    assertThat(createdBy(table())).containsExactly("parquet-mr");
    java.util.Map<String, List<Long>> generic = idsByPartition(table());

    assertThat(columnar).hasSizeGreaterThan(25).isEqualTo(generic);
    assertThat(columnarFiles).isEqualTo(allFiles(table())); // one file per partition, both ways
    assertThat(columnar.values().stream().mapToInt(List::size).sum()).isEqualTo(800);
  }

  @Test
  void partitionTransformsNotEvaluatedOnVectors_fallBackToIcebergsWriter() throws Exception {
    Schema withDecimal = new Schema(List.of(
        io.crest.iceberg.testing.ArrowTestData.field("id", false, new ArrowType.Int(64, true)),
        io.crest.iceberg.testing.ArrowTestData.field("amount", false, new ArrowType.Decimal(9, 2, 128))));
    List<List<?>> columns = List.of(new ArrayList<>(), new ArrayList<>());
    for (long id = 0; id < 40; id++) {
      ((List<Object>) columns.get(0)).add(id);
      ((List<Object>) columns.get(1)).add(java.math.BigDecimal.valueOf(id * 37, 2));
    }
    write(sink().partitionBy("bucket(3, amount)").build(), batch(allocator, withDecimal, columns));
    assertThat(createdBy(table())).containsExactly("parquet-mr");
    assertThat(rows()).hasSize(40);
    assertThat(allFiles(table())).isEqualTo(3);
  }

  @Test
  void maxOpenFiles_capsOpenFiles_byClosingThemEarly_withoutLosingRows() throws Exception {
    write(sink().partitionBy("id").maxOpenFiles(3).build(), events(0, 30), events(0, 30));
    // Values, not only counts: the row that makes the writer close its files must still land in
    // its own partition (identity partition values are read from the file's partition metadata).
    List<Object> ids = new ArrayList<>();
    rows().forEach(r -> ids.add(r.getField("id")));
    List<Object> expected = new ArrayList<>();
    for (long id = 0; id < 30; id++) {
      expected.add(id);
      expected.add(id);
    }
    assertThat(ids).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(allFiles(table())).isEqualTo(60); // rows of one id arrive 30 rows apart: never open together
    assertThat(createdBy(table())).containsExactly("crest");
    catalog.catalog().dropTable(TABLE, true);
    write(sink().partitionBy("id").build(), events(0, 30), events(0, 30));
    assertThat(allFiles(table())).isEqualTo(30);
  }

  @Test
  void clustered_writesSortedInputOneFileAtATime_andRejectsUnsortedInput() throws Exception {
    write(sink().partitionBy("day(at)").clustered().build(), events(0, 50));
    assertThat(rows()).hasSize(50);
    Set<String> paths = new HashSet<>();
    try (CloseableIterable<FileScanTask> tasks = table().newScan().planFiles()) {
      tasks.forEach(task -> paths.add(task.file().location()));
    }
    Set<java.time.LocalDate> days = new HashSet<>();
    for (int id = 0; id < 50; id++) {
      days.add(T0.plusHours(7L * id).toLocalDate());
    }
    assertThat(paths).hasSize(days.size()); // one file per day touched
    assertThat(createdBy(table())).containsExactly("crest");

    catalog.catalog().dropTable(TABLE, true);
    Throwable cause = failure(sink().partitionBy("region").clustered().build(), events(0, 8));
    assertThat(cause).isInstanceOf(CrestException.class)
        .hasMessageContaining("in clustered mode: the rows of one flush are not grouped by partition");
  }

  @Test
  void badPartitionField_isRejectedWhenBuilt_orWhenTheTableIsCreated() {
    assertThatThrownBy(() -> sink().partitionBy("bucket(customer)"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Cannot use partition field 'bucket(customer)'");
    assertThatThrownBy(() -> sink().sortBy("customer sideways"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Cannot use sort field 'customer sideways'");
    Throwable cause = failure(sink().partitionBy("day(nope)").build(), events(0, 1));
    assertThat(cause).hasMessageContaining("Cannot partition table db.t by 'day(nope)'");
  }

  @Test
  void sortOrderAndLocation_areSetOnCreation() throws Exception {
    String location = warehouse.resolve("custom-location").toUri().toString();
    write(sink().sortBy("region", "at DESC NULLS LAST").location(location).formatVersion(3).build(),
        events(0, 5));
    Table t = table();
    assertThat(t.sortOrder().fields()).hasSize(2);
    assertThat(t.location()).startsWith(location.replaceAll("/$", ""));
    assertThat(((org.apache.iceberg.HasTableOperations) t).operations().current().formatVersion())
        .isEqualTo(3);
    List<DataFile> files = new ArrayList<>();
    t.currentSnapshot().addedDataFiles(t.io()).forEach(files::add);
    assertThat(files).allSatisfy(f -> assertThat(f.location()).contains("custom-location"));
  }
}
