package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightSource;
import io.crest.iceberg.commit.PipelineState;
import io.crest.spi.CommittedState;
import io.crest.spi.SourcePosition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shards of one discovery writing one table (JDBC catalog) at once, then the shard count changed
 * three times while the views grow: every row lands once, each shard records only its own
 * streams, and a stream that moved resumes from the newest position any shard committed.
 */
class ShardedFlightTest {
  private static final TableIdentifier TABLE = TableIdentifier.of("shop", "views");
  private static final int VIEWS = 12;
  private static final long VIEW_BASE = 1_000_000;

  @TempDir Path warehouse;
  private BufferAllocator allocator;
  private ViewServer server;

  @BeforeEach
  void startServer() throws Exception {
    allocator = new RootAllocator();
    server = new ViewServer(allocator, 100);
  }

  @AfterEach
  void stop() throws Exception {
    server.close();
    allocator.close(); // a leak fails the test
  }

  private void grow(long rows) {
    for (int v = 0; v < VIEWS; v++) {
      server.view(String.format("v%02d", v), v * VIEW_BASE, rows);
    }
  }

  /** Runs shards 0..count-1 at once to the end of the views; returns their pipeline ids. */
  private List<String> runShards(int count) throws Exception {
    List<Pipeline> pipelines = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    try {
      for (int i = 0; i < count; i++) {
        FlightSource source = FlightSource.builder(allocator)
            .discover("views", server.uri(), FlightDescriptor.path("views"))
            .shard(i, count)
            .build();
        Pipeline p = Pipeline.from(source).id("mirror")
            .batch(BatchPolicy.rows(2_000).orEvery(Duration.ofMillis(200)))
            .to(IcebergSink.builder().localWarehouse(warehouse).table("shop.views").build());
        pipelines.add(p);
        ids.add(p.id());
      }
      for (Pipeline p : pipelines) {
        p.start();
      }
      for (Pipeline p : pipelines) {
        assertThat(p.awaitIdle(Duration.ofMinutes(1))).isTrue();
      }
    } finally {
      for (Pipeline p : pipelines) {
        p.close();
      }
    }
    return ids;
  }

  private Table table(OpenCatalog c) {
    return c.loadTable(TABLE);
  }

  private OpenCatalog catalog() {
    return new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
  }

  /** Asserts the table holds rows 0..rows-1 of every view, each once. */
  private void assertEveryRowOnce(long rows) throws Exception {
    List<Long> ids = new ArrayList<>();
    try (OpenCatalog c = catalog();
        CloseableIterable<Record> read = IcebergGenerics.read(table(c)).build()) {
      read.forEach(r -> ids.add((Long) r.getField("id")));
    }
    List<Long> expected = new ArrayList<>();
    for (int v = 0; v < VIEWS; v++) {
      for (long i = 0; i < rows; i++) {
        expected.add(v * VIEW_BASE + i);
      }
    }
    assertThat(ids).hasSize(expected.size()).containsExactlyInAnyOrderElementsOf(expected);
  }

  /**
   * The last states of the shards of {@code count}: disjoint, together every view at {@code
   * rows}.
   */
  private void assertStatesPartitionTheViews(int count, long rows) throws Exception {
    Map<String, CommittedState> states;
    try (OpenCatalog c = catalog()) {
      states = PipelineState.findAll(table(c), null, "mirror-shard-");
    }
    Map<String, SourcePosition> union = new HashMap<>();
    int total = 0;
    for (int i = 0; i < count; i++) {
      CommittedState s = states.get("mirror-shard-" + i + "-of-" + count);
      if (s == null) {
        continue; // a shard that owns no view commits nothing
      }
      total += s.positions().size();
      union.putAll(s.positions());
    }
    assertThat(total).as("each view in one shard's state").isEqualTo(VIEWS);
    Set<String> views = new TreeSet<>();
    for (int v = 0; v < VIEWS; v++) {
      views.add(String.format("views/v%02d", v));
    }
    assertThat(union.keySet()).isEqualTo(views);
    assertThat(new java.util.HashSet<>(union.values())).containsExactly(SourcePosition.ofOffset(rows));
  }

  @Test
  void shards_writeOneTableAtOnce_andCountChanges_resumeMovedStreams_withoutLossOrDuplicates()
      throws Exception {
    grow(500);
    assertThat(runShards(3))
        .containsExactly("mirror-shard-0-of-3", "mirror-shard-1-of-3", "mirror-shard-2-of-3");
    assertEveryRowOnce(500);
    assertStatesPartitionTheViews(3, 500);

    grow(800); // fewer shards: streams of the old shard 2 move
    runShards(2);
    assertEveryRowOnce(800);
    assertStatesPartitionTheViews(2, 800);

    grow(1_000); // more shards
    runShards(4);
    assertEveryRowOnce(1_000);
    assertStatesPartitionTheViews(4, 1_000);

    // Back to 3: each shard's own state (at 500) is stale, the 4-shard commits are newer.
    grow(1_200);
    runShards(3);
    assertEveryRowOnce(1_200);
    assertStatesPartitionTheViews(3, 1_200);
  }
}
