package io.crest.iceberg.schema;

import static java.util.Objects.requireNonNull;

import io.crest.errors.ValidationException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.ArrowType.ExtensionType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.Schema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * Maps Arrow schemas to Iceberg schemas.
 *
 * <p>The mapping, by Arrow type:
 *
 * <ul>
 *   <li>{@code Bool} to {@code boolean}; {@code Int} 8/16/32 signed and {@code UInt} 8/16 to {@code
 *       int}; {@code Int64} and {@code UInt32} to {@code long}; {@code UInt64} is rejected.
 *   <li>{@code FloatingPoint} HALF and SINGLE to {@code float}, DOUBLE to {@code double}.
 *   <li>{@code Utf8}, {@code LargeUtf8}, {@code Utf8View} to {@code string}; {@code Binary}, {@code
 *       LargeBinary}, {@code BinaryView} to {@code binary}; {@code FixedSizeBinary(n)} to {@code
 *       fixed[n]}, except the canonical extension type {@code arrow.uuid} (registered as {@link
 *       UuidType}, or a {@code FixedSizeBinary(16)} field carrying its extension metadata), which
 *       maps to {@code uuid}.
 *   <li>{@code Decimal(p, s)} of 128 or 256 bits to {@code decimal(p, s)} when {@code p <= 38} and
 *       {@code 0 <= s <= p}.
 *   <li>{@code Date} (day or millisecond) to {@code date}; {@code Time} of any unit to {@code
 *       time}. Iceberg times are microseconds: nanosecond times lose their sub-microsecond digits
 *       when written (they are truncated, not rounded).
 *   <li>{@code Timestamp} in seconds, milliseconds or microseconds to {@code timestamptz} when it
 *       has a time zone and to {@code timestamp} when it has none (a null or empty zone);
 *       nanosecond timestamps to {@code timestamptz_ns} or {@code timestamp_ns}, which need table
 *       format version 3.
 *   <li>{@code List}, {@code LargeList}, {@code FixedSizeList} to {@code list}, whose element is
 *       optional exactly when the Arrow child is nullable; {@code Struct} to {@code struct}; {@code
 *       Map} to {@code map} with required keys and a value that is optional when the Arrow value is
 *       nullable.
 * </ul>
 *
 * <p>Everything else is rejected: {@code Null}, {@code Union}, {@code Duration}, {@code Interval},
 * {@code ListView}, {@code LargeListView}, {@code RunEndEncoded}, other extension types, and
 * dictionary-encoded fields. A nullable Arrow field becomes an optional column, a non-nullable one
 * a required column. Field ids are fresh and sequential: the columns of a struct take consecutive
 * ids before the fields nested inside them, as Iceberg numbers new schemas; a catalog may reassign
 * them when it creates the table.
 *
 * <p>This class is stateless and thread-safe.
 */
public final class ArrowSchemas {
  private static final int MAX_DECIMAL_PRECISION = 38;

  private ArrowSchemas() {}

  /**
   * Returns the Iceberg schema for an Arrow schema.
   *
   * @param arrow the Arrow schema of the batches to be written
   * @param tableName the table the schema is for; only used in error messages
   * @throws NullPointerException if an argument is null
   * @throws ValidationException if a field has no Iceberg equivalent, or two fields of one struct
   *     share a name; the message names the dotted column path
   */
  public static Schema toIceberg(
      org.apache.arrow.vector.types.pojo.Schema arrow, String tableName) {
    requireNonNull(arrow, "arrow");
    requireNonNull(tableName, "tableName");
    int[] lastId = {0};
    return new Schema(structFields(arrow.getFields(), null, tableName, lastId));
  }

