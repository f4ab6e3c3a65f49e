package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.errors.PipelineFencedException;
import io.crest.flight.FlightSource;
import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.testing.GeneratedSource;
import io.crest.testing.TestBatches;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.rest.RESTCatalog;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pipelines into a table of Iceberg's own REST catalog server, running as a separate process on
 * loopback (see {@link RestCatalogServer}). Every check reads through a fresh REST client. One
 * server serves the whole class; each test works in its own namespace.
 */
class RestCatalogTest {
  private static final Duration WAIT = Duration.ofMinutes(2);

  @TempDir static Path serverDir;
  private static RestCatalogServer server;

  private BufferAllocator allocator;
  private String namespace;

  @BeforeAll
  static void startServer() throws IOException {
    server = RestCatalogServer.start(serverDir);
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void open(TestInfo test) {
    allocator = new RootAllocator();
    namespace = test.getTestMethod().orElseThrow().getName().toLowerCase(Locale.ROOT);
  }

  @AfterEach
  void close() {
    allocator.close(); // fails the test if any buffer leaked
  }

  private TableIdentifier table(String name) {
    return TableIdentifier.of(namespace, name);
  }

  private IcebergSink sink(String table) {
    return IcebergSink.builder()
        .catalog(server.catalogProperties())
        .table(namespace + "." + table)
        .commitBackoff(Duration.ofMillis(1), Duration.ofMillis(10))
        .build();
  }

  private Pipeline.Builder pipeline(String id, GeneratedSource source) {
    return Pipeline.from(source).id(id).batch(BatchPolicy.rows(400));
  }

  private void runToEnd(Pipeline p) throws Exception {
    try (p) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private static List<Long> ids(Table table) throws IOException {
    List<Long> ids = new ArrayList<>();
    try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("id")));
    }
    return ids;
  }

  private static List<Long> range(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }

  @Test
  void generatedSource_createsNamespaceAndTable_andASecondRunResumes_readThroughFreshClients()
      throws Exception {
    try (OpenCatalog c = server.openCatalog()) {
      assertThat(c.catalog()).isInstanceOf(RESTCatalog.class);
      assertThat(((SupportsNamespaces) c.catalog()).namespaceExists(Namespace.of(namespace)))
          .isFalse();
    }

    Pipeline first = pipeline("gen", new GeneratedSource(allocator, 100).stream("s", 0, 1_000))
        .to(sink("events"));
    runToEnd(first);
    assertThat(first.stats().rowsCommitted()).isEqualTo(1_000);

    try (OpenCatalog c = server.openCatalog()) {
      assertThat(((SupportsNamespaces) c.catalog()).namespaceExists(Namespace.of(namespace)))
          .isTrue();
      Table t = c.loadTable(table("events"));
      assertThat(ids(t)).containsExactlyInAnyOrderElementsOf(range(0, 1_000));
      assertThat(t.currentSnapshot().summary())
          .containsEntry("crest.pipeline-id", "gen")
          .containsEntry("crest.positions", "{\"s\":\"1000\"}")
          .containsKey("crest.commit-id");
      // The data went where the server's catalog put the table: its file: warehouse.
      assertThat(Path.of(java.net.URI.create(t.location()))).startsWith(server.warehouse());
    }

    // The stream grew; a new run (a new sink-owned REST client) reads only the new rows.
    Pipeline second = pipeline("gen", new GeneratedSource(allocator, 100).stream("s", 0, 1_600))
        .to(sink("events"));
    runToEnd(second);
    assertThat(second.stats().rowsIn()).isEqualTo(600);

    try (OpenCatalog c = server.openCatalog()) {
      assertThat(ids(c.loadTable(table("events"))))
          .containsExactlyInAnyOrderElementsOf(range(0, 1_600));
    }

    // Nothing new: nothing committed.
    Pipeline third = pipeline("gen", new GeneratedSource(allocator, 100).stream("s", 0, 1_600))
        .to(sink("events"));
    runToEnd(third);
    assertThat(third.stats().commits()).isZero();
  }

  @Test
  void flightViews_landEveryRowOnceWithExactValues_andResumeAfterTheyGrow() throws Exception {
    ViewServer views = new ViewServer(allocator, 300);
    try {
      views.view("orders_eu", 0, 1_200).view("orders_us", 100_000, 450);
      runToEnd(flightPipeline(views));

      views.view("orders_eu", 0, 2_000);
      Pipeline second = flightPipeline(views);
      runToEnd(second);
      assertThat(second.stats().rowsIn()).isEqualTo(800);
    } finally {
      views.close();
    }

    try (OpenCatalog c = server.openCatalog()) {
      Table t = c.loadTable(table("orders"));
      Map<Long, Record> byId = new HashMap<>();
      int rows = 0;
      try (CloseableIterable<Record> records = IcebergGenerics.read(t).build()) {
        for (Record r : records) {
          rows++;
          byId.put((Long) r.getField("id"), r.copy());
        }
      }
      List<Long> expected = new ArrayList<>(range(0, 2_000));
      expected.addAll(range(100_000, 100_450));
      assertThat(rows).as("rows, duplicates included").isEqualTo(expected.size());
      assertThat(byId.keySet()).containsExactlyInAnyOrderElementsOf(expected);
      for (long id : expected) {
        Map<String, Object> e = ViewServer.expected(id);
        for (String column : List.of("name", "price", "at", "day", "tags")) {
          assertThat(byId.get(id).getField(column)).as("%s of %d", column, id)
              .isEqualTo(e.get(column));
        }
      }
      assertThat(t.currentSnapshot().summary())
          .containsEntry("crest.positions", "{\"orders_eu\":\"2000\",\"orders_us\":\"450\"}");
    }
  }

  private Pipeline flightPipeline(ViewServer views) {
    FlightSource source = FlightSource.builder(allocator)
        .endpoint(views.uri(), "orders_eu")
        .endpoint(views.uri(), "orders_us")
        .build();
    return Pipeline.from(source)
        .id("orders")
        .batch(BatchPolicy.rows(1_000).orEvery(Duration.ofSeconds(1)))
        .to(sink("orders"));
  }

  @Test
  void exactlyOnceState_roundTripsOverRest_andSurvivesExpiryOfThePipelinesSnapshots()
      throws Exception {
    runToEnd(pipeline("p", new GeneratedSource(allocator, 100).stream("s", 0, 500).instance("v1"))
        .to(sink("events")));

    try (OpenCatalog c = server.openCatalog()) {
      Table t = c.loadTable(table("events"));
      Map<String, String> summary = t.currentSnapshot().summary();
      assertThat(summary).containsEntry("crest.source-instance", "v1");
      // The property and the snapshot came in one transaction: they name the same commit.
      assertThat(t.properties().get("crest.state.p"))
          .isEqualTo("{\"commit-id\":\"" + summary.get("crest.commit-id")
              + "\",\"source-instance\":\"v1\",\"positions\":{\"s\":\"500\"}}");

      // Another writer appends twice, then every snapshot of the pipeline expires.
      t.newFastAppend().set("writer", "someone-else").commit();
      t.newFastAppend().set("writer", "someone-else").commit();
      t.expireSnapshots().expireOlderThan(System.currentTimeMillis() + 1).retainLast(1).commit();
    }
    try (OpenCatalog c = server.openCatalog()) {
      for (Snapshot s : c.loadTable(table("events")).snapshots()) {
        assertThat(s.summary()).doesNotContainKey("crest.pipeline-id");
      }
    }

    // The state property, read back over REST, is where the next run resumes.
    Pipeline second = pipeline("p",
        new GeneratedSource(allocator, 100).stream("s", 0, 800).instance("v1")).to(sink("events"));
    runToEnd(second);
    assertThat(second.stats().rowsIn()).isEqualTo(300);
    try (OpenCatalog c = server.openCatalog()) {
      Table t = c.loadTable(table("events"));
      assertThat(ids(t)).containsExactlyInAnyOrderElementsOf(range(0, 800));
      assertThat(t.properties().get("crest.state.p")).contains("\"positions\":{\"s\":\"800\"}");
    }
  }

  @Test
  void twoCopiesOfOnePipeline_overRest_theSecondToCommitIsFenced_andNoRowIsDuplicated()
      throws Exception {
    try (OpenCatalog c = server.openCatalog()) {
      ((SupportsNamespaces) c.catalog()).createNamespace(Namespace.of(namespace), new HashMap<>());
      c.catalog().buildTable(table("events"),
              ArrowSchemas.toIceberg(TestBatches.SCHEMA, namespace + ".events"))
          .withProperty("commit.retry.num-retries", "1")
          .withProperty("commit.retry.min-wait-ms", "1")
          .withProperty("commit.retry.max-wait-ms", "2")
          .create();
    }
    CountDownLatch go = new CountDownLatch(1);
    Pipeline a = Pipeline.from(new GeneratedSource(allocator, 50).stream("s", 0, 2_000)
            .holdUntil(go))
        .id("same").batch(BatchPolicy.rows(200)).to(sink("events"));
    Pipeline b = Pipeline.from(new GeneratedSource(allocator, 50).stream("s", 0, 2_000)
            .holdUntil(go))
        .id("same").batch(BatchPolicy.rows(200)).to(sink("events"));
    a.start();
    b.start(); // both read the same (empty) state before either commits
    go.countDown();
    List<Throwable> failures = new ArrayList<>();
    for (Pipeline p : List.of(a, b)) {
      try {
        p.awaitIdle(WAIT);
        p.close();
      } catch (PipelineFailedException e) {
        failures.add(e.getCause());
        try {
          p.close();
        } catch (PipelineFailedException expected) {
          // close reports the same failure again
        }
      }
    }
    assertThat(failures).hasSize(1);
    assertThat(failures.get(0))
        .isInstanceOf(PipelineFencedException.class)
        .hasMessageContaining("pipeline same was fenced");
    try (OpenCatalog c = server.openCatalog()) {
      assertThat(ids(c.loadTable(table("events"))))
          .containsExactlyInAnyOrderElementsOf(range(0, 2_000));
    }
  }
}
