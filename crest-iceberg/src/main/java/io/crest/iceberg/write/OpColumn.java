package io.crest.iceberg.write;

import io.crest.errors.ValidationException;
import java.util.List;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The op column of a change-data-capture upsert ({@code CommitStrategy.upsertWithOps}): where it
 * is in a batch, and which rows it marks as deletes. Stateless and thread-safe.
 */
final class OpColumn {
  private OpColumn() {}

  /**
   * The ordinal of column {@code name} in {@code schema}.
   *
   * @throws ValidationException naming the table, strategy and column if the batch has no such
   *     column or has it as another type than Utf8
   */
  static int ordinal(Schema schema, String name, String table, String strategy) {
    List<Field> fields = schema.getFields();
    int ordinal = -1;
    for (int i = 0; i < fields.size(); i++) {
      if (fields.get(i).getName().equals(name)) {
        ordinal = i;
      }
    }
    if (ordinal < 0 || !(fields.get(ordinal).getType() instanceof ArrowType.Utf8)) {
      throw new ValidationException(
          "Cannot write batch to table " + table + ": strategy " + strategy + " needs op column '"
              + name + "' as an Arrow Utf8 (string) column, but the batch "
              + (ordinal < 0 ? "has no such column" : "has it as " + fields.get(ordinal).getType()));
    }
    return ordinal;
  }

  /**
   * Whether the op of {@code row} is {@code delete}, {@code d} or {@code -d}, ignoring ASCII case
   * and surrounding control characters and spaces (as {@code String.trim}), read from the bytes.
   * A null op is not a delete.
   */
  static boolean isDelete(VarCharVector ops, int row) {
    if (ops.isNull(row)) {
      return false;
    }
    ArrowBuf data = ops.getDataBuffer();
    long start = ops.getStartOffset(row);
    long end = ops.getEndOffset(row);
    while (start < end && (data.getByte(start) & 0xFF) <= ' ') {
      start++;
    }
    while (end > start && (data.getByte(end - 1) & 0xFF) <= ' ') {
      end--;
    }
    return is(data, start, end, "delete") || is(data, start, end, "d") || is(data, start, end, "-d");
  }

  private static boolean is(ArrowBuf data, long start, long end, String lower) {
    if (end - start != lower.length()) {
      return false;
    }
    for (int i = 0; i < lower.length(); i++) {
      int b = data.getByte(start + i);
      if ((b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b) != lower.charAt(i)) {
        return false;
      }
    }
    return true;
  }
}
