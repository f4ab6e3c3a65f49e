package io.crest.writer;

import io.crest.spi.FileOutputFactory;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry points to Crest's {@link io.crest.spi.FileWriter}s: a columnar Parquet writer and an
 * Arrow IPC file writer. Stateless.
 *
 * <p>The writer's schema is an Arrow schema: nullable fields become optional columns, and a field
 * whose metadata holds {@link #FIELD_ID_KEY} gets that Parquet field id (table formats such as
 * Iceberg read columns by id). Batches written later are matched to it by name and may use any
 * Arrow type that converts without loss (a narrower integer, a coarser timestamp unit, a
 * {@code LargeUtf8} for a {@code Utf8} column, ...).
 */
public final class FileWriters {
  /** The Arrow field metadata key that carries a Parquet field id. */
  public static final String FIELD_ID_KEY = "PARQUET:field_id";

  private FileWriters() {}

  /** Starts configuring a Parquet writer of {@code schema}; its files come from {@code outputs}. */
  public static ParquetWriterBuilder parquet(Schema schema, FileOutputFactory outputs) {
    return new ParquetWriterBuilder(schema, outputs);
  }

  /**
   * Starts configuring an Arrow IPC file writer of {@code schema} whose files come from {@code
   * outputs}; its buffers come from a child of {@code allocator}.
   */
  public static ArrowIpcWriterBuilder arrowIpc(
      Schema schema, FileOutputFactory outputs, BufferAllocator allocator) {
    return new ArrowIpcWriterBuilder(schema, outputs, allocator);
  }

  /** Returns {@code field} with field id {@code id} in its metadata (other metadata kept). */
  public static Field withFieldId(Field field, int id) {
    Map<String, String> meta = new HashMap<>();
    if (field.getMetadata() != null) {
      meta.putAll(field.getMetadata());
    }
    meta.put(FIELD_ID_KEY, Integer.toString(id));
    FieldType t = field.getFieldType();
    return new Field(field.getName(),
        new FieldType(t.isNullable(), t.getType(), t.getDictionary(), meta),
        List.copyOf(field.getChildren()));
  }
}
