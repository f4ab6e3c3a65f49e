package io.crest.iceberg.keyed;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.CommitStrategy;
import io.crest.Pipeline;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.iceberg.TableMaintenance;
import io.crest.testing.RootsSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files and deletes read from the manifests directly are those Iceberg's scan planning
 * finds, snapshot after snapshot (manifests cached across calls), through a compaction too.
 */
class TableFilesTest {
  private static final Schema ROWS = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)),
      field("v", true, ArrowType.Utf8.INSTANCE)));

  @TempDir Path warehouse;

  @Test
  void plansTheFilesAndDeletesIcebergsScanPlans_snapshotAfterSnapshot() throws Exception {
    Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(warehouse));
    Random random = new Random(3);
    TableFiles files = null;
    try (BufferAllocator allocator = new RootAllocator()) {
      IcebergSink sink = IcebergSink.builder().catalog(catalog).table("db.t")
          .partitionBy("bucket(2, id)").commitStrategy(CommitStrategy.upsert("id")).build();
      for (int run = 0; run < 4; run++) {
        List<VectorSchemaRoot> flushes = new ArrayList<>();
        for (int f = 0; f < 3; f++) {
          List<Object[]> rows = new ArrayList<>();
          for (int i = 0; i < 40; i++) {
            rows.add(new Object[] {(long) random.nextInt(100), "r" + run + "f" + f + "i" + i});
          }
          flushes.add(batch(allocator, ROWS, columns(rows.toArray(Object[][]::new))));
        }
        try (Pipeline p = Pipeline.from(new RootsSource("s", flushes)).id("files")
            .batch(BatchPolicy.rows(1)).to(sink)) {
          p.start();
          assertThat(p.awaitIdle(Duration.ofMinutes(1))).isTrue();
        }
        Table t = catalog.loadTable(TableIdentifier.parse("db.t"));
        if (run == 2) {
          assertThat(TableMaintenance.of(t).compact(2).dataFilesRemoved()).isPositive();
          t.refresh();
        }
        if (files == null) {
          files = new TableFiles(t.schema().findField("id").fieldId());
        }
        // Every snapshot so far, the oldest too (their manifests come and go from the cache).
        for (org.apache.iceberg.Snapshot s : t.snapshots()) {
          Map<String, FileScanTask> direct = files.plan(t, s.snapshotId());
          Map<String, FileScanTask> planned = PositionDeletes.plan(t, s.snapshotId());
          assertThat(describe(direct)).as("snapshot %d", s.snapshotId())
              .isEqualTo(describe(planned));
        }
      }
    }
  }

  private static Map<String, TreeSet<String>> describe(Map<String, FileScanTask> tasks) {
    Map<String, TreeSet<String>> out = new TreeMap<>();
    tasks.forEach((path, task) -> {
      TreeSet<String> deletes = new TreeSet<>();
      for (DeleteFile d : task.deletes()) {
        deletes.add(d.location() + "@" + d.contentOffset());
      }
      deletes.add("spec " + task.spec().specId() + " " + task.file().partition());
      out.put(path, deletes);
    });
    return out;
  }
}
