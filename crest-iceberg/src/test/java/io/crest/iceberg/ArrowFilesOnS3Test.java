package io.crest.iceberg;

import static io.crest.iceberg.testing.ArrowTestData.batch;
import static io.crest.iceberg.testing.ArrowTestData.field;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.sources.ArrowFileSource;
import java.io.ByteArrayOutputStream;
import java.nio.channels.Channels;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowFileWriter;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ArrowWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.inmemory.InMemoryFileIO;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@link ArrowFileSource} over an S3 prefix ({@link IcebergFileLocation} on Iceberg's S3FileIO)
 * against a real S3 API server on loopback, into a table read back through Iceberg: files of both
 * IPC formats, resume after a restart, delete and move after commit, objects checked through the
 * S3 API.
 */
class ArrowFilesOnS3Test extends SinkTestBase {
  private static final Schema SCHEMA = new Schema(List.of(
      field("id", false, new ArrowType.Int(64, true)), field("name", true, ArrowType.Utf8.INSTANCE)));

  private S3Server s3;
  private S3Client client;

  @BeforeEach
  void startS3() throws Exception {
    s3 = S3Server.start(warehouse.resolve("s3"));
    client = s3.client();
    client.createBucket(b -> b.bucket("inbox"));
  }

  @AfterEach
  void stopS3() {
    client.close();
    s3.close();
  }

  /** Puts an IPC file of two batches with ids {@code first .. first + 9} at {@code key}. */
  private void put(String key, boolean fileFormat, long first) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
        ArrowWriter writer = fileFormat
            ? new ArrowFileWriter(root, null, Channels.newChannel(bytes))
            : new ArrowStreamWriter(root, null, Channels.newChannel(bytes))) {
      writer.start();
      for (long start = first; start < first + 10; start += 5) {
        List<Long> ids = LongStream.range(start, start + 5).boxed().toList();
        try (VectorSchemaRoot b = batch(allocator, SCHEMA,
            List.of(ids, ids.stream().map(i -> "n" + i).toList()))) {
          b.getFieldVectors().forEach(v -> v.makeTransferPair(root.getVector(v.getName()))
              .transfer());
          root.setRowCount(5);
          writer.writeBatch();
        }
      }
      writer.end();
    }
    client.putObject(b -> b.bucket("inbox").key(key), RequestBody.fromBytes(bytes.toByteArray()));
  }

  private List<String> keys() {
    return client.listObjectsV2Paginator(b -> b.bucket("inbox")).contents().stream()
        .map(S3Object::key).sorted().toList();
  }

  private void run(UnaryOperator<ArrowFileSource.Builder> options) throws Exception {
    ArrowFileSource.Builder builder = ArrowFileSource.builder(
        IcebergFileLocation.open(s3.fileIoProperties(), "s3://inbox/incoming"), allocator);
    try (Pipeline p = Pipeline.from(options.apply(builder).build()).id("files")
        .batch(BatchPolicy.rows(5)).to(sink().build())) {
      p.start();
      assertThat(p.awaitIdle(WAIT)).isTrue();
    }
  }

  private List<Long> ids() throws Exception {
    List<Long> ids = new ArrayList<>();
    for (Record r : rows()) {
      ids.add((Long) r.getField("id"));
    }
    return ids;
  }

  private static List<Long> range(long to) {
    return LongStream.range(0, to).boxed().toList();
  }

  @Test
  void filesUnderAPrefix_areReadOnce_acrossRestarts_thenDeletedOrMovedAfterCommit()
      throws Exception {
    put("incoming/a.arrow", true, 0);
    put("incoming/b.arrow", false, 10);
    put("incoming/nested/x.arrow", true, 1000); // below the prefix: not read
    put("incoming/readme.txt", true, 2000);     // not matching the glob
    run(b -> b);
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(20));

    put("incoming/c.arrow", true, 20);
    run(b -> b); // a and b are skipped by their committed positions
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(30));

    put("incoming/d.arrow", false, 30);
    run(ArrowFileSource.Builder::deleteCompleted);
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(40));
    assertThat(keys()).containsExactly("incoming/nested/x.arrow", "incoming/readme.txt");

    put("incoming/e.arrow", true, 40);
    run(ArrowFileSource.Builder::moveCompleted);
    assertThat(ids()).containsExactlyInAnyOrderElementsOf(range(50));
    assertThat(keys()).containsExactly("incoming/done/e.arrow", "incoming/nested/x.arrow",
        "incoming/readme.txt");
    assertThat(table().currentSnapshot().summary().get("crest.positions"))
        .doesNotContain("a.arrow").doesNotContain("e.arrow");
  }

  @Test
  void aFileIoThatCannotList_isRejected_namingIt() {
    try (InMemoryFileIO io = new InMemoryFileIO()) {
      assertThatThrownBy(() -> IcebergFileLocation.of(io, "mem://x"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("InMemoryFileIO").hasMessageContaining("SupportsPrefixOperations");
    }
  }
}
