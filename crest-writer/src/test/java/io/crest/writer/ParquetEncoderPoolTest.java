package io.crest.writer;

import static io.crest.writer.Batches.field;
import static io.crest.writer.Batches.id;
import static io.crest.writer.Batches.list;
import static io.crest.writer.Batches.listValue;
import static io.crest.writer.Batches.struct;
import static io.crest.writer.Batches.structValue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.DataSize;
import io.crest.errors.ValidationException;
import io.crest.spi.FileWriter;
import io.crest.spi.WrittenFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Encoders handed from one writer to the next through a {@link ParquetEncoderPool} must carry
 * nothing of the previous writer's files: a writer with reused encoders writes exactly the bytes
 * and reports exactly the file metadata a writer with fresh ones does, whatever the previous
 * writer wrote (dictionaries or plain, nulls, several row groups and files, each codec).
 */
class ParquetEncoderPoolTest extends WriterTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      id(1, field("id", false, new ArrowType.Int(64, true))),
      id(2, field("score", true, new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE))),
      id(3, field("name", true, ArrowType.Utf8.INSTANCE)),
      id(4, list("tags", true, id(5, field("element", true, ArrowType.Utf8.INSTANCE)))),
      id(6, struct("point", true,
          id(7, field("x", false, new ArrowType.Int(32, true))),
          id(8, field("label", true, ArrowType.Utf8.INSTANCE))))));

  /** One batch of {@code rows} rows; {@code shape} picks cardinality and nulls. */
  private static List<List<Object>> columns(Random r, int rows, int shape) {
    List<Object> ids = new ArrayList<>();
    List<Object> scores = new ArrayList<>();
    List<Object> names = new ArrayList<>();
    List<Object> tags = new ArrayList<>();
    List<Object> points = new ArrayList<>();
    boolean nulls = shape % 2 == 1;
    boolean fewDistinct = shape % 3 == 0;
    for (int i = 0; i < rows; i++) {
      ids.add(fewDistinct ? (long) r.nextInt(10) : r.nextLong());
      scores.add(nulls && r.nextInt(5) == 0 ? null
          : fewDistinct ? (double) r.nextInt(4) : r.nextGaussian());
      names.add(nulls && r.nextInt(7) == 0 ? null
          : fewDistinct ? "n" + r.nextInt(8) : Long.toHexString(r.nextLong()));
      List<Object> t = new ArrayList<>();
      for (int k = r.nextInt(4); k > 0; k--) {
        t.add(nulls && r.nextInt(6) == 0 ? null : "t" + r.nextInt(fewDistinct ? 3 : 100_000));
      }
      tags.add(nulls && r.nextInt(9) == 0 ? null : listValue(t.toArray()));
      points.add(nulls && r.nextInt(8) == 0 ? null
          : structValue("x", r.nextInt(fewDistinct ? 5 : Integer.MAX_VALUE),
              "label", nulls && r.nextBoolean() ? null : "l" + r.nextInt(50)));
    }
    return List.of(ids, scores, names, tags, points);
  }

  /** Small pages, row groups and files, so that one round writes several of each. */
  private static ParquetWriterBuilder small(ParquetWriterBuilder b) {
    return small(b, 700);
  }

  private static ParquetWriterBuilder small(ParquetWriterBuilder b, int pageRows) {
    return small(b, pageRows, ParquetCodec.SNAPPY);
  }

  private static ParquetWriterBuilder small(ParquetWriterBuilder b, int pageRows,
      ParquetCodec codec) {
    return b.target("db.t").pageSize(DataSize.kib(8)).pageRowLimit(pageRows)
        .rowGroupSize(DataSize.kib(32)).targetFileSize(DataSize.kib(96))
        .dictionarySize(DataSize.kib(16)).codec(codec);
  }

  private List<byte[]> write(TestFiles out, ParquetEncoderPool pool, long seed, int shape,
      UnaryOperator<ParquetWriterBuilder> config) throws Exception {
    List<byte[]> bytes = new ArrayList<>();
    for (WrittenFile f : writeFiles(out, pool, seed, shape, config)) {
      bytes.add(Files.readAllBytes(Path.of(f.location())));
    }
    return bytes;
  }

  private List<WrittenFile> writeFiles(TestFiles out, ParquetEncoderPool pool, long seed,
      int shape, UnaryOperator<ParquetWriterBuilder> config) {
    Random r = new Random(seed);
    ParquetWriterBuilder b = config.apply(FileWriters.parquet(SCHEMA, out));
    if (pool != null) {
      b.encoderPool(pool);
    }
    try (FileWriter w = b.build()) {
      for (int batch = 0; batch < 6; batch++) {
        try (VectorSchemaRoot root = Batches.batch(allocator, SCHEMA,
            columns(r, 300 + r.nextInt(3000), shape + batch / 3))) {
          w.write(root);
        }
      }
      return w.finish();
    }
  }

  /** Everything a file's metadata says but where it is. */
  private static String describe(WrittenFile f) {
    StringBuilder sb = new StringBuilder(f.rowCount() + " rows, " + f.sizeInBytes() + " bytes, "
        + f.splitOffsets());
    for (io.crest.spi.ColumnStats c : f.columns()) {
      sb.append('\n').append(c).append(' ')
          .append(c.lowerBound().map(ParquetEncoderPoolTest::hex).orElse("-")).append(' ')
          .append(c.upperBound().map(ParquetEncoderPoolTest::hex).orElse("-"));
    }
    return sb.toString();
  }

  private static String hex(java.nio.ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return java.util.HexFormat.of().formatHex(a);
  }

  @ParameterizedTest
  @EnumSource(ParquetCodec.class)
  void reusedEncodersWriteTheBytesFreshOnesWrite(ParquetCodec codec) throws Exception {
    UnaryOperator<ParquetWriterBuilder> config = b -> small(b, 700, codec);
    try (ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64))) {
      for (int round = 0; round < 6; round++) {
        TestFiles pooled = new TestFiles(Files.createDirectories(dir.resolve("pooled" + round)));
        TestFiles fresh = new TestFiles(Files.createDirectories(dir.resolve("fresh" + round)));
        List<WrittenFile> a = writeFiles(pooled, pool, round, round, config);
        List<WrittenFile> b = writeFiles(fresh, null, round, round, config);
        assertThat(a).as("round %d", round).hasSizeGreaterThan(1).hasSameSizeAs(b);
        for (int i = 0; i < a.size(); i++) {
          assertThat(describe(a.get(i))).as("round %d, file %d", round, i)
              .isEqualTo(describe(b.get(i)));
          byte[] x = Files.readAllBytes(Path.of(a.get(i).location()));
          byte[] y = Files.readAllBytes(Path.of(b.get(i).location()));
          assertThat(java.util.Arrays.mismatch(x, y))
              .as("first differing byte of round %d, file %d (-1: none)", round, i)
              .isEqualTo(-1);
        }
        // and the pooled files hold the rows
        assertThat(TestFiles.readRows(pooled.created().get(0))).isNotEmpty();
      }
      assertThat(pool.builtCount()).isEqualTo(1);
      assertThat(pool.reusedCount()).isEqualTo(5);
      assertThat(pool.idleBytes()).isPositive();
    }
  }

  @Test
  void encodersOfOtherSettingsOrSchemasAreNotTaken() throws Exception {
    try (ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64))) {
      TestFiles out = new TestFiles(dir);
      write(out, pool, 1, 1, ParquetEncoderPoolTest::small);
      assertThat(write(out, pool, 2, 2, b -> small(b, 500))).isNotEmpty();
      Schema other = new Schema(SCHEMA.getFields().subList(0, 4));
      try (FileWriter w = small(FileWriters.parquet(other, out)).encoderPool(pool).build()) {
        assertThat(w.finish()).isEmpty();
      }
      assertThat(pool.reusedCount()).isZero();
      assertThat(pool.builtCount()).isEqualTo(3);
    }
  }

  @Test
  void aWriterThatFailedHalfWayGivesItsEncodersToNobody() {
    Schema target = new Schema(List.of(
        list("l", true, field("element", false, new ArrowType.Int(32, true)))));
    Schema input = new Schema(List.of(
        list("l", true, field("element", true, new ArrowType.Int(32, true)))));
    try (ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64))) {
      try (FileWriter w = FileWriters.parquet(target, files).target("db.t").encoderPool(pool)
          .build();
          VectorSchemaRoot batch = Batches.batch(allocator, input, Batches.columns(
              new Object[] {listValue(1, 2)}, new Object[] {listValue(3, null)}))) {
        assertThatThrownBy(() -> w.write(batch)).isInstanceOf(ValidationException.class);
      }
      assertThat(pool.idleBytes()).isZero();
      // nor one that was closed with a file open
      try (FileWriter w = FileWriters.parquet(target, files).encoderPool(pool).build();
          VectorSchemaRoot batch = Batches.batch(allocator, target, Batches.columns(
              new Object[] {listValue(1, 2)}))) {
        w.write(batch);
      }
      assertThat(pool.idleBytes()).isZero();
      assertThat(pool.builtCount()).isEqualTo(2);
    }
  }

  @Test
  void theBudgetBoundsWhatWaitsIdle() throws Exception {
    try (ParquetEncoderPool none = ParquetEncoderPool.create(DataSize.bytes(0))) {
      write(new TestFiles(dir), none, 1, 1, ParquetEncoderPoolTest::small);
      assertThat(none.idleBytes()).isZero();
    }
    ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64));
    write(new TestFiles(Files.createDirectories(dir.resolve("a"))), pool, 1, 1,
        ParquetEncoderPoolTest::small);
    assertThat(pool.idleBytes()).isPositive();
    pool.close();
    assertThat(pool.idleBytes()).isZero();
    // a writer closing after its pool gives back to nobody
    write(new TestFiles(Files.createDirectories(dir.resolve("b"))), pool, 1, 1,
        ParquetEncoderPoolTest::small);
    assertThat(pool.idleBytes()).isZero();
  }

  @Test
  void parallelWritersShareThePool() throws Exception {
    try (ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.mib(64))) {
      for (int round = 0; round < 3; round++) {
        write(new TestFiles(Files.createDirectories(dir.resolve("p" + round))), pool, round, 1,
            b -> small(b).encoderThreads(2));
      }
      assertThat(pool.builtCount()).isEqualTo(2);
      assertThat(pool.reusedCount()).isEqualTo(4);
    }
  }

  @Test
  void overTheBudgetTheLongestIdleGoFirst() throws Exception {
    Schema narrow = new Schema(SCHEMA.getFields().subList(0, 3));
    long wide;
    try (ParquetEncoderPool probe = ParquetEncoderPool.create(DataSize.mib(64))) {
      write(new TestFiles(Files.createDirectories(dir.resolve("probe"))), probe, 1, 1,
          ParquetEncoderPoolTest::small);
      wide = probe.idleBytes();
    }
    // room for the wide schema's encoders, not for them and the narrow one's together
    try (ParquetEncoderPool pool = ParquetEncoderPool.create(DataSize.bytes(wide + 1))) {
      write(new TestFiles(Files.createDirectories(dir.resolve("wide"))), pool, 1, 1,
          ParquetEncoderPoolTest::small);
      assertThat(pool.idleBytes()).isEqualTo(wide);
      // the schema changes: the wide encoders, idle longest, make room for the narrow ones
      try (FileWriter w = small(FileWriters.parquet(narrow, new TestFiles(dir)))
          .encoderPool(pool).build()) {
        try (VectorSchemaRoot root = Batches.batch(allocator, narrow,
            columns(new Random(1), 500, 1).subList(0, 3))) {
          w.write(root);
        }
        assertThat(w.finish()).hasSize(1);
      }
      assertThat(pool.idleBytes()).isPositive().isLessThan(wide);
      try (FileWriter w = small(FileWriters.parquet(narrow, new TestFiles(dir)))
          .encoderPool(pool).build()) {
        assertThat(w.finish()).isEmpty();
      }
      assertThat(pool.reusedCount()).isEqualTo(1);
      assertThat(pool.builtCount()).isEqualTo(2);
    }
  }
}
