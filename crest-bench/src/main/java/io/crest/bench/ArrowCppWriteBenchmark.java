package io.crest.bench;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.dataset.file.DatasetFileWriter;
import org.apache.arrow.dataset.file.FileFormat;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.types.pojo.Schema;
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
 * Baseline: the Arrow C++ Parquet writer through arrow-dataset's JNI ({@code DatasetFileWriter},
 * its default writer properties, which means uncompressed), fed the same pre-built batches
 * through the C data interface (no copy). Same data and run command as {@link WriteBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(BenchBatches.ROWS)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ArrowCppWriteBenchmark {
  @Param({"narrow", "wide", "nested"})
  public String schema;

  private BufferAllocator allocator;
  private BenchBatches data;
  private BenchFiles files;
  private long lastFileBytes;

  @Setup(Level.Trial)
  public void setUp() {
    allocator = new RootAllocator();
    data = BenchBatches.build(schema, allocator);
    files = new BenchFiles("crest-bench-cpp");
  }

  @Benchmark
  public long write() throws Exception {
    try (BatchesReader reader = new BatchesReader(allocator, data.schema, data.batches)) {
      DatasetFileWriter.write(allocator, reader, FileFormat.PARQUET,
          files.file("cpp").toUri().toString());
    }
    lastFileBytes = files.clear();
    return lastFileBytes;
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    // the size of what one operation wrote, to compare encodings and compression
    System.out.printf("%n[file] %s bytes=%d%n",
        "arrow-c++/" + schema + "/uncompressed", lastFileBytes);
    data.close();
    allocator.close();
    files.close();
  }

  /** Hands the pre-built batches to the native writer, sharing their buffers. */
  static final class BatchesReader extends ArrowReader {
    private final Schema schema;
    private final List<VectorSchemaRoot> batches;
    private int next;

    BatchesReader(BufferAllocator allocator, Schema schema, List<VectorSchemaRoot> batches) {
      super(allocator);
      this.schema = schema;
      this.batches = batches;
    }

    @Override
    public boolean loadNextBatch() throws IOException {
      if (next == batches.size()) {
        return false;
      }
      VectorSchemaRoot source = batches.get(next++);
      try (ArrowRecordBatch batch = new VectorUnloader(source).getRecordBatch()) {
        new VectorLoader(getVectorSchemaRoot()).load(batch);
      }
      return true;
    }

    @Override
    public long bytesRead() {
      return 0;
    }

    @Override
    protected void closeReadSource() {}

    @Override
    protected Schema readSchema() {
      return schema;
    }
  }
}
