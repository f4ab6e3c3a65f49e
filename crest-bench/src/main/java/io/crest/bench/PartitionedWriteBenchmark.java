package io.crest.bench;

import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.write.ArrowPartitioner;
import io.crest.iceberg.write.ArrowRecords;
import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.iceberg.write.ArrowTableWriter;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.PartitionKey;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.InternalRecordWrapper;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Writing the narrow batches into a partitioned Iceberg table, Crest's way against Iceberg's,
 * each operation writing every batch and finishing the files (then deleting them):
 *
 * <ul>
 *   <li>{@code crest}: what {@code IcebergSink} does, {@code ArrowPartitioner} groups each batch's
 *       rows by partition on the vectors and {@code ArrowTableWriter} writes each group with the
 *       columnar writer, one file per partition;
 *   <li>{@code iceberg}: Iceberg's generic path, every row converted to a reused {@code
 *       GenericRecord}, its {@code PartitionKey} computed, written through a {@code
 *       FanoutDataWriter} of {@code GenericFileWriterFactory} writers.
 * </ul>
 *
 * <p>{@code hour(ts)} puts each batch in one or two partitions (the columnar writer takes the
 * batch as it is); {@code bucket(16, id)} scatters every batch over 16 partitions (the rows of
 * each are copied into a scratch batch first). Score: rows per second; {@code -prof gc} adds
 * bytes allocated per row.
 *
 * <pre>
 * mvn -B -pl crest-bench -am package -Pbench -DskipTests
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar \
 *     PartitionedWriteBenchmark -f 1 -wi 2 -i 4 -w 2s -r 3s -prof gc
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(BenchBatches.ROWS)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 4, time = 3)
public class PartitionedWriteBenchmark {
  @Param({"crest", "iceberg"})
  public String writer;

  @Param({"hour(ts)", "bucket(16, id)"})
  public String partitioning;

  private BufferAllocator allocator;
  private BenchBatches data;
  private BenchFiles dir;
  private Catalog catalog;
  private Table table;
  private Schema schema;
  private ArrowRecords.Converter converter;
  private long task;

  @Setup(Level.Trial)
  public void setUp() {
    allocator = new RootAllocator();
    data = BenchBatches.build("narrow", allocator);
    dir = new BenchFiles("crest-partitioned-bench");
    schema = ArrowSchemas.toIceberg(data.schema, "bench.narrow");
    PartitionSpec spec = partitioning.startsWith("hour")
        ? PartitionSpec.builderFor(schema).hour("ts").build()
        : PartitionSpec.builderFor(schema).bucket("id", 16).build();
    // the sink's own file IO: a local warehouse as IcebergCatalogs opens it
    catalog = IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME,
        IcebergCatalogs.localWarehouse(dir.file("warehouse-" + UUID.randomUUID())));
    table = catalog.createTable(TableIdentifier.of("bench", "narrow"), schema, spec,
        Map.of(TableProperties.PARQUET_COMPRESSION, "snappy", TableProperties.FORMAT_VERSION, "2"));
    converter = ArrowRecords.converter(table.schema(), data.schema, "bench.narrow");
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    IcebergCatalogs.closeQuietly(catalog);
    data.close();
    allocator.close();
    dir.close();
  }

  @Benchmark
  public int write() throws IOException {
    List<DataFile> files = writer.equals("crest") ? crest() : iceberg();
    for (DataFile f : files) {
      table.io().deleteFile(f.location());
    }
    return files.size();
  }

  private List<DataFile> crest() {
    ArrowPartitioner partitioner =
        ArrowPartitioner.create(table.schema(), table.spec(), data.schema);
    try (ArrowTableWriter w = ArrowTableWriter.open(table, partitioner, 0, false, 1, ++task)) {
      for (VectorSchemaRoot batch : data.batches) {
        w.write(batch, converter);
      }
      return w.complete();
    }
  }

  private List<DataFile> iceberg() throws IOException {
    OutputFileFactory files = OutputFileFactory.builderFor(table, 1, ++task)
        .format(FileFormat.PARQUET).build();
    GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(table)
        .dataFileFormat(FileFormat.PARQUET).dataSchema(table.schema()).build();
    FanoutDataWriter<Record> w = new FanoutDataWriter<>(factory, files, table.io(),
        TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT);
    PartitionKey key = new PartitionKey(table.spec(), table.schema());
    InternalRecordWrapper wrapper = new InternalRecordWrapper(table.schema().asStruct());
    Record record = GenericRecord.create(table.schema());
    try (w) {
      for (VectorSchemaRoot batch : data.batches) {
        for (int i = 0; i < batch.getRowCount(); i++) {
          converter.fill(batch, i, record);
          key.partition(wrapper.wrap(record));
          w.write(record, table.spec(), key);
        }
      }
    }
    return w.result().dataFiles();
  }
}
