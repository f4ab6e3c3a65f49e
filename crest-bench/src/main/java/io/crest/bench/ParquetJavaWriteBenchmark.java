package io.crest.bench;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.bytes.HeapByteBufferAllocator;
import org.apache.parquet.column.ColumnDescriptor;
import org.apache.parquet.column.ColumnWriteStore;
import org.apache.parquet.column.ColumnWriter;
import org.apache.parquet.column.ParquetProperties;
import org.apache.parquet.hadoop.CodecFactory;
import org.apache.parquet.hadoop.ColumnChunkPageWriteStore;
import org.apache.parquet.hadoop.ParquetFileWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;
import org.apache.parquet.schema.Types;
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
 * Baseline: parquet-java's own column writers ({@code ColumnWriteStore}, V1 pages, its default
 * dictionary and page settings) fed value by value straight from the Arrow vectors, row by row,
 * no intermediate records. Flat schemas only (narrow, wide): feeding nested levels by hand is
 * what Crest's writer is. Same data and run command as {@link WriteBenchmark}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(BenchBatches.ROWS)
@Fork(value = 1, jvmArgsAppend = {"--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx3g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ParquetJavaWriteBenchmark {
  private static final long ROW_GROUP = 128L << 20;

  @Param({"narrow", "wide"})
  public String schema;

  @Param({"uncompressed", "snappy", "zstd"})
  public String codec;

  private BufferAllocator allocator;
  private BenchBatches data;
  private BenchFiles files;
  private long lastFileBytes;
  private MessageType parquetSchema;
  private ColumnDescriptor[] columns;
  private CodecFactory codecs;
  private ParquetProperties props;

  @Setup(Level.Trial)
  public void setUp() {
    allocator = new RootAllocator();
    data = BenchBatches.build(schema, allocator);
    files = new BenchFiles("crest-bench-pj");
    Types.MessageTypeBuilder b = Types.buildMessage();
    for (Field f : data.schema.getFields()) {
      b.addField(type(f));
    }
    parquetSchema = b.named("table");
    columns = parquetSchema.getColumns().toArray(new ColumnDescriptor[0]);
    codecs = new CodecFactory(new Configuration(), ParquetProperties.DEFAULT_PAGE_SIZE);
    props = ParquetProperties.builder()
        .withWriterVersion(ParquetProperties.WriterVersion.PARQUET_1_0)
        .build();
  }

  private static Type type(Field f) {
    Type.Repetition rep = f.isNullable() ? Type.Repetition.OPTIONAL : Type.Repetition.REQUIRED;
    ArrowType t = f.getType();
    switch (t.getTypeID()) {
      case Int:
        return ((ArrowType.Int) t).getBitWidth() == 64
            ? Types.primitive(PrimitiveTypeName.INT64, rep).named(f.getName())
            : Types.primitive(PrimitiveTypeName.INT32, rep).named(f.getName());
      case FloatingPoint:
        return Types.primitive(PrimitiveTypeName.DOUBLE, rep).named(f.getName());
      case Utf8:
        return Types.primitive(PrimitiveTypeName.BINARY, rep)
            .as(LogicalTypeAnnotation.stringType()).named(f.getName());
      case Timestamp:
        return Types.primitive(PrimitiveTypeName.INT64, rep)
            .as(LogicalTypeAnnotation.timestampType(true, LogicalTypeAnnotation.TimeUnit.MICROS))
            .named(f.getName());
      case Bool:
        return Types.primitive(PrimitiveTypeName.BOOLEAN, rep).named(f.getName());
      default:
        throw new IllegalArgumentException("Cannot map " + f + " in the parquet-java baseline");
    }
  }

  @Benchmark
  public long write() throws IOException {
    ParquetFileWriter fw = new ParquetFileWriter(new LocalOutputFile(files.file("pj.parquet")),
        parquetSchema, ParquetFileWriter.Mode.OVERWRITE, ROW_GROUP, 0);
    fw.start();
    ColumnChunkPageWriteStore pages = newPages();
    ColumnWriteStore store = props.newColumnWriteStore(parquetSchema, pages);
    ColumnWriter[] writers = new ColumnWriter[columns.length];
    for (int c = 0; c < columns.length; c++) {
      writers[c] = store.getColumnWriter(columns[c]);
    }
    long groupRows = 0;
    for (VectorSchemaRoot batch : data.batches) {
      List<FieldVector> vectors = batch.getFieldVectors();
      int rows = batch.getRowCount();
      for (int r = 0; r < rows; r++) {
        for (int c = 0; c < writers.length; c++) {
          writeValue(writers[c], columns[c].getMaxDefinitionLevel(), vectors.get(c), r);
        }
        store.endRecord();
      }
      groupRows += rows;
      if (store.getBufferedSize() >= ROW_GROUP) {
        flush(fw, store, pages, groupRows);
        pages = newPages();
        store = props.newColumnWriteStore(parquetSchema, pages);
        for (int c = 0; c < columns.length; c++) {
          writers[c] = store.getColumnWriter(columns[c]);
        }
        groupRows = 0;
      }
    }
    flush(fw, store, pages, groupRows);
    fw.end(Map.of());
    lastFileBytes = files.clear();
    return lastFileBytes;
  }

  private ColumnChunkPageWriteStore newPages() {
    return new ColumnChunkPageWriteStore(
        codecs.getCompressor(CompressionCodecName.fromConf(codec.toUpperCase())), parquetSchema,
        new HeapByteBufferAllocator(), Integer.MAX_VALUE);
  }

  private static void flush(ParquetFileWriter fw, ColumnWriteStore store,
      ColumnChunkPageWriteStore pages, long rows) throws IOException {
    if (rows == 0) {
      return;
    }
    store.flush();
    fw.startBlock(rows);
    pages.flushToFileWriter(fw);
    fw.endBlock();
    store.close();
    pages.close();
  }

  private static void writeValue(ColumnWriter w, int maxDef, FieldVector v, int r) {
    if (v.isNull(r)) {
      w.writeNull(0, 0);
      return;
    }
    if (v instanceof BigIntVector) {
      w.write(((BigIntVector) v).get(r), 0, maxDef);
    } else if (v instanceof TimeStampVector) {
      w.write(((TimeStampVector) v).get(r), 0, maxDef);
    } else if (v instanceof IntVector) {
      w.write(((IntVector) v).get(r), 0, maxDef);
    } else if (v instanceof Float8Vector) {
      w.write(((Float8Vector) v).get(r), 0, maxDef);
    } else if (v instanceof BitVector) {
      w.write(((BitVector) v).get(r) != 0, 0, maxDef);
    } else {
      VarCharVector s = (VarCharVector) v;
      ArrowBuf offsets = s.getOffsetBuffer();
      int start = offsets.getInt((long) r * 4);
      int end = offsets.getInt((long) r * 4 + 4);
      w.write(Binary.fromConstantByteBuffer(s.getDataBuffer().nioBuffer(start, end - start)), 0,
          maxDef);
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    // the size of what one operation wrote, to compare encodings and compression
    System.out.printf("%n[file] %s bytes=%d%n",
        "parquet-java/" + schema + "/" + codec, lastFileBytes);
    codecs.release();
    data.close();
    allocator.close();
    files.close();
  }
}
