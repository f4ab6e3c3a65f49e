package io.crest.testing;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/** Small Arrow batches for tests: {@code id BIGINT NOT NULL, name VARCHAR}. */
public final class TestBatches {
  /** The schema of every batch made here. */
  public static final Schema SCHEMA =
      new Schema(
          List.of(
              new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
              new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));

  private TestBatches() {}

  /** A root with ids {@code firstId .. firstId+count-1} and names {@code name-<id>}. */
  public static VectorSchemaRoot root(BufferAllocator allocator, long firstId, int count) {
    VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator);
    BigIntVector ids = (BigIntVector) root.getVector("id");
    VarCharVector names = (VarCharVector) root.getVector("name");
    ids.allocateNew(count);
    names.allocateNew(count);
    for (int i = 0; i < count; i++) {
      ids.set(i, firstId + i);
      names.setSafe(i, ("name-" + (firstId + i)).getBytes(StandardCharsets.UTF_8));
    }
    root.setRowCount(count);
    return root;
  }

  /** A batch of {@code stream} covering stream rows {@code [offset, offset+count)}. */
  public static SourceBatch batch(
      BufferAllocator allocator, String stream, long firstId, long offset, int count) {
    return SourceBatch.of(
        stream, root(allocator, firstId, count), SourcePosition.ofOffset(offset + count));
  }

  /** The ids in a batch, in row order. */
  public static List<Long> ids(VectorSchemaRoot root) {
    BigIntVector ids = (BigIntVector) root.getVector("id");
    List<Long> out = new ArrayList<>(root.getRowCount());
    for (int i = 0; i < root.getRowCount(); i++) {
      out.add(ids.get(i));
    }
    return out;
  }
}
