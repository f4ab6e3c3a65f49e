package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.flight.FlightIngestServer;
import io.crest.testing.TestBatches;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.LongStream;
import org.apache.arrow.flight.AsyncPutListener;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Producers push batches into an Iceberg table through {@link FlightIngestServer}: each put's
 * schema is checked against the table with the table's evolution policy before any of its rows is
 * accepted, so one bad producer is turned away while the others go on.
 */
class PushIngestToIcebergTest {
  private static final Schema WITH_EXTRA = new Schema(List.of(
      new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null),
      new Field("extra", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  @TempDir Path warehouse;

  /** Puts batches {@code from..to} (10 rows each, ids from {@code base}); returns the acks. */
  private static List<String> put(FlightClient client, BufferAllocator allocator, String producer,
      Schema schema, long base, long from, long to) {
    List<String> acks = new CopyOnWriteArrayList<>();
    try (VectorSchemaRoot root = VectorSchemaRoot.create(schema, allocator)) {
      AsyncPutListener listener = new AsyncPutListener() {
        @Override
        public void onNext(PutResult result) {
          ArrowBuf m = result.getApplicationMetadata();
          byte[] bytes = new byte[(int) m.readableBytes()];
          m.getBytes(m.readerIndex(), bytes);
          acks.add(new String(bytes, StandardCharsets.UTF_8));
        }
      };
      FlightClient.ClientStreamListener stream =
          client.startPut(FlightDescriptor.path("db.events", producer), root, listener);
      for (long seq = from; seq <= to; seq++) {
        root.allocateNew();
        for (int r = 0; r < 10; r++) {
          long id = base + (seq - 1) * 10 + r;
          ((BigIntVector) root.getVector("id")).setSafe(r, id);
          for (int c = 1; c < schema.getFields().size(); c++) {
            ((VarCharVector) root.getVector(c)).setSafe(r, ("v" + id).getBytes(StandardCharsets.UTF_8));
          }
        }
        root.setRowCount(10);
        byte[] text = Long.toString(seq).getBytes(StandardCharsets.UTF_8);
        ArrowBuf metadata = allocator.buffer(text.length);
        metadata.writeBytes(text);
        stream.putNext(metadata);
      }
      stream.completed();
      listener.getResult();
    }
    return acks;
  }

  @Test
  void putWithASchemaThePolicyRefuses_isRejectedAsInvalidArgument_andTheOthersGoOn()
      throws Exception {
    List<Long> ids = new ArrayList<>();
    try (BufferAllocator allocator = new RootAllocator();
        FlightIngestServer server =
            FlightIngestServer.builder(allocator, "grpc://127.0.0.1:0").table("db.events").build();
        FlightClient client = FlightClient.builder(allocator,
            Location.forGrpcInsecure("127.0.0.1", server.port())).build()) {
      IcebergSink sink = IcebergSink.builder().localWarehouse(warehouse).table("db.events").build();
      try (Pipeline p = Pipeline.from(server.source("db.events")).id("push")
          .batch(BatchPolicy.rows(20).orEvery(Duration.ofMillis(100))).to(sink)) {
        p.start();
        assertThat(put(client, allocator, "good", TestBatches.SCHEMA, 0, 1, 3))
            .containsExactly("1", "2", "3");

        assertThatThrownBy(() -> put(client, allocator, "bad", WITH_EXTRA, 1_000, 1, 2))
            .isInstanceOfSatisfying(FlightRuntimeException.class, e ->
                assertThat(e.status().code()).isEqualTo(CallStatus.INVALID_ARGUMENT.code()))
            .hasMessageContaining("db.events")
            .hasMessageContaining("schema evolution policy strict")
            .hasMessageContaining("ADD_COLUMN 'extra'");

        assertThat(put(client, allocator, "good", TestBatches.SCHEMA, 0, 4, 5))
            .containsExactly("4", "5");
        assertThat(p.state()).isEqualTo(Pipeline.State.RUNNING);
      }
    }
    try (OpenCatalog c = new OpenCatalog(IcebergCatalogs.open(
            IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse)));
        CloseableIterable<Record> rows =
            IcebergGenerics.read(c.loadTable(TableIdentifier.of("db", "events"))).build()) {
      rows.forEach(r -> ids.add((Long) r.getField("id")));
    }
    assertThat(ids).containsExactlyInAnyOrderElementsOf(LongStream.range(0, 50).boxed().toList());
  }
}