  /**
   * Returns the Iceberg type of a primitive Arrow field, or {@code null} when the field is complex
   * (struct, list or map), dictionary-encoded, or has no Iceberg equivalent.
   */
  public static Type.PrimitiveType primitiveType(Field field) {
    if (field.getDictionary() != null) {
      return null;
    }
    ArrowType type = field.getType();
    if (isUuid(field)) {
      return Types.UUIDType.get();
    }
    if (type instanceof ExtensionType) {
      return null;
    }
    switch (type.getTypeID()) {
      case Bool:
        return Types.BooleanType.get();
      case Int:
        return intType((ArrowType.Int) type);
      case FloatingPoint:
        return ((ArrowType.FloatingPoint) type).getPrecision() == FloatingPointPrecision.DOUBLE
            ? Types.DoubleType.get()
            : Types.FloatType.get();
      case Utf8:
      case LargeUtf8:
      case Utf8View:
        return Types.StringType.get();
      case Binary:
      case LargeBinary:
      case BinaryView:
        return Types.BinaryType.get();
      case FixedSizeBinary:
        return Types.FixedType.ofLength(((ArrowType.FixedSizeBinary) type).getByteWidth());
      case Decimal:
        {
          ArrowType.Decimal decimal = (ArrowType.Decimal) type;
          int precision = decimal.getPrecision();
          int scale = decimal.getScale();
          if (precision > MAX_DECIMAL_PRECISION || scale < 0 || scale > precision) {
            return null;
          }
          return Types.DecimalType.of(precision, scale);
        }
      case Date:
        return Types.DateType.get();
      case Time:
        return Types.TimeType.get();
      case Timestamp:
        {
          ArrowType.Timestamp timestamp = (ArrowType.Timestamp) type;
          boolean zoned = hasZone(timestamp);
          if (timestamp.getUnit() == TimeUnit.NANOSECOND) {
            return zoned
                ? Types.TimestampNanoType.withZone()
                : Types.TimestampNanoType.withoutZone();
          }
          return zoned ? Types.TimestampType.withZone() : Types.TimestampType.withoutZone();
        }
      default:
        return null;
    }
  }

  /**
   * Whether the field is the canonical {@code arrow.uuid} extension type, either deserialized as
   * {@link UuidType} or left as its storage type with the extension metadata (when the reader did
   * not have the extension registered).
   */
  static boolean isUuid(Field field) {
    ArrowType type = field.getType();
    if (type instanceof UuidType) {
      return true;
    }
    return type instanceof ArrowType.FixedSizeBinary
        && ((ArrowType.FixedSizeBinary) type).getByteWidth() == UuidType.UUID_BYTE_WIDTH
        && UuidType.EXTENSION_NAME.equals(
            field.getMetadata().get(ExtensionType.EXTENSION_METADATA_KEY_NAME));
  }

  /** Whether an Arrow timestamp is zoned: the Arrow spec treats a null or empty zone as naive. */
  public static boolean hasZone(ArrowType.Timestamp timestamp) {
    String zone = timestamp.getTimezone();
    return zone != null && !zone.isEmpty();
  }

  /** The Arrow type of a field as error messages show it. */
  public static String describe(Field field) {
    if (field.getDictionary() != null) {
      return "dictionary-encoded " + field.getType();
    }
    return field.getType().toString();
  }

  /** Why a field has no Iceberg equivalent, as a hint telling the caller what to do instead. */
  static String rejectionHint(Field field) {
    if (field.getDictionary() != null) {
      return "decode the dictionary before writing";
    }
    ArrowType type = field.getType();
    if (type instanceof ExtensionType) {
      return "extension type "
          + ((ExtensionType) type).extensionName()
          + " is not supported; send its storage type "
          + ((ExtensionType) type).storageType()
          + " instead";
    }
    switch (type.getTypeID()) {
      case Int:
        return "Iceberg has no unsigned 64-bit integer; cast to int64 or decimal(20,0)";
      case Decimal:
        {
          ArrowType.Decimal decimal = (ArrowType.Decimal) type;
          if (decimal.getPrecision() > MAX_DECIMAL_PRECISION) {
            return "Iceberg decimals hold at most 38 digits; cast to a decimal of precision 38 or"
                + " less, or to string";
          }
          return "Iceberg decimals need 0 <= scale <= precision; rescale the values";
        }
      case Null:
        return "Iceberg has no null type; give the column a concrete nullable type";
      case Union:
        return "Iceberg has no union type; split the members into separate nullable columns";
      case Duration:
        return "Iceberg has no duration type; cast to int64 in a fixed unit";
      case Interval:
        return "Iceberg has no interval type; cast to int64 or to a struct of its parts";
      case ListView:
      case LargeListView:
        return "cast list views to List or LargeList";
      case RunEndEncoded:
        return "decode the run-end encoding before writing";
      case Struct:
        return "Iceberg cannot store a struct without fields; drop the column or add a field";
      default:
        return "unsupported Arrow type";
    }
  }

