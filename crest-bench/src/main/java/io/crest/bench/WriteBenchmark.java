package io.crest.bench;

import io.crest.iceberg.write.ArrowRecords;
import io.crest.iceberg.schema.ArrowSchemas;
import io.crest.iceberg.schema.IcebergArrowSchema;
import io.crest.spi.FileWriter;
import io.crest.writer.FileWriters;
import io.crest.writer.ParquetCodec;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.iceberg.Files;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetWriter;
import org.apache.iceberg.io.DataWriter;
import org.apache.iceberg.parquet.Parquet;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Writes the same pre-built Arrow batches into one Parquet file per operation with Crest's
 * columnar writer and with Iceberg's generic row path (Arrow rows to {@code GenericRecord}s, one
 * reused record per batch as Crest's fallback sink does, into Iceberg's {@code
 * GenericParquetWriter}). The score is rows per second ({@code ops} are rows); {@code -prof gc}
 * adds {@code gc.alloc.rate.norm}, bytes allocated per row.
 *
 * <p>The Crest writer stays open for the whole trial and rolls to a new file per operation, as
 * a pipeline's writer does; Iceberg's API makes a new writer per file. With {@code threads > 1}
 * the Crest writer encodes on that many threads of its own, one file per thread and operation
 * (the 8 batches of an operation are shared among them; {@code finish()} waits for all).
 *
 * <p>Run from the repository root (this class, {@link ParquetJavaWriteBenchmark} and {@link
 * ArrowCppWriteBenchmark} in one JMH run; results in {@code crest-bench/README.md}):
 *
 * <pre>
 * mvn -B -pl crest-bench -am package -Pbench -DskipTests
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar \
 *     'io.crest.bench.*WriteBenchmark' -f 1 -wi 3 -i 5 -w 2s -r 3s -prof gc \
 *     -rf json -rff target/write.json
 * # bloom filter on the id (unique longs) or name (random strings) column vs none:
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar \
 *     'io.crest.bench.WriteBenchmark' -p writer=crest -p schema=narrow -p codec=zstd \
 *     -p bloom=none,id,name -f 1 -wi 2 -i 4 -w 2s -r 3s
 * # encoder threads, 1 vs 2:
 * java --add-opens=java.base/java.nio=ALL-UNNAMED -jar crest-bench/target/benchmarks.jar \
 *     'io.crest.bench.WriteBenchmark' -p writer=crest -p schema=narrow,wide -p threads=1,2 \
 *     -f 1 -wi 2 -i 4 -w 2s -r 3s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(BenchBatches.ROWS)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class WriteBenchmark {
  @Param({"crest", "iceberg"})
  public String writer;

  @Param({"narrow", "wide", "nested"})
  public String schema;

  @Param({"uncompressed", "snappy", "zstd"})
  public String codec;

  /**
   * Crest's {@code encoderThreads}: 1 encodes on the benchmark thread, more on the writer's own
   * threads (compare with {@code -p writer=crest -p threads=1,2}).
   */
  @Param({"1"})
  public int threads;

  /**
   * A column Crest's writer writes a bloom filter of (fpp 0.01, 1 MiB cap), or {@code none}:
   * compare with {@code -p writer=crest -p schema=narrow -p bloom=none,id,name}.
   */
  @Param({"none"})
  public String bloom;

  private BufferAllocator allocator;
  private BenchBatches data;
  private BenchFiles files;
  private long lastFileBytes;
  private FileWriter crest;
  private Schema icebergSchema;
  private ArrowRecords.Converter converter;
  private final ThreadMXBean threadBean = ManagementFactory.getThreadMXBean();
  private long cpuNanos;
  private long cpuRows;
  private long cpuMinNanos;

  @Setup(Level.Trial)
  public void setUp(BenchmarkParams params) {
    allocator = new RootAllocator();
    data = BenchBatches.build(schema, allocator);
    files = new BenchFiles("crest-bench");
    icebergSchema = ArrowSchemas.toIceberg(data.schema, "bench." + schema);
    System.out.printf("%n[data] schema=%s rows=%d arrowBytesPerRow=%.2f%n", schema, data.rows,
        (double) data.arrowBytes / data.rows);
    if (writer.equals("crest")) {
      io.crest.writer.ParquetWriterBuilder b =
          FileWriters.parquet(IcebergArrowSchema.toArrow(icebergSchema, "bench"), files)
              .codec(ParquetCodec.fromName(codec))
              .encoderThreads(threads);
      if (!bloom.equals("none")) {
        b.bloomFilter(bloom, 0.01);
      }
      crest = b.build();
    } else if (threads != 1) {
      throw new IllegalArgumentException("Cannot run writer=" + writer + " with threads="
          + threads + ": only writer=crest encodes on several threads (use -p writer=crest)");
    } else {
      converter = ArrowRecords.converter(icebergSchema, data.schema, "bench");
    }
  }

  @Setup(Level.Iteration)
  public void startIteration() {
    cpuNanos = 0;
    cpuRows = 0;
    cpuMinNanos = Long.MAX_VALUE;
  }

  /**
   * Prints the CPU time the benchmark thread spent per row in the iteration, on average and in
   * its cheapest operation: on a shared machine these vary less than the wall-clock score, the
   * cheapest least (with {@code threads > 1} the encoding runs on the writer's threads and is not
   * in it).
   */
  @TearDown(Level.Iteration)
  public void endIteration() {
    if (cpuRows > 0) {
      System.out.printf("%n[cpu] %s/%s/%s threads=%d: %.1f ns/row on the benchmark thread,"
              + " cheapest operation %.1f%n", writer, schema, codec, threads,
          (double) cpuNanos / cpuRows, (double) cpuMinNanos / data.rows);
    }
  }

  @Benchmark
  public long write() throws IOException {
    long cpuStart = threadBean.getCurrentThreadCpuTime();
    long bytes = writeOnce();
    long cpu = threadBean.getCurrentThreadCpuTime() - cpuStart;
    cpuNanos += cpu;
    cpuMinNanos = Math.min(cpuMinNanos, cpu);
    cpuRows += data.rows;
    return bytes;
  }

  private long writeOnce() throws IOException {
    if (crest != null) {
      for (VectorSchemaRoot batch : data.batches) {
        crest.write(batch);
      }
      crest.finish();
    } else {
      DataWriter<Record> w = Parquet.writeData(Files.localOutput(files.file("iceberg.parquet")
              .toFile()))
          .schema(icebergSchema)
          .withSpec(PartitionSpec.unpartitioned())
          .createWriterFunc(GenericParquetWriter::create)
          .set(TableProperties.PARQUET_COMPRESSION, codec)
          .overwrite()
          .build();
      try (w) {
        for (VectorSchemaRoot batch : data.batches) {
          Record record = GenericRecord.create(icebergSchema);
          for (int i = 0; i < batch.getRowCount(); i++) {
            converter.fill(batch, i, record);
            w.write(record);
          }
        }
      }
    }
    lastFileBytes = files.clear();
    return lastFileBytes;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    // the size of what one operation wrote, to compare encodings and compression
    System.out.printf("%n[file] %s bytes=%d%n",
        writer + "/" + schema + "/" + codec, lastFileBytes);
    if (crest != null) {
      crest.close();
    }
    data.close();
    allocator.close();
    files.close();
  }
}
