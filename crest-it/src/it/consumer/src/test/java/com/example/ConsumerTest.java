package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.crest.BatchPolicy;
import io.crest.Pipeline;
import io.crest.PipelineStats;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import java.io.Closeable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.NoOpFlightProducer;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.TableIdentifier;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.io.CloseableIterable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user's project does with only crest-bom, crest-iceberg and crest-flight: serve batches
 * from an in-process Flight server, ingest them into a local warehouse, read them back with Iceberg.
 */
class ConsumerTest {
  private static final String TICKET = "rows";
  private static final int BATCHES = 3;
  private static final int ROWS_PER_BATCH = 100;
  private static final Schema SCHEMA =
      new Schema(
          List.of(
              Field.notNullable("id", new ArrowType.Int(64, true)),
              Field.nullable("name", ArrowType.Utf8.INSTANCE)));

  @Test
  void flightBatches_reachTheIcebergTable(@TempDir Path warehouse) throws Exception {
    PipelineStats stats;
    try (BufferAllocator root = new RootAllocator();
        FlightServer server =
            FlightServer.builder(
                    root, Location.forGrpcInsecure("127.0.0.1", 0), new RowsProducer(root))
                .build()
                .start()) {
      String uri = "grpc://127.0.0.1:" + server.getPort();
      try (Pipeline pipeline =
          Pipeline.from(FlightSource.builder(root).endpoint(uri, TICKET).build())
              .id("consumer-it")
              .batch(BatchPolicy.rows(ROWS_PER_BATCH * 2L))
              .to(IcebergSink.builder().localWarehouse(warehouse).table("ns.t").build())) {
        pipeline.start();
        assertTrue(pipeline.awaitIdle(Duration.ofMinutes(1)), "pipeline idle within a minute");
        stats = pipeline.stats();
      }
    }
    assertEquals(BATCHES * ROWS_PER_BATCH, stats.rowsCommitted());

    Map<Long, String> rows = new TreeMap<>();
    Catalog catalog =
        IcebergCatalogs.open(IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(warehouse));
    try {
      Table table = catalog.loadTable(TableIdentifier.of("ns", "t"));
      try (CloseableIterable<Record> records = IcebergGenerics.read(table).build()) {
        for (Record r : records) {
          rows.put((Long) r.getField("id"), (String) r.getField("name"));
        }
      }
    } finally {
      if (catalog instanceof Closeable closeable) {
        closeable.close();
      }
    }
    assertEquals(BATCHES * ROWS_PER_BATCH, rows.size());
    for (long id = 0; id < BATCHES * ROWS_PER_BATCH; id++) {
      assertEquals(name(id), rows.get(id), "name of row " + id);
    }
  }

  private static String name(long id) {
    return id % 7 == 0 ? null : "row-" + id;
  }

  /** Serves {@code BATCHES} batches of {@code ROWS_PER_BATCH} rows for the ticket, then completes. */
  private static final class RowsProducer extends NoOpFlightProducer {
    private final BufferAllocator allocator;

    RowsProducer(BufferAllocator allocator) {
      this.allocator = allocator;
    }

    @Override
    public void getStream(CallContext context, Ticket ticket, ServerStreamListener listener) {
      if (!TICKET.equals(new String(ticket.getBytes(), StandardCharsets.UTF_8))) {
        listener.error(CallStatus.NOT_FOUND.withDescription("no such ticket").toRuntimeException());
        return;
      }
      try (VectorSchemaRoot batch = VectorSchemaRoot.create(SCHEMA, allocator)) {
        BigIntVector id = (BigIntVector) batch.getVector("id");
        VarCharVector name = (VarCharVector) batch.getVector("name");
        listener.start(batch);
        for (int b = 0; b < BATCHES; b++) {
          batch.allocateNew();
          for (int i = 0; i < ROWS_PER_BATCH; i++) {
            long row = (long) b * ROWS_PER_BATCH + i;
            id.setSafe(i, row);
            String n = name(row);
            if (n == null) {
              name.setNull(i);
            } else {
              name.setSafe(i, n.getBytes(StandardCharsets.UTF_8));
            }
          }
          batch.setRowCount(ROWS_PER_BATCH);
          listener.putNext();
        }
        listener.completed();
      }
    }
  }
}