  private static List<Types.NestedField> structFields(
      List<Field> fields, String parentPath, String tableName, int[] lastId) {
    Set<String> names = new HashSet<>();
    for (Field field : fields) {
      if (!names.add(field.getName())) {
        throw new ValidationException(
            String.format(
                "Cannot map column '%s' of table %s: the Arrow schema has two fields named '%s'"
                    + " (rename one of them)",
                path(parentPath, field.getName()), tableName, field.getName()));
      }
    }
    // Ids of one struct's fields come first and are consecutive, the nested fields' after them.
    int firstId = lastId[0] + 1;
    lastId[0] += fields.size();
    List<Types.NestedField> result = new ArrayList<>(fields.size());
    for (int i = 0; i < fields.size(); i++) {
      Field field = fields.get(i);
      Type type = type(field, path(parentPath, field.getName()), tableName, lastId);
      result.add(
          field.isNullable()
              ? Types.NestedField.optional(firstId + i, field.getName(), type)
              : Types.NestedField.required(firstId + i, field.getName(), type));
    }
    return result;
  }

  private static Type type(Field field, String path, String tableName, int[] lastId) {
    ArrowType type = field.getType();
    if (field.getDictionary() == null && !(type instanceof ExtensionType)) {
      switch (type.getTypeID()) {
        case Struct:
          if (field.getChildren().isEmpty()) {
            throw unmappable(field, path, tableName);
          }
          return Types.StructType.of(structFields(field.getChildren(), path, tableName, lastId));
        case List:
        case LargeList:
        case FixedSizeList:
          {
            Field element = onlyChild(field, path, tableName);
            int elementId = ++lastId[0];
            Type elementType = type(element, path + ".element", tableName, lastId);
            return element.isNullable()
                ? Types.ListType.ofOptional(elementId, elementType)
                : Types.ListType.ofRequired(elementId, elementType);
          }
        case Map:
          {
            Field entries = onlyChild(field, path, tableName);
            if (entries.getChildren().size() != 2) {
              throw malformed(path, tableName, "a map's entries must have a key and a value");
            }
            Field key = entries.getChildren().get(0);
            Field value = entries.getChildren().get(1);
            int keyId = ++lastId[0];
            int valueId = ++lastId[0];
            Type keyType = type(key, path + ".key", tableName, lastId);
            Type valueType = type(value, path + ".value", tableName, lastId);
            return value.isNullable()
                ? Types.MapType.ofOptional(keyId, valueId, keyType, valueType)
                : Types.MapType.ofRequired(keyId, valueId, keyType, valueType);
          }
        default:
          break;
      }
    }
    Type.PrimitiveType primitive = primitiveType(field);
    if (primitive == null) {
      throw unmappable(field, path, tableName);
    }
    return primitive;
  }

  private static Type.PrimitiveType intType(ArrowType.Int type) {
    int bits = type.getBitWidth();
    if (type.getIsSigned()) {
      return bits <= 32 ? Types.IntegerType.get() : Types.LongType.get();
    }
    if (bits <= 16) {
      return Types.IntegerType.get();
    }
    return bits == 32 ? Types.LongType.get() : null;
  }

  private static Field onlyChild(Field field, String path, String tableName) {
    if (field.getChildren().size() != 1) {
      throw malformed(
          path,
          tableName,
          field.getType() + " must have exactly one child, has " + field.getChildren().size());
    }
    return field.getChildren().get(0);
  }

  private static ValidationException unmappable(Field field, String path, String tableName) {
    return new ValidationException(
        String.format(
            "Cannot map column '%s' of table %s: Arrow type %s has no Iceberg equivalent (%s)",
            path, tableName, describe(field), rejectionHint(field)));
  }

  private static ValidationException malformed(String path, String tableName, String reason) {
    return new ValidationException(
        String.format(
            "Cannot map column '%s' of table %s: malformed Arrow schema: %s (fix the producer)",
            path, tableName, reason));
  }

  private static String path(String parentPath, String name) {
    return parentPath == null ? name : parentPath + "." + name;
  }
}
