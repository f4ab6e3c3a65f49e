package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.testing.GeneratedSource;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.hadoop.HadoopCatalog;
import org.apache.iceberg.inmemory.InMemoryCatalog;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The same pipeline against the other kinds of catalog Crest supports: a JDBC catalog on H2, a
 * Hadoop (file system) catalog, and a catalog instance the caller owns (Iceberg's in-memory one).
 * Each run is read back through a catalog opened afresh, as another process would. The REST
 * catalog has its own tests ({@link RestCatalogTest}); SQLite is what the other tests use.
 */
class CatalogTypesTest {
  private static final Duration WAIT = Duration.ofMinutes(1);
  private static final TableIdentifier TABLE = TableIdentifier.of("db", "events");

  /** A kind of catalog: how a sink reaches it and how a reader opens it. */
  enum Kind {
    /** {@code type=jdbc} on an H2 file database. */
    H2_JDBC {
      @Override
      Setup setUp(Path dir) {
        return new PropertiesSetup(h2Properties(dir), JdbcCatalog.class);
      }
    },
    /** {@code type=hadoop}: metadata and data in a warehouse directory, no database. */
    HADOOP {
      @Override
      Setup setUp(Path dir) {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("type", "hadoop");
        props.put("warehouse", dir.resolve("warehouse").toUri().toString());
        return new PropertiesSetup(props, HadoopCatalog.class);
      }
    },
    /** A {@link Catalog} instance passed to the sink, which the test keeps open and closes. */
    IN_MEMORY_INSTANCE {
      @Override
      Setup setUp(Path dir) {
        InMemoryCatalog catalog = new InMemoryCatalog();
        catalog.initialize("memory", Map.of());
        return new InstanceSetup(catalog);
      }
    };

    abstract Setup setUp(Path dir);
  }

  /** One kind of catalog set up in a test's directory. */
  interface Setup extends AutoCloseable {
    IcebergSink.Builder sink();

    /** A catalog to read through, and whether the caller closes it. */
    Catalog openReader();

    boolean readerIsOwned();

    @Override
    void close() throws IOException;
  }

  /** Catalog properties: the sink opens its own catalog per run, readers open theirs. */
  record PropertiesSetup(Map<String, String> props, Class<? extends Catalog> expectedType)
      implements Setup {
    @Override
    public IcebergSink.Builder sink() {
      return IcebergSink.builder().catalog(props);
    }

    @Override
    public Catalog openReader() {
      Catalog catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, props);
      assertThat(catalog).isInstanceOf(expectedType);
      return catalog;
    }

    @Override
    public boolean readerIsOwned() {
      return true;
    }

    @Override
    public void close() {}
  }

  /** One catalog instance for sink and readers, closed only at the end. */
  record InstanceSetup(InMemoryCatalog catalog) implements Setup {
    @Override
    public IcebergSink.Builder sink() {
      return IcebergSink.builder().catalog(catalog);
    }

    @Override
    public Catalog openReader() {
      return catalog;
    }

    @Override
    public boolean readerIsOwned() {
      return false;
    }

    @Override
    public void close() throws IOException {
      catalog.close();
    }
  }

  @TempDir Path dir;
  private BufferAllocator allocator;

  @BeforeEach
  void open() {
    allocator = new RootAllocator();
  }

  @AfterEach
  void close() {
    allocator.close(); // fails the test if any buffer leaked
  }

  static Map<String, String> h2Properties(Path dir) {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("type", "jdbc");
    // H2 upper-cases unquoted names unless told not to. Without this, reopening the catalog fails:
    // it does not find its own columns and adds them again ("Duplicate column name ICEBERG_TYPE").
    props.put("uri", "jdbc:h2:file:" + dir.resolve("catalog") + ";DATABASE_TO_UPPER=FALSE");
    props.put("warehouse", dir.resolve("warehouse").toUri().toString());
    props.put("jdbc.schema-version", "V1");
    return props;
  }

  private void run(Setup setup, long rows, long expectedRowsIn) throws Exception {
    try (Pipeline p =
        Pipeline.from(new GeneratedSource(allocator, 100).stream("s", 0, rows))
            .id("kinds")
            .batch(BatchPolicy.rows(300))
            .to(setup.sink().table("db.events").build())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
      assertThat(p.stats().rowsIn()).isEqualTo(expectedRowsIn);
    }
  }

  private static List<Long> ids(Setup setup) throws IOException {
    Catalog catalog = setup.openReader();
    try {
      Table table = catalog.loadTable(TABLE);
      List<Long> ids = new ArrayList<>();
      try (CloseableIterable<Record> rows = IcebergGenerics.read(table).build()) {
        rows.forEach(r -> ids.add((Long) r.getField("id")));
      }
      assertThat(table.currentSnapshot().summary()).containsEntry("crest.pipeline-id", "kinds");
      return ids;
    } finally {
      if (setup.readerIsOwned() && catalog instanceof Closeable) {
        ((Closeable) catalog).close();
      }
    }
  }

  private static List<Long> range(long from, long to) {
    return LongStream.range(from, to).boxed().toList();
  }

  @ParameterizedTest
  @EnumSource(Kind.class)
  void pipelineRun_createsTheTable_aSecondRunResumes_andAReaderSeesEveryRowOnce(Kind kind)
      throws Exception {
    try (Setup setup = kind.setUp(dir)) {
      run(setup, 1_000, 1_000);
      assertThat(ids(setup)).containsExactlyInAnyOrderElementsOf(range(0, 1_000));

      run(setup, 1_700, 700);
      assertThat(ids(setup)).containsExactlyInAnyOrderElementsOf(range(0, 1_700));

      run(setup, 1_700, 0);
      assertThat(ids(setup)).hasSize(1_700);
    }
  }

  @Test
  void h2Catalog_reopenedAfterEveryConnectionClosed_stillHasItsNamespaceTableAndState()
      throws Exception {
    Map<String, String> props = h2Properties(dir);
    try (Setup setup = Kind.H2_JDBC.setUp(dir)) {
      run(setup, 500, 500);
    }
    // The sink closed its catalog with the run and no reader is open: H2 closed the database.
    Catalog reopened = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, props);
    try {
      assertThat(((SupportsNamespaces) reopened).listNamespaces())
          .containsExactly(Namespace.of("db"));
      assertThat(reopened.listTables(Namespace.of("db"))).containsExactly(TABLE);
      assertThat(reopened.loadTable(TABLE).properties()).containsKey("crest.state.kinds");
    } finally {
      ((Closeable) reopened).close();
    }
    try (Setup setup = Kind.H2_JDBC.setUp(dir)) {
      run(setup, 800, 300);
      assertThat(ids(setup)).containsExactlyInAnyOrderElementsOf(range(0, 800));
    }
  }
}
