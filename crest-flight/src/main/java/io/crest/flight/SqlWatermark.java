package io.crest.flight;

import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import java.util.List;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * The watermark of an incremental {@link FlightSqlSource}: where a query stands ({@link Mark}),
 * how it is recorded as a {@link SourcePosition} ({@code <value>/<rows at value>}), how a value is
 * read from a result column and how it is bound to the query's parameter. Watermark values are
 * whole numbers: integer columns, timestamps (in the column's unit) and dates (days or
 * milliseconds, as the column stores them). Stateless.
 */
final class SqlWatermark {
  private SqlWatermark() {}

  /**
   * A query's progress: every row with a watermark below {@code value} was emitted, and so were
   * the first {@code rowsAtValue} rows (in the query's order) whose watermark equals it.
   * Immutable.
   */
  static final class Mark {
    final long value;
    final long rowsAtValue;

    Mark(long value, long rowsAtValue) {
      this.value = value;
      this.rowsAtValue = rowsAtValue;
    }

    SourcePosition position() {
      return SourcePosition.of(value + "/" + rowsAtValue);
    }

    @Override
    public String toString() {
      return "watermark " + value + " (" + rowsAtValue + " rows at it read)";
    }
  }

  /**
   * Reads a position written by {@link Mark#position}.
   *
   * @throws SourceException naming the stream if it is not one
   */
  static Mark parse(String stream, SourcePosition position) {
    String text = position.value();
    int slash = text.lastIndexOf('/');
    try {
      if (slash > 0) {
        long rows = Long.parseLong(text.substring(slash + 1));
        if (rows >= 0) {
          return new Mark(Long.parseLong(text.substring(0, slash)), rows);
        }
      }
    } catch (NumberFormatException e) {
      // fall through
    }
    throw new SourceException("Cannot resume Flight SQL query " + stream + " at position '"
        + text + "': it is not a watermark position <value>/<rows> (was it recorded by a query"
        + " without a watermark? read it under a new pipeline id)", stream, null, null);
  }

  /**
   * The column {@code column} of {@code root}.
   *
   * @throws SourceException if the result has no such column or it is not a whole-number type
   */
  static FieldVector column(String stream, VectorSchemaRoot root, String column) {
    FieldVector vector = root.getVector(column);
    if (vector == null) {
      throw new SourceException("Cannot read Flight SQL query " + stream + ": its result has no"
          + " watermark column " + column + " (columns: " + names(root.getSchema()) + ")",
          stream, null, null);
    }
    if (!(vector instanceof BaseIntVector || vector instanceof TimeStampVector
        || vector instanceof DateDayVector || vector instanceof DateMilliVector)) {
      throw new SourceException("Cannot read Flight SQL query " + stream + ": watermark column "
          + column + " has type " + vector.getField().getType() + " (use an integer, timestamp"
          + " or date column)", stream, null, null);
    }
    return vector;
  }

  /**
   * The watermark value of row {@code row}.
   *
   * @throws SourceException if the value is null
   */
  static long value(String stream, FieldVector vector, int row) {
    if (vector.isNull(row)) {
      throw new SourceException("Cannot read Flight SQL query " + stream + ": watermark column "
          + vector.getName() + " is null in a row (filter nulls out in the query, for example"
          + " WHERE " + vector.getName() + " IS NOT NULL)", stream, null, null);
    }
    if (vector instanceof BaseIntVector) {
      return ((BaseIntVector) vector).getValueAsLong(row);
    }
    if (vector instanceof TimeStampVector) {
      return ((TimeStampVector) vector).get(row);
    }
    if (vector instanceof DateDayVector) {
      return ((DateDayVector) vector).get(row);
    }
    return ((DateMilliVector) vector).get(row);
  }

  /**
   * A one-row root binding {@code value} to the statement's single parameter, typed as the
   * statement's parameter schema says, or as the result's watermark column when the server
   * reports no parameter schema. The caller owns the root.
   *
   * @throws SourceException if the parameter is not a single whole-number parameter
   */
  static VectorSchemaRoot parameters(String stream, Schema parameterSchema, Schema resultSchema,
      String column, long value, BufferAllocator allocator) {
    Field field;
    if (parameterSchema != null && !parameterSchema.getFields().isEmpty()) {
      if (parameterSchema.getFields().size() != 1) {
        throw new SourceException("Cannot bind the watermark of Flight SQL query " + stream
            + ": the statement has " + parameterSchema.getFields().size() + " parameters"
            + " (write the query with exactly one ?, the lower bound of " + column + ")",
            stream, null, null);
      }
      field = parameterSchema.getFields().get(0);
    } else {
      field = resultSchema == null ? null : findField(resultSchema, column);
      if (field == null) {
        throw new SourceException("Cannot bind the watermark of Flight SQL query " + stream
            + ": the server reported neither a parameter schema nor a result column " + column,
            stream, null, null);
      }
    }
    FieldVector vector = field.createVector(allocator);
    VectorSchemaRoot root = new VectorSchemaRoot(List.of(vector));
    try {
      vector.allocateNew();
      set(stream, vector, value);
      root.setRowCount(1);
      return root;
    } catch (RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static void set(String stream, FieldVector vector, long value) {
    if (vector instanceof BaseIntVector) {
      ((BaseIntVector) vector).setWithPossibleTruncate(0, value);
      if (((BaseIntVector) vector).getValueAsLong(0) != value) {
        throw new SourceException("Cannot bind watermark " + value + " to the parameter of Flight"
            + " SQL query " + stream + ": it does not fit its type " + vector.getField().getType(),
            stream, null, null);
      }
    } else if (vector instanceof TimeStampVector) {
      ((TimeStampVector) vector).setSafe(0, value);
    } else if (vector instanceof DateDayVector) {
      ((DateDayVector) vector).setSafe(0, Math.toIntExact(value));
    } else if (vector instanceof DateMilliVector) {
      ((DateMilliVector) vector).setSafe(0, value);
    } else {
      throw new SourceException("Cannot bind the watermark of Flight SQL query " + stream
          + ": its parameter has type " + vector.getField().getType() + " (use an integer,"
          + " timestamp or date parameter)", stream, null, null);
    }
  }

  private static Field findField(Schema schema, String name) {
    for (Field field : schema.getFields()) {
      if (field.getName().equals(name)) {
        return field;
      }
    }
    return null;
  }

  private static String names(Schema schema) {
    return schema.getFields().stream().map(Field::getName).toList().toString();
  }
}
