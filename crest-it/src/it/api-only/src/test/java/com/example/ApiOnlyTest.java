package com.example;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.junit.jupiter.api.Test;

/**
 * crest-api alone: Arrow finds an allocation manager (else "Unable to instantiate Allocation
 * Manager") and its Netty jars agree (else NoSuchMethodError PlatformDependent.allocateDirect).
 */
class ApiOnlyTest {
  @Test
  void rootAllocator_allocates_withCrestApiAlone() {
    Schema schema = new Schema(List.of(Field.notNullable("id", new ArrowType.Int(64, true))));
    try (BufferAllocator root = new RootAllocator();
        VectorSchemaRoot batch = VectorSchemaRoot.create(schema, root);
        ArrowBuf large = root.buffer(32L << 20)) {
      BigIntVector id = (BigIntVector) batch.getVector("id");
      batch.allocateNew();
      for (int i = 0; i < 100_000; i++) {
        id.setSafe(i, i);
      }
      batch.setRowCount(100_000);
      large.setLong(0, 42L);
      assertEquals(99_999L, id.get(99_999));
      assertEquals(42L, large.getLong(0));
    }
  }
}
