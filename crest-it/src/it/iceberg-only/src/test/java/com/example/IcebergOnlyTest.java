package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.crest.Pipeline;
import io.crest.iceberg.IcebergSink;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** crest-iceberg alone: the allocator comes from crest-api, Netty is aligned by crest-bom. */
class IcebergOnlyTest {
  @Test
  void rootAllocator_andSink_workWithCrestIcebergAlone(@TempDir Path warehouse) throws Exception {
    Schema schema = new Schema(List.of(Field.notNullable("id", new ArrowType.Int(64, true))));
    try (BufferAllocator root = new RootAllocator()) {
      VectorSchemaRoot batch = VectorSchemaRoot.create(schema, root);
      BigIntVector id = (BigIntVector) batch.getVector("id");
      batch.allocateNew();
      for (int i = 0; i < 1_000; i++) {
        id.setSafe(i, i);
      }
      batch.setRowCount(1_000);
      try (Pipeline pipeline =
          Pipeline.from(new OneBatchSource(batch))
              .id("iceberg-only-it")
              .to(IcebergSink.builder().localWarehouse(warehouse).table("ns.t").build())) {
        pipeline.start();
        assertTrue(pipeline.awaitIdle(Duration.ofMinutes(1)), "pipeline idle within a minute");
        assertEquals(1_000, pipeline.stats().rowsCommitted());
      }
    }
  }

  /** Emits one batch (handing over its ownership) on a thread of its own, then completes. */
  private static final class OneBatchSource implements Source {
    private final VectorSchemaRoot batch;
    private Thread thread;
    private volatile boolean emitted;

    OneBatchSource(VectorSchemaRoot batch) {
      this.batch = batch;
    }

    @Override
    public String name() {
      return "one-batch";
    }

    @Override
    public void start(SourceContext context) {
      thread =
          new Thread(
              () -> {
                try {
                  emitted = true;
                  if (context.emit(SourceBatch.of("s", batch, SourcePosition.ofOffset(1_000)))) {
                    context.complete();
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "one-batch-source");
      thread.start();
    }

    @Override
    public void close() {
      if (thread != null) {
        try {
          thread.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      if (!emitted) {
        batch.close();
      }
    }
  }
}
