package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.columns;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.CommitStrategy;
import io.crest.iceberg.keyed.KeyResolver;
import io.crest.iceberg.keyed.KeyResolver.Row;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.junit.jupiter.api.Test;

/**
 * Keys resolved from a real table whose rows were updated and deleted through equality deletes,
 * position deletes and (format v3) deletion vectors, by Iceberg's own upsert writer.
 */
class KeyResolverTest extends SinkTestBase {
  private static final Schema KV_OPS = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)), field("v", true, ArrowType.Utf8.INSTANCE),
      field("op", true, ArrowType.Utf8.INSTANCE)));

  private VectorSchemaRoot rows(Object[]... rows) {
    return batch(allocator, KV_OPS, columns(rows));
  }

  private static Object[] row(Object... values) {
    return values;
  }

  private static Set<String> added(Table t, Snapshot s) {
    Set<String> files = new HashSet<>();
    for (DataFile f : s.addedDataFiles(t.io())) {
      files.add(f.location());
    }
    return files;
  }

  @Test
  void liveRows_areFound_updatedAndDeletedOnesAreNot_formatV2() throws Exception {
    check(2);
  }

  @Test
  void liveRows_areFound_updatedAndDeletedOnesAreNot_formatV3() throws Exception {
    check(3);
  }

  private void check(int formatVersion) throws Exception {
    IcebergSink sink = sink().formatVersion(formatVersion)
        .commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    List<Object[]> first = new ArrayList<>();
    for (long id = 0; id < 100; id++) {
      first.add(row(id, "a" + id, "insert"));
    }
    write(sink, rows(first.toArray(Object[][]::new)));
    Table t = table();
    Snapshot s1 = t.currentSnapshot();
    write(sink, rows(row(10L, "b10", "update"), row(20L, "b20", "insert"),
        row(20L, "c20", "update"), row(30L, null, "delete"), row(200L, "new", "insert")));
    t = table();
    Snapshot s2 = t.currentSnapshot();

    List<Row> found = KeyResolver.resolve(t, s2.snapshotId(), "id",
        new long[] {5, 10, 20, 30, 200, 1_000});
    assertThat(found).extracting(Row::key).containsExactlyInAnyOrder(5L, 10L, 20L, 200L);
    for (Row r : found) {
      assertThat(r.file()).as("key %d", r.key())
          .isIn(r.key() == 5 ? added(t, s1) : added(t, s2));
    }
    // Key 20 was written twice in the second flush: only the later row is live.
    Row twenty = found.stream().filter(r -> r.key() == 20).findFirst().orElseThrow();
    Row twoHundred = found.stream().filter(r -> r.key() == 200).findFirst().orElseThrow();
    assertThat(twenty.position()).isLessThan(twoHundred.position());

    // As of the first snapshot, the first flush's rows are the live ones.
    List<Row> before = KeyResolver.resolve(t, s1.snapshotId(), "id", new long[] {10, 30, 200});
    assertThat(before).extracting(Row::key).containsExactlyInAnyOrder(10L, 30L);
    assertThat(before).extracting(Row::position).containsExactlyInAnyOrder(10L, 30L);
  }

  @Test
  void filesWhoseBoundsHoldNoKey_areNotRead_andAnEmptyTableHasNoKeys() throws Exception {
    IcebergSink sink = sink().commitStrategy(CommitStrategy.upsertWithOps("op", "id")).build();
    write(sink, rows(row(1L, "a", "insert"), row(2L, "b", "insert")));
    write(sink, rows(row(100L, "x", "insert"), row(101L, "y", "insert")));
    Table t = table();
    // Delete the first flush's data file under the table: reading it would fail.
    Snapshot first = t.snapshot(t.currentSnapshot().parentId());
    for (DataFile f : first.addedDataFiles(t.io())) {
      t.io().deleteFile(f.location());
    }
    assertThat(KeyResolver.resolve(t, t.currentSnapshot().snapshotId(), "id",
        new long[] {50, 100, 150})).extracting(Row::key).containsExactly(100L);
    assertThat(KeyResolver.resolve(t, (Long) null, "id", new long[] {1})).isEmpty();
    assertThatThrownBy(() -> KeyResolver.resolve(t, t.currentSnapshot().snapshotId(), "v",
        new long[] {1})).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("long or int key columns only");
  }
}
