package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.errors.PipelineFailedException;
import io.crest.testing.RootsSource;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * A SQLite JDBC warehouse in a temporary directory, an allocator that must end empty, and a way to
 * push given batches through a whole pipeline into a sink and read the table back with Iceberg.
 */
abstract class SinkTestBase {
  static final Duration WAIT = Duration.ofMinutes(1);
  static final TableIdentifier TABLE = TableIdentifier.of("db", "t");

  @TempDir Path warehouse;
  BufferAllocator allocator;
  OpenCatalog catalog;
  private final AtomicInteger runs = new AtomicInteger();

  private RestCatalogServer restServer;
  private S3Server s3;

  /**
   * Whether the tests of this class talk to Iceberg's REST catalog server (a separate process on
   * loopback, one per test) instead of the SQLite JDBC catalog. REST variants override it.
   */
  boolean overRest() {
    return false;
  }

  /**
   * Whether the tests of this class keep the warehouse on S3-compatible object storage (an S3 API
   * server in its own process on loopback, one per test, through Iceberg's S3FileIO) with the
   * SQLite JDBC catalog, instead of the local file system. S3 variants override it.
   */
  boolean onS3() {
    return false;
  }

  @BeforeEach
  void openWarehouse() throws IOException {
    allocator = new RootAllocator();
    Map<String, String> props;
    if (overRest()) {
      restServer = RestCatalogServer.start(warehouse.resolve("rest-server"));
      props = restServer.catalogProperties();
    } else if (onS3()) {
      s3 = S3Server.start(warehouse.resolve("s3"));
      try (software.amazon.awssdk.services.s3.S3Client client = s3.client()) {
        client.createBucket(b -> b.bucket("lake"));
      }
      props = new java.util.HashMap<>(s3.fileIoProperties());
      props.put("type", "jdbc");
      props.put("uri", "jdbc:sqlite:" + warehouse.resolve("catalog.db"));
      props.put("warehouse", "s3://lake/warehouse");
    } else {
      props = IcebergCatalogs.localWarehouse(warehouse);
    }
    catalog = new OpenCatalog(IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, props));
  }

  @AfterEach
  void closeWarehouse() throws IOException {
    catalog.close();
    if (restServer != null) {
      restServer.close();
    }
    if (s3 != null) {
      s3.close();
    }
    allocator.close(); // a leaked buffer fails the test
  }

  IcebergSink.Builder sink() {
    return IcebergSink.builder().catalog(catalog.catalog()).table("db.t");
  }

  /** Runs one pipeline over {@code roots} (one batch each, one commit for all) to the end. */
  void write(IcebergSink sink, VectorSchemaRoot... roots) throws Exception {
    try (Pipeline p = pipeline(sink, BatchPolicy.rows(1_000_000), roots)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  /** Runs one pipeline over {@code roots}, one commit per batch. */
  void writeEach(IcebergSink sink, VectorSchemaRoot... roots) throws Exception {
    int rows = roots.length == 0 ? 1 : roots[0].getRowCount();
    try (Pipeline p = pipeline(sink, BatchPolicy.rows(Math.max(1, rows)), roots)) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  /** Runs one pipeline that must fail; returns the cause of its failure. */
  Throwable failure(IcebergSink sink, VectorSchemaRoot... roots) {
    Pipeline p = pipeline(sink, BatchPolicy.rows(1_000_000), roots);
    p.start();
    Throwable t = catchThrowable(() -> p.awaitIdle(WAIT));
    assertThat(t).isInstanceOf(PipelineFailedException.class);
    assertThat(catchThrowable(p::close)).isInstanceOf(PipelineFailedException.class);
    return t.getCause();
  }

  private Pipeline pipeline(IcebergSink sink, BatchPolicy policy, VectorSchemaRoot... roots) {
    // A new stream per run: each run's batches are new rows, never skipped as already committed.
    String stream = "run-" + runs.incrementAndGet();
    return Pipeline.from(new RootsSource(stream, List.of(roots))).id("p").batch(policy).to(sink);
  }

  Table table() {
    return catalog.loadTable(TABLE);
  }

  /**
   * Every data file of {@code t} has at most one delete, a position delete: a keyed table's
   * deletes of a data file are merged into one deletion vector (v3) or one file-scoped position
   * delete file (v2), which replaces the earlier one, and never an equality delete.
   */
  static void assertOneDeletionVectorOrPositionDeleteFileAtMost(Table t, String when)
      throws IOException {
    try (org.apache.iceberg.io.CloseableIterable<org.apache.iceberg.FileScanTask> tasks =
        t.newScan().planFiles()) {
      for (org.apache.iceberg.FileScanTask task : tasks) {
        assertThat(task.deletes()).as("%s: deletes of %s", when, task.file().location())
            .hasSizeLessThanOrEqualTo(1);
        for (org.apache.iceberg.DeleteFile d : task.deletes()) {
          assertThat(d.content()).as("%s: delete files", when)
              .isEqualTo(org.apache.iceberg.FileContent.POSITION_DELETES);
        }
      }
    }
  }

  List<Record> rows() throws IOException {
    return rows(table(), null);
  }

  /** What is done with each data file's parquet-java reader. */
  interface ParquetFileVisitor {
    void visit(org.apache.parquet.hadoop.ParquetFileReader reader) throws IOException;
  }

  /** Opens every data file of the table's current snapshot with parquet-java, one after another. */
  static void eachDataFile(Table table, ParquetFileVisitor visitor) throws IOException {
    try (CloseableIterable<org.apache.iceberg.FileScanTask> tasks = table.newScan().planFiles()) {
      for (org.apache.iceberg.FileScanTask task : tasks) {
        try (org.apache.parquet.hadoop.ParquetFileReader reader =
            org.apache.parquet.hadoop.ParquetFileReader.open(
                org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(
                    new org.apache.hadoop.fs.Path(task.file().location()),
                    new org.apache.hadoop.conf.Configuration()))) {
          visitor.visit(reader);
        }
      }
    }
  }

  /** The Parquet {@code created_by} of every data file of the table's current snapshot. */
  static java.util.Set<String> createdBy(Table table) throws IOException {
    java.util.Set<String> writers = new java.util.TreeSet<>();
    eachDataFile(table, reader ->
        writers.add(reader.getFooter().getFileMetaData().getCreatedBy().split(" ")[0]));
    return writers;
  }

  /**
   * The bloom filter of {@code column} in every row group of every data file of the table's
   * current snapshot, read by parquet-java; null for a row group without one.
   */
  static List<org.apache.parquet.column.values.bloomfilter.BloomFilter> bloomFilters(
      Table table, String column) throws IOException {
    List<org.apache.parquet.column.values.bloomfilter.BloomFilter> filters = new ArrayList<>();
    eachDataFile(table, reader -> {
      for (org.apache.parquet.hadoop.metadata.BlockMetaData block : reader.getRowGroups()) {
        org.apache.parquet.hadoop.metadata.ColumnChunkMetaData chunk = block.getColumns()
            .stream().filter(c -> c.getPath().toDotString().equals(column))
            .findFirst().orElseThrow();
        filters.add(reader.getBloomFilterDataReader(block).readBloomFilter(chunk));
      }
    });
    return filters;
  }

  static List<Record> rows(Table table, Expression filter) throws IOException {
    List<Record> out = new ArrayList<>();
    IcebergGenerics.ScanBuilder scan = IcebergGenerics.read(table);
    if (filter != null) {
      scan = scan.where(filter);
    }
    try (CloseableIterable<Record> records = scan.build()) {
      records.forEach(r -> out.add(r.copy()));
    }
    return out;
  }
}
