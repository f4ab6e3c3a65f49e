package io.crest.iceberg;

import static io.crest.iceberg.TableMaintenanceTest.dataFiles;
import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static io.crest.iceberg.testing.ArrowTestData.listOf;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.CommitStrategy;
import io.crest.iceberg.testing.ArrowTestData;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.MetadataColumns;
import org.apache.iceberg.RowDelta;
import org.apache.iceberg.Table;
import org.apache.iceberg.arrow.ArrowAllocation;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.deletes.BaseDVFileWriter;
import org.apache.iceberg.deletes.PositionDelete;
import org.apache.iceberg.deletes.PositionDeleteWriter;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Types;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Compaction through Iceberg's vectorized Arrow reader and Crest's columnar writer: every column
 * type the sink writes and that reader reads, partitions of old and new specs, and the generic
 * fallback for files with deletes. Rows are compared through Iceberg's own generic reader.
 */
class ArrowCompactionTest extends SinkTestBase {
  private static final Schema ALL_TYPES = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)),
      field("region", false, ArrowType.Utf8.INSTANCE),
      field("i", true, new ArrowType.Int(32, true)),
      field("l", true, new ArrowType.Int(64, true)),
      field("d", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE)),
      field("f", true, new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE)),
      field("s", true, ArrowType.Utf8.INSTANCE),
      field("b", true, ArrowType.Bool.INSTANCE),
      field("day", true, new ArrowType.Date(DateUnit.DAY)),
      field("ts", true, new ArrowType.Timestamp(TimeUnit.MICROSECOND, null)),
      field("tstz", true, new ArrowType.Timestamp(TimeUnit.MICROSECOND, "UTC")),
      field("dec", true, new ArrowType.Decimal(12, 3, 128)),
      field("bin", true, ArrowType.Binary.INSTANCE)));

  /** Rows {@code first..first+n}: low-cardinality columns (dictionary-encoded) and nulls. */
  private VectorSchemaRoot allTypes(long first, int n) {
    List<Object[]> rows = new ArrayList<>();
    for (long id = first; id < first + n; id++) {
      boolean nulls = id % 7 == 3;
      rows.add(new Object[] {
          id,
          id % 2 == 0 ? "eu" : "us",
          nulls ? null : (int) (id % 3),
          nulls ? null : id * 1_000_003L,
          nulls ? null : id / 4.0,
          nulls ? null : (float) (id % 5) / 2,
          nulls ? null : id % 4 == 0 ? "same" : "text-" + id,
          nulls ? null : id % 3 == 0,
          nulls ? null : (int) (19_000 + id % 10),
          nulls ? null : 1_700_000_000_000_000L + id,
          nulls ? null : 1_600_000_000_000_000L + id % 2,
          nulls ? null : BigDecimal.valueOf(id * 1_001L + 5, 3),
          nulls ? null : new byte[] {(byte) id, 1, 2}});
    }
    return batch(allocator, ALL_TYPES, columns(rows.toArray(new Object[0][])));
  }

  @AfterEach
  void icebergArrowAllocatorIsEmpty() {
    assertThat(ArrowAllocation.rootAllocator().getAllocatedMemory())
        .as("bytes left allocated in Iceberg's Arrow root allocator")
        .isZero();
  }

  private static Map<Integer, Integer> filesBySpec(Table t) throws Exception {
    Map<Integer, Integer> specs = new TreeMap<>();
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        specs.merge(task.file().specId(), 1, Integer::sum);
      }
    }
    return specs;
  }

  /**
   * Every row as its list of column values (without the metadata columns a reader that applies
   * deletes adds), in a form that compares by value (binary as a buffer).
   */
  private static List<List<Object>> values(Collection<Record> records) {
    return records.stream().map(r -> {
      List<Object> row = new ArrayList<>();
      for (Types.NestedField f : r.struct().fields()) {
        if (!MetadataColumns.isMetadataColumn(f.name())) {
          Object v = r.getField(f.name());
          row.add(v instanceof byte[] ? ByteBuffer.wrap((byte[]) v) : v);
        }
      }
      return row;
    }).collect(Collectors.toList());
  }

  @Test
  void compaction_ofEveryColumnType_readsWithArrow_andKeepsEveryValue() throws Exception {
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 10; commit++) {
      write(sink, allTypes(commit * 30L, 30));
    }
    Table t = table();
    List<List<Object>> before = values(rows());
    assertThat(before).hasSize(300);
    assertThat(t.schema().findType("tstz")).isEqualTo(Types.TimestampType.withZone());
    assertThat(t.schema().findType("ts")).isEqualTo(Types.TimestampType.withoutZone());
    assertThat(t.schema().findType("dec")).isEqualTo(Types.DecimalType.of(12, 3));
    assertThat(dataFiles(t)).isEqualTo(10);

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(5);

    t.refresh();
    assertThat(result.partitionsRewritten()).isEqualTo(1);
    assertThat(result.partitionsViaArrow()).isEqualTo(1);
    assertThat(result.partitionsViaGeneric()).isZero();
    assertThat(result.dataFilesViaArrow()).isEqualTo(10);
    assertThat(result.rows()).isEqualTo(300);
    assertThat(dataFiles(t)).isEqualTo(1);
    assertThat(values(rows())).containsExactlyInAnyOrderElementsOf(before);
    assertThat(t.currentSnapshot().summary()).containsEntry("crest.maintenance", "compaction");
  }

  @Test
  void compaction_keepsAnAppendCommittedBetweenItsReadAndItsCommit() throws Exception {
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 4; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    AtomicBoolean appended = new AtomicBoolean();
    Table loaded = table();
    // The table compaction works on: right before it builds its RewriteFiles, after it has read
    // and written the files, another writer appends to the table.
    Table racing = (Table) Proxy.newProxyInstance(Table.class.getClassLoader(),
        new Class<?>[] {Table.class}, (proxy, method, args) -> {
          if (method.getName().equals("newRewrite") && appended.compareAndSet(false, true)) {
            write(sink, allTypes(100, 5));
          }
          try {
            return method.invoke(loaded, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });

    TableMaintenance.CompactionResult result = TableMaintenance.of(racing).compact(3);

    assertThat(appended).isTrue();
    assertThat(result.partitionsViaArrow()).isEqualTo(1);
    assertThat(result.dataFilesRemoved()).isEqualTo(4);
    Table t = table();
    assertThat(dataFiles(t)).isEqualTo(2); // the compacted file and the racing append's
    assertThat(rows()).hasSize(45);
  }

  @Test
  void compaction_ofOldAndNewSpecs_keepsEachPartitionInItsOwnSpec() throws Exception {
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 4; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    table().updateSpec().addField("region").commit();
    for (int commit = 4; commit < 10; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    Table t = table();
    List<List<Object>> before = values(rows());
    assertThat(filesBySpec(t)).containsEntry(0, 4).containsEntry(1, 12);

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(3);

    t.refresh();
    // the unpartitioned files of spec 0, and the eu and us partitions of spec 1
    assertThat(result.partitionsRewritten()).isEqualTo(3);
    assertThat(result.partitionsViaArrow()).isEqualTo(3);
    assertThat(result.dataFilesViaArrow()).isEqualTo(16);
    assertThat(filesBySpec(t)).isEqualTo(Map.of(0, 1, 1, 2));
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      for (FileScanTask task : tasks) {
        if (task.file().specId() == 1) {
          String region = task.file().partition().get(0, String.class);
          assertThat(values(rows(t, org.apache.iceberg.expressions.Expressions.equal(
              "region", region)))).allSatisfy(row -> assertThat(row.get(1)).isEqualTo(region));
        }
      }
    }
    assertThat(values(rows())).containsExactlyInAnyOrderElementsOf(before);
  }

  @Test
  void compaction_withDeleteFiles_takesTheGenericPath_andAppliesThem() throws Exception {
    // Equality deletes (keys by position would leave deletion vectors, which the Arrow path reads)
    IcebergSink sink = sink().partitionBy("region").equalityDeletes()
        .commitStrategy(CommitStrategy.upsert("id", "region")).build();
    for (int commit = 0; commit < 8; commit++) {
      write(sink, allTypes(commit * 5L % 20, 10));
    }
    Table t = table();
    List<List<Object>> before = values(rows());
    assertThat(before).hasSize(25); // ids 0 to 24, several upserted

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(3);

    t.refresh();
    assertThat(result.partitionsRewritten()).isEqualTo(2);
    assertThat(result.partitionsViaGeneric()).isEqualTo(2);
    assertThat(result.partitionsViaArrow()).isZero();
    assertThat(result.deleteFilesRemoved()).isPositive();
    assertThat(result.rows()).isEqualTo(25);
    assertThat(dataFiles(t)).isEqualTo(2);
    assertThat(values(rows())).containsExactlyInAnyOrderElementsOf(before);

    // Without deletes left, the next compaction of new small files reads with Arrow again.
    IcebergSink appends = sink().build();
    for (int commit = 0; commit < 3; commit++) {
      write(appends, allTypes(100 + commit * 2L, 2));
    }
    TableMaintenance.CompactionResult next = TableMaintenance.of(table()).compact(3);
    assertThat(next.partitionsViaArrow()).isEqualTo(2);
    assertThat(next.partitionsViaGeneric()).isZero();
    assertThat(rows()).hasSize(31);
  }

  @Test
  void compaction_afterAnAddedColumn_fillsItWithNulls() throws Exception {
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 3; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    table().updateSchema().addColumn("extra", Types.LongType.get()).commit();
    Table t = table();
    List<List<Object>> before = values(rows());

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(2);

    t.refresh();
    assertThat(result.partitionsRewritten()).isEqualTo(1);
    assertThat(result.partitionsViaArrow()).isEqualTo(1);
    assertThat(dataFiles(t)).isEqualTo(1);
    assertThat(values(rows())).containsExactlyInAnyOrderElementsOf(before)
        .allSatisfy(row -> assertThat(row.get(row.size() - 1)).isNull());
  }

  @Test
  void compaction_ofAColumnTypeTheArrowReaderCannotRead_takesTheGenericPath() throws Exception {
    Schema withList = new Schema(List.of(field("id", false, new ArrowType.Int(64, true)),
        listOf("tags", true, field("element", true, ArrowType.Utf8.INSTANCE))));
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 3; commit++) {
      write(sink, batch(allocator, withList, columns(
          new Object[] {commit * 2L, ArrowTestData.values("a", null)},
          new Object[] {commit * 2L + 1, null})));
    }
    Table t = table();
    List<List<Object>> before = values(rows());

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(2);

    t.refresh();
    assertThat(result.partitionsRewritten()).isEqualTo(1);
    assertThat(result.partitionsViaGeneric()).isEqualTo(1);
    assertThat(result.dataFilesViaGeneric()).isEqualTo(3);
    assertThat(result.partitionsViaArrow()).isZero();
    assertThat(dataFiles(t)).isEqualTo(1);
    assertThat(values(rows())).hasSize(6).containsExactlyInAnyOrderElementsOf(before);
  }

  @Test
  void compaction_ofATableWithABloomFilterOnALongColumn_takesTheArrowPath_whichWritesIt()
      throws Exception {
    Table t = compactedWithBloomFilterOn("id", "crest");
    List<org.apache.parquet.column.values.bloomfilter.BloomFilter> filters = bloomFilters(t, "id");
    assertThat(filters).hasSize(1).doesNotContainNull();
    for (long id = 0; id < 30; id++) {
      assertThat(filters.get(0).findHash(filters.get(0).hash(id))).as("id %d", id).isTrue();
    }
  }

  @Test
  void compaction_ofATableWithABloomFilterOnADoubleColumn_takesTheGenericPath_whichWritesIt()
      throws Exception {
    Table t = compactedWithBloomFilterOn("d", "parquet-mr");
    assertThat(bloomFilters(t, "d")).hasSize(1).doesNotContainNull();
  }

  /**
   * Writes 30 rows in 3 commits, enables a bloom filter on {@code column}, compacts; checks the
   * rows, the one file, and that the path that wrote it was the one {@code writer} names.
   */
  private Table compactedWithBloomFilterOn(String column, String writer) throws Exception {
    IcebergSink sink = sink().build();
    for (int commit = 0; commit < 3; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    Table t = table();
    t.updateProperties().set("write.parquet.bloom-filter-enabled.column." + column, "true")
        .commit();
    List<List<Object>> before = values(rows());

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(2);

    t.refresh();
    boolean arrow = writer.equals("crest");
    assertThat(result.partitionsViaArrow()).isEqualTo(arrow ? 1 : 0);
    assertThat(result.partitionsViaGeneric()).isEqualTo(arrow ? 0 : 1);
    assertThat(dataFiles(t)).isEqualTo(1);
    assertThat(createdBy(t)).containsExactly(writer);
    assertThat(values(rows())).hasSize(30).containsExactlyInAnyOrderElementsOf(before);
    return t;
  }

  @Test
  void compaction_withPositionDeleteFiles_appliesThemOnTheArrowPath() throws Exception {
    compactsWithPositionDeletes(2);
  }

  @Test
  void compaction_withDeletionVectors_appliesThemOnTheArrowPath() throws Exception {
    compactsWithPositionDeletes(3);
  }

  /** Deletes rows by position (files in v2, deletion vectors in v3), then compacts. */
  private void compactsWithPositionDeletes(int formatVersion) throws Exception {
    IcebergSink sink = sink().formatVersion(formatVersion).build();
    for (int commit = 0; commit < 4; commit++) {
      write(sink, allTypes(commit * 10L, 10));
    }
    Table t = table();
    Set<Long> deletedIds = Set.of(0L, 3L, 9L, 12L, 39L);
    RowDelta delta = t.newRowDelta();
    try (CloseableIterable<FileScanTask> tasks = t.newScan().includeColumnStats().planFiles()) {
      for (FileScanTask task : tasks) {
        long first = Conversions.<Long>fromByteBuffer(
            Types.LongType.get(), task.file().lowerBounds().get(1));
        List<Long> positions = deletedIds.stream().filter(id -> id >= first && id < first + 10)
            .map(id -> id - first).sorted().toList();
        if (!positions.isEmpty()) {
          deletionsOf(t, task.file().location(), positions, formatVersion)
              .forEach(delta::addDeletes);
        }
      }
    }
    delta.commit();
    t.refresh();
    List<List<Object>> before = values(rows());
    assertThat(before).hasSize(35)
        .noneSatisfy(row -> assertThat(deletedIds).contains((Long) row.get(0)));

    TableMaintenance.CompactionResult result = TableMaintenance.of(t).compact(3);

    t.refresh();
    assertThat(result.partitionsViaArrow()).isEqualTo(1);
    assertThat(result.partitionsViaGeneric()).isZero();
    assertThat(result.deleteFilesRemoved()).isEqualTo(3);
    assertThat(result.rows()).isEqualTo(35);
    assertThat(dataFiles(t)).isEqualTo(1);
    try (CloseableIterable<FileScanTask> tasks = t.newScan().planFiles()) {
      tasks.forEach(task -> assertThat(task.deletes()).isEmpty());
    }
    assertThat(values(rows())).containsExactlyInAnyOrderElementsOf(before);
  }

  private static List<DeleteFile> deletionsOf(Table t, String dataFile, List<Long> positions,
      int formatVersion) throws Exception {
    OutputFileFactory files = OutputFileFactory.builderFor(t, 9, 9)
        .format(formatVersion >= 3 ? FileFormat.PUFFIN : FileFormat.PARQUET).build();
    if (formatVersion >= 3) {
      BaseDVFileWriter dvs = new BaseDVFileWriter(files, path -> null);
      try (dvs) {
        positions.forEach(pos -> dvs.delete(dataFile, pos, t.spec(), null));
      }
      return dvs.result().deleteFiles();
    }
    PositionDeleteWriter<Record> writer = new GenericFileWriterFactory.Builder(t)
        .deleteFileFormat(FileFormat.PARQUET).build()
        .newPositionDeleteWriter(files.newOutputFile(), t.spec(), null);
    try (writer) {
      PositionDelete<Record> delete = PositionDelete.create();
      positions.forEach(pos -> writer.write(delete.set(dataFile, pos)));
    }
    return List.of(writer.toDeleteFile());
  }
}
