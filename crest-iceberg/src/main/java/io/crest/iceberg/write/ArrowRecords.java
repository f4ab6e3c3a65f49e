package io.crest.iceberg.write;

import io.crest.iceberg.schema.ArrowSchemas;
import static java.util.Objects.requireNonNull;

import io.crest.errors.ValidationException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float2Vector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeMicroVector;
import org.apache.arrow.vector.TimeMilliVector;
import org.apache.arrow.vector.TimeNanoVector;
import org.apache.arrow.vector.TimeSecVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.TinyIntVector;
import org.apache.arrow.vector.UInt1Vector;
import org.apache.arrow.vector.UInt2Vector;
import org.apache.arrow.vector.UInt4Vector;
import org.apache.arrow.vector.UuidVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ViewVarBinaryVector;
import org.apache.arrow.vector.ViewVarCharVector;
import org.apache.arrow.vector.complex.AbstractStructVector;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.ArrowType.ArrowTypeID;
import org.apache.arrow.vector.types.pojo.ArrowType.ExtensionType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.Schema;
import org.apache.iceberg.data.GenericRecord;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * Converts the rows of Arrow batches into Iceberg generic {@link Record}s of a table's schema.
 *
 * <p>Arrow fields are matched to Iceberg columns by name, at every nesting level, so the Arrow
 * field order may differ from the table's. A {@link Converter} is built once per pair of (Arrow
 * schema, Iceberg schema) and checks the pair as a whole when it is built: every Arrow column must
 * exist in the table, every required column must be present, and every Arrow type must be the one
 * {@link ArrowSchemas} maps to the column's type or one Iceberg can promote to it ({@code int} to
 * {@code long}, {@code float} to {@code double}, a decimal to a wider one of the same scale, and a
 * plain {@code FixedSizeBinary(16)} to {@code uuid}). Values are checked while rows are read: a
 * null in a required field, or a value the column cannot hold.
 *
 * <p>The Java values are those Iceberg's generic writers expect: {@code Boolean}, {@code Integer},
 * {@code Long}, {@code Float}, {@code Double}, {@code String}, {@code ByteBuffer} (binary), {@code
 * byte[]} (fixed), {@code UUID}, {@code BigDecimal} with the column's scale, {@code LocalDate},
 * {@code LocalTime}, {@code LocalDateTime} (timestamp), {@code OffsetDateTime} in UTC
 * (timestamptz), {@code List}, {@code Map} and nested {@code Record}s. Arrow timestamps are read in
 * their own unit as UTC epoch values; their time zone is only metadata. Nanosecond times are
 * truncated to microseconds, the precision of Iceberg's {@code time}.
 *
 * <p>Use:
 *
 * <ol>
 *   <li>{@link #converter} once per schema pair (cache it; it is immutable and thread-safe);
 *   <li>{@link Converter#validate} once per batch;
 *   <li>{@link Converter#row} or {@link Converter#fill} for each row index of the batch.
 * </ol>
 */
public final class ArrowRecords {
  private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
  private static final long NANOS_PER_DAY = 86_400_000_000_000L;
  private static final long MILLIS_PER_DAY = 86_400_000L;

  private ArrowRecords() {}

  /**
   * Builds a converter from batches of an Arrow schema to records of a table's schema.
   *
   * @param table the table's current schema; records are built for it
   * @param arrow the schema of the batches to convert
   * @param tableName the table's name, for error messages
   * @throws NullPointerException if an argument is null
   * @throws ValidationException if the batches cannot be written to the table: an Arrow column is
   *     not in the table, a required column is missing, two Arrow fields of one struct share a
   *     name, a field is dictionary-encoded, or an Arrow type does not fit its column
   */
  public static Converter converter(
      Schema table, org.apache.arrow.vector.types.pojo.Schema arrow, String tableName) {
    return converter(table, arrow, tableName, java.util.Set.of());
  }

  /**
   * Like {@link #converter(Schema, org.apache.arrow.vector.types.pojo.Schema, String)}, skipping the
   * top-level Arrow columns named in {@code ignored} (such as a change-data-capture op column that
   * is read separately and not written).
   */
  public static Converter converter(
      Schema table,
      org.apache.arrow.vector.types.pojo.Schema arrow,
      String tableName,
      java.util.Set<String> ignored) {
    requireNonNull(table, "table");
    requireNonNull(arrow, "arrow");
    requireNonNull(tableName, "tableName");
    requireNonNull(ignored, "ignored");
    return new Converter(table, arrow, tableName, ignored);
  }

  /**
   * Reads rows of batches of one Arrow schema as records of one Iceberg schema. Immutable and
   * thread-safe; build it once per schema pair and reuse it for every batch of that schema.
   */
  public static final class Converter {
    private final Schema icebergSchema;
    private final org.apache.arrow.vector.types.pojo.Schema arrowSchema;
    private final String tableName;
    private final StructPlan plan;

    private Converter(
        Schema icebergSchema,
        org.apache.arrow.vector.types.pojo.Schema arrowSchema,
        String table,
        java.util.Set<String> ignored) {
      this.icebergSchema = icebergSchema;
      this.arrowSchema = arrowSchema;
      this.tableName = table;
      this.plan =
          new Planner(table, ignored)
              .struct(null, icebergSchema.asStruct(), arrowSchema.getFields());
    }

    /** The Iceberg schema of the records. */
    public Schema icebergSchema() {
      return icebergSchema;
    }

    /** The Arrow schema of the batches this converter reads. */
    public org.apache.arrow.vector.types.pojo.Schema arrowSchema() {
      return arrowSchema;
    }

    /**
     * Checks that a root holds batches of this converter's Arrow schema; call it once per batch
     * before reading the batch's rows. Only the fields are compared, not the schema metadata.
     *
     * @throws NullPointerException if {@code root} is null
     * @throws IllegalArgumentException if the root's fields differ from this converter's Arrow
     *     schema
     */
    public void validate(VectorSchemaRoot root) {
      requireNonNull(root, "root");
      List<Field> fields = root.getSchema().getFields();
      if (fields != arrowSchema.getFields() && !fields.equals(arrowSchema.getFields())) {
        throw new IllegalArgumentException(
            String.format(
                "Cannot convert batch for table %s: the batch has schema %s but the converter was"
                    + " built for %s (build a converter for the batch's schema)",
                tableName, root.getSchema(), arrowSchema));
      }
    }

    /**
     * Returns row {@code rowIndex} of the batch a root holds as a new record of this converter's
     * Iceberg schema. The root must hold a batch of this converter's Arrow schema (see {@link
     * #validate}); the caller keeps owning it. The record shares no memory with the root.
     *
     * @throws IndexOutOfBoundsException if {@code rowIndex} is not in {@code [0,
     *     root.getRowCount())}
     * @throws ValidationException if a required field of the row is null or a value does not fit
     *     its column; the message names the table, the column path and the row
     */
    public Record row(VectorSchemaRoot root, int rowIndex) {
      GenericRecord record = plan.template.copy();
      fill(root, rowIndex, record);
      return record;
    }

    /**
     * Writes row {@code rowIndex} of the batch a root holds into {@code target}, which must be a
     * record of this converter's Iceberg schema; every top-level field is overwritten. Nested
     * values are new objects for every row, so a caller may reuse {@code target} between rows once
     * the previous row was written.
     *
     * @throws IndexOutOfBoundsException if {@code rowIndex} is not in {@code [0,
     *     root.getRowCount())}
     * @throws ValidationException if a required field of the row is null or a value does not fit
     *     its column; {@code target} is then partly written
     */
    public void fill(VectorSchemaRoot root, int rowIndex, Record target) {
      requireNonNull(target, "target");
      Objects.checkIndex(rowIndex, root.getRowCount());
      int[] ordinals = plan.ordinals;
      ValueReader[] readers = plan.readers;
      try {
        for (int k = 0; k < ordinals.length; k++) {
          int ordinal = ordinals[k];
          target.set(k, ordinal < 0 ? null : readers[k].read(root.getVector(ordinal), rowIndex));
        }
      } catch (RowFailure failure) {
        throw failure.toValidationException(tableName, rowIndex);
      }
    }
  }

  /** Reads the value at an index of a vector as the Java value Iceberg expects. Stateless. */
  @FunctionalInterface
  private interface ValueReader {
    Object read(ValueVector vector, int index);
  }

  /** Reads an Arrow integer that fits an {@code int}. */
  @FunctionalInterface
  private interface IntReader {
    int read(ValueVector vector, int index);
  }

  /** Reads an Arrow float that fits a {@code float}. */
  @FunctionalInterface
  private interface FloatReader {
    float read(ValueVector vector, int index);
  }

  /**
   * How to read the fields of one Iceberg struct: for each Iceberg field position, the ordinal of
   * the matching Arrow child (or -1 when the batch has none) and its reader.
   */
  private static final class StructPlan {
    private final int[] ordinals;
    private final ValueReader[] readers;
    private final GenericRecord template;

    private StructPlan(int[] ordinals, ValueReader[] readers, GenericRecord template) {
      this.ordinals = ordinals;
      this.readers = readers;
      this.template = template;
    }

    private Record read(AbstractStructVector vector, int index) {
      GenericRecord record = template.copy();
      for (int k = 0; k < ordinals.length; k++) {
        int ordinal = ordinals[k];
        if (ordinal >= 0) {
          record.set(k, readers[k].read(vector.getChildByOrdinal(ordinal), index));
        }
      }
      return record;
    }
  }

  /**
   * A problem with one value, thrown through the readers and turned into a {@link
   * ValidationException} naming the row where the row index is known. Carries no stack trace.
   */
  private static final class RowFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final String problem;
    private final String hint;

    /** A null in a required field. */
    private RowFailure(String path) {
      this(path, null, null);
    }

    private RowFailure(String path, String problem, String hint) {
      super(problem, null, false, false);
      this.path = path;
      this.problem = problem;
      this.hint = hint;
    }

    private ValidationException toValidationException(String table, int row) {
      if (problem == null) {
        return new ValidationException(
            String.format(
                "Cannot write batch to table %s: column '%s' is required but row %d is null",
                table, path, row));
      }
      return new ValidationException(
          String.format(
              "Cannot write batch to table %s: column '%s' has %s at row %d (%s)",
              table, path, problem, row, hint));
    }
  }

  /** Builds the readers for one converter, checking the schema pair as it goes. */
  private static final class Planner {
    private final String table;
    private final java.util.Set<String> ignored;

    private Planner(String table, java.util.Set<String> ignored) {
      this.table = table;
      this.ignored = ignored;
    }

    private StructPlan struct(String parentPath, Types.StructType iceberg, List<Field> arrow) {
      Map<String, Integer> arrowOrdinals = new HashMap<>();
      for (int i = 0; i < arrow.size(); i++) {
        String name = arrow.get(i).getName();
        if (parentPath == null && ignored.contains(name)) {
          continue; // read by the caller, not written
        }
        if (arrowOrdinals.put(name, i) != null) {
          throw invalid(
              "the Arrow schema has two fields named '%s' at '%s' (rename one of them)",
              name, path(parentPath, name));
        }
        if (iceberg.field(name) == null) {
          throw invalid(
              "Arrow column '%s' is not in the table schema (drop it from the batch, or add it to"
                  + " the table)",
              path(parentPath, name));
        }
      }
      List<Types.NestedField> fields = iceberg.fields();
      int[] ordinals = new int[fields.size()];
      ValueReader[] readers = new ValueReader[fields.size()];
      for (int k = 0; k < fields.size(); k++) {
        Types.NestedField column = fields.get(k);
        String path = path(parentPath, column.name());
        Integer ordinal = arrowOrdinals.get(column.name());
        if (ordinal == null) {
          if (column.isRequired()) {
            throw invalid(
                "column '%s' is required but the batch has no such Arrow column (add it to the"
                    + " batch, or make the column optional)",
                path);
          }
          ordinals[k] = -1;
        } else {
          ordinals[k] = ordinal;
          readers[k] = reader(path, arrow.get(ordinal), column.type(), column.isRequired());
        }
      }
      return new StructPlan(ordinals, readers, GenericRecord.create(iceberg));
    }

    private ValueReader reader(String path, Field field, Type target, boolean required) {
      if (field.getDictionary() != null) {
        throw invalid(
            "column '%s' is dictionary-encoded %s (decode the dictionary before writing)",
            path, field.getType());
      }
      ValueReader reader;
      switch (target.typeId()) {
        case STRUCT:
          reader = structReader(path, field, target.asStructType());
          break;
        case LIST:
          reader = listReader(path, field, target.asListType());
          break;
        case MAP:
          reader = mapReader(path, field, target.asMapType());
          break;
        default:
          reader = primitiveReader(path, field, target.asPrimitiveType());
          break;
      }
      return nullChecked(path, reader, required);
    }

    private static ValueReader nullChecked(String path, ValueReader reader, boolean required) {
      if (required) {
        return (vector, index) -> {
          if (vector.isNull(index)) {
            throw new RowFailure(path);
          }
          return reader.read(vector, index);
        };
      }
      return (vector, index) -> vector.isNull(index) ? null : reader.read(vector, index);
    }

    private ValueReader structReader(String path, Field field, Types.StructType target) {
      if (typeId(field) != ArrowTypeID.Struct) {
        throw mismatch(path, field, target);
      }
      StructPlan plan = struct(path, target, field.getChildren());
      return (vector, index) -> plan.read((AbstractStructVector) vector, index);
    }

    private ValueReader listReader(String path, Field field, Types.ListType target) {
      ArrowTypeID id = typeId(field);
      if (id != ArrowTypeID.List
          && id != ArrowTypeID.LargeList
          && id != ArrowTypeID.FixedSizeList) {
        throw mismatch(path, field, target);
      }
      ValueReader element =
          reader(
              path + ".element",
              field.getChildren().get(0),
              target.elementType(),
              target.isElementRequired());
      switch (id) {
        case List:
          return (vector, index) -> {
            ListVector list = (ListVector) vector;
            return readList(
                list.getDataVector(),
                list.getElementStartIndex(index),
                list.getElementEndIndex(index),
                element);
          };
        case LargeList:
          return (vector, index) -> {
            LargeListVector list = (LargeListVector) vector;
            return readList(
                list.getDataVector(),
                Math.toIntExact(list.getElementStartIndex(index)),
                Math.toIntExact(list.getElementEndIndex(index)),
                element);
          };
        default:
          return (vector, index) -> {
            FixedSizeListVector list = (FixedSizeListVector) vector;
            return readList(
                list.getDataVector(),
                list.getElementStartIndex(index),
                list.getElementEndIndex(index),
                element);
          };
      }
    }

    private static List<Object> readList(
        ValueVector elements, int start, int end, ValueReader element) {
      List<Object> list = new ArrayList<>(end - start);
      for (int i = start; i < end; i++) {
        list.add(element.read(elements, i));
      }
      return list;
    }

    private ValueReader mapReader(String path, Field field, Types.MapType target) {
      if (typeId(field) != ArrowTypeID.Map) {
        throw mismatch(path, field, target);
      }
      List<Field> entryFields = field.getChildren().get(0).getChildren();
      ValueReader key = reader(path + ".key", entryFields.get(0), target.keyType(), true);
      ValueReader value =
          reader(path + ".value", entryFields.get(1), target.valueType(), target.isValueRequired());
      return (vector, index) -> {
        ListVector map = (ListVector) vector;
        int start = map.getElementStartIndex(index);
        int end = map.getElementEndIndex(index);
        AbstractStructVector entries = (AbstractStructVector) map.getDataVector();
        ValueVector keys = entries.getChildByOrdinal(0);
        ValueVector values = entries.getChildByOrdinal(1);
        Map<Object, Object> result = new LinkedHashMap<>(capacity(end - start));
        for (int i = start; i < end; i++) {
          Object k = key.read(keys, i);
          result.put(k, value.read(values, i));
          if (result.size() != i - start + 1) {
            throw new RowFailure(
                path,
                "the key " + k + " twice in one map",
                "an Iceberg map holds each key once; deduplicate the entries");
          }
        }
        return result;
      };
    }

    private static int capacity(int entries) {
      return entries < 3 ? entries + 1 : (int) (entries / 0.75f) + 1;
    }

    private ValueReader primitiveReader(String path, Field field, Type.PrimitiveType target) {
      Type.PrimitiveType mapped = ArrowSchemas.primitiveType(field);
      if (mapped == null || !assignable(mapped, target)) {
        throw mismatch(path, field, target);
      }
      ArrowType type = field.getType();
      switch (target.typeId()) {
        case BOOLEAN:
          return (vector, index) -> ((BitVector) vector).get(index) != 0;
        case INTEGER:
          {
            IntReader ints = intReader((ArrowType.Int) type);
            return (vector, index) -> ints.read(vector, index);
          }
        case LONG:
          return longReader((ArrowType.Int) type);
        case FLOAT:
          {
            FloatReader floats = floatReader((ArrowType.FloatingPoint) type);
            return (vector, index) -> floats.read(vector, index);
          }
        case DOUBLE:
          if (((ArrowType.FloatingPoint) type).getPrecision() == FloatingPointPrecision.DOUBLE) {
            return (vector, index) -> ((Float8Vector) vector).get(index);
          } else {
            FloatReader floats = floatReader((ArrowType.FloatingPoint) type);
            return (vector, index) -> (double) floats.read(vector, index);
          }
        case DECIMAL:
          return decimalReader(path, (Types.DecimalType) target);
        case DATE:
          return dateReader(path, (ArrowType.Date) type);
        case TIME:
          return timeReader(path, (ArrowType.Time) type);
        case TIMESTAMP:
          return timestampReader(path, (ArrowType.Timestamp) type);
        case TIMESTAMP_NANO:
          return timestampNanoReader((ArrowType.Timestamp) type);
        case STRING:
          return stringReader(type);
        case BINARY:
          return binaryReader(type);
        case FIXED:
          return (vector, index) -> ((FixedSizeBinaryVector) vector).get(index);
        case UUID:
          if (type instanceof UuidType) {
            return (vector, index) -> uuid(((UuidVector) vector).getUnderlyingVector(), index);
          }
          return (vector, index) -> uuid((FixedSizeBinaryVector) vector, index);
        default:
          throw mismatch(path, field, target);
      }
    }

    /**
     * Whether values of the Iceberg type an Arrow field maps to can be written to a column of
     * {@code target} without loss: the same type, or a promotion Iceberg itself allows.
     */
    private static boolean assignable(Type.PrimitiveType mapped, Type.PrimitiveType target) {
      if (mapped.equals(target)) {
        return true;
      }
      switch (target.typeId()) {
        case LONG:
          return mapped.typeId() == Type.TypeID.INTEGER;
        case DOUBLE:
          return mapped.typeId() == Type.TypeID.FLOAT;
        case DECIMAL:
          if (mapped.typeId() != Type.TypeID.DECIMAL) {
            return false;
          }
          Types.DecimalType from = (Types.DecimalType) mapped;
          Types.DecimalType to = (Types.DecimalType) target;
          return from.scale() == to.scale() && from.precision() <= to.precision();
        case UUID:
          return mapped.equals(Types.FixedType.ofLength(UuidType.UUID_BYTE_WIDTH));
        default:
          return false;
      }
    }

    private static IntReader intReader(ArrowType.Int type) {
      if (!type.getIsSigned()) {
        if (type.getBitWidth() == 8) {
          return (vector, index) -> Byte.toUnsignedInt(((UInt1Vector) vector).get(index));
        }
        return (vector, index) -> ((UInt2Vector) vector).get(index);
      }
      switch (type.getBitWidth()) {
        case 8:
          return (vector, index) -> ((TinyIntVector) vector).get(index);
        case 16:
          return (vector, index) -> ((SmallIntVector) vector).get(index);
        default:
          return (vector, index) -> ((IntVector) vector).get(index);
      }
    }

    private static ValueReader longReader(ArrowType.Int type) {
      if (type.getIsSigned() && type.getBitWidth() == 64) {
        return (vector, index) -> ((BigIntVector) vector).get(index);
      }
      if (!type.getIsSigned() && type.getBitWidth() == 32) {
        return (vector, index) -> Integer.toUnsignedLong(((UInt4Vector) vector).get(index));
      }
      IntReader ints = intReader(type);
      return (vector, index) -> (long) ints.read(vector, index);
    }

    private static FloatReader floatReader(ArrowType.FloatingPoint type) {
      if (type.getPrecision() == FloatingPointPrecision.HALF) {
        return (vector, index) -> ((Float2Vector) vector).getValueAsFloat(index);
      }
      return (vector, index) -> ((Float4Vector) vector).get(index);
    }

    private static ValueReader decimalReader(String path, Types.DecimalType target) {
      int precision = target.precision();
      // DecimalVector and Decimal256Vector both read values with the field's scale. Arrow does not
      // enforce the declared precision; Iceberg's writers do, so check it here, per row.
      return (vector, index) -> {
        BigDecimal value = (BigDecimal) vector.getObject(index);
        if (value.precision() > precision) {
          throw new RowFailure(
              path,
              "the value " + value.toPlainString() + ", which does not fit " + target,
              "fix the value, or widen the column");
        }
        return value;
      };
    }

    private static ValueReader dateReader(String path, ArrowType.Date type) {
      switch (type.getUnit()) {
        case DAY:
          return (vector, index) -> LocalDate.ofEpochDay(((DateDayVector) vector).get(index));
        default:
          return (vector, index) -> {
            long millis = ((DateMilliVector) vector).get(index);
            long days = Math.floorDiv(millis, MILLIS_PER_DAY);
            // Iceberg stores dates as 32-bit day counts.
            if (days != (int) days) {
              throw new RowFailure(
                  path,
                  "the date " + millis + " ms since the epoch, which is out of range",
                  "Iceberg dates are 32-bit day counts; fix the value");
            }
            return LocalDate.ofEpochDay(days);
          };
      }
    }

    private static ValueReader timeReader(String path, ArrowType.Time type) {
      switch (type.getUnit()) {
        case SECOND:
          return (vector, index) ->
              time(path, ((TimeSecVector) vector).get(index), 1_000_000_000L, "s");
        case MILLISECOND:
          return (vector, index) ->
              time(path, ((TimeMilliVector) vector).get(index), 1_000_000L, "ms");
        case MICROSECOND:
          return (vector, index) -> time(path, ((TimeMicroVector) vector).get(index), 1_000L, "us");
        default:
          // Iceberg times are microseconds: drop the sub-microsecond digits.
          return (vector, index) -> {
            long nanos = ((TimeNanoVector) vector).get(index);
            return time(path, nanos - Math.floorMod(nanos, 1_000L), 1L, "ns");
          };
      }
    }

    private static LocalTime time(String path, long value, long nanosPerUnit, String unit) {
      if (value < 0 || value >= NANOS_PER_DAY / nanosPerUnit) {
        throw new RowFailure(
            path,
            "the time " + value + " " + unit + ", which is not within a day",
            "a time of day must be at least 0 and less than 24 hours");
      }
      return LocalTime.ofNanoOfDay(value * nanosPerUnit);
    }

    private static ValueReader timestampReader(String path, ArrowType.Timestamp type) {
      long microsPerUnit;
      switch (type.getUnit()) {
        case SECOND:
          microsPerUnit = 1_000_000L;
          break;
        case MILLISECOND:
          microsPerUnit = 1_000L;
          break;
        default:
          microsPerUnit = 1L;
          break;
      }
      TimeUnit unit = type.getUnit();
      boolean zoned = ArrowSchemas.hasZone(type);
      return (vector, index) -> {
        long value = ((TimeStampVector) vector).get(index);
        long micros;
        try {
          micros = Math.multiplyExact(value, microsPerUnit);
        } catch (ArithmeticException e) {
          throw new RowFailure(
              path,
              "the timestamp " + value + " " + unit + " since the epoch, which is out of range",
              "Iceberg timestamps are 64-bit microsecond counts; fix the value");
        }
        LocalDateTime local =
            LocalDateTime.ofEpochSecond(
                Math.floorDiv(micros, 1_000_000L),
                (int) Math.floorMod(micros, 1_000_000L) * 1_000,
                ZoneOffset.UTC);
        return zoned ? OffsetDateTime.of(local, ZoneOffset.UTC) : local;
      };
    }

    private static ValueReader timestampNanoReader(ArrowType.Timestamp type) {
      boolean zoned = ArrowSchemas.hasZone(type);
      return (vector, index) -> {
        long nanos = ((TimeStampVector) vector).get(index);
        LocalDateTime local =
            LocalDateTime.ofEpochSecond(
                Math.floorDiv(nanos, 1_000_000_000L),
                (int) Math.floorMod(nanos, 1_000_000_000L),
                ZoneOffset.UTC);
        return zoned ? OffsetDateTime.of(local, ZoneOffset.UTC) : local;
      };
    }

    private static ValueReader stringReader(ArrowType type) {
      switch (type.getTypeID()) {
        case Utf8:
          return (vector, index) ->
              new String(((VarCharVector) vector).get(index), StandardCharsets.UTF_8);
        case LargeUtf8:
          return (vector, index) ->
              new String(((LargeVarCharVector) vector).get(index), StandardCharsets.UTF_8);
        default:
          return (vector, index) ->
              new String(((ViewVarCharVector) vector).get(index), StandardCharsets.UTF_8);
      }
    }

    private static ValueReader binaryReader(ArrowType type) {
      switch (type.getTypeID()) {
        case Binary:
          return (vector, index) -> ByteBuffer.wrap(((VarBinaryVector) vector).get(index));
        case LargeBinary:
          return (vector, index) -> ByteBuffer.wrap(((LargeVarBinaryVector) vector).get(index));
        default:
          return (vector, index) -> ByteBuffer.wrap(((ViewVarBinaryVector) vector).get(index));
      }
    }

    private static UUID uuid(FixedSizeBinaryVector vector, int index) {
      // UUID bytes are big-endian; ArrowBuf reads in native order.
      ArrowBuf data = vector.getDataBuffer();
      long offset = (long) index * UuidType.UUID_BYTE_WIDTH;
      long high = data.getLong(offset);
      long low = data.getLong(offset + Long.BYTES);
      return LITTLE_ENDIAN
          ? new UUID(Long.reverseBytes(high), Long.reverseBytes(low))
          : new UUID(high, low);
    }

    /** The Arrow type id of a field, or {@code NONE} for extension types. */
    private static ArrowTypeID typeId(Field field) {
      ArrowType type = field.getType();
      return type instanceof ExtensionType ? ArrowTypeID.NONE : type.getTypeID();
    }

    private ValidationException mismatch(String path, Field field, Type target) {
      String hint =
          target.isPrimitiveType()
              ? "cast it to an Arrow type that maps to " + target
              : "send an Arrow "
                  + target.typeId().toString().toLowerCase(Locale.ROOT)
                  + " with the table's fields";
      return invalid(
          "column '%s' has Arrow type %s but the table column is %s (%s)",
          path, ArrowSchemas.describe(field), target, hint);
    }

    private ValidationException invalid(String format, Object... args) {
      return new ValidationException(
          "Cannot write batch to table " + table + ": " + String.format(format, args));
    }

    private static String path(String parentPath, String name) {
      return parentPath == null ? name : parentPath + "." + name;
    }
  }
}
