package io.crest.iceberg.schema;

import io.crest.writer.FileWriters;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;

/**
 * The Arrow schema, with Parquet field ids, that Crest's writers write for an Iceberg schema: the
 * canonical Arrow type of every Iceberg type (the one Iceberg's own Parquet writer would store).
 * Stateless.
 */
public final class IcebergArrowSchema {
  private IcebergArrowSchema() {}

  /**
   * The write schema of {@code schema}.
   *
   * @throws IllegalArgumentException if a column has a type Crest cannot write (variant,
   *     geometry, unknown), naming it
   */
  public static Schema toArrow(org.apache.iceberg.Schema schema, String tableName) {
    List<Field> fields = new ArrayList<>();
    for (Types.NestedField f : schema.columns()) {
      fields.add(field(f.name(), f.fieldId(), f.isOptional(), f.type(), f.name(), tableName));
    }
    return new Schema(fields);
  }

  private static Field field(String name, int id, boolean optional, Type type, String path,
      String tableName) {
    List<Field> children = new ArrayList<>();
    ArrowType arrow;
    switch (type.typeId()) {
      case STRUCT:
        arrow = ArrowType.Struct.INSTANCE;
        for (Types.NestedField f : type.asStructType().fields()) {
          children.add(field(f.name(), f.fieldId(), f.isOptional(), f.type(),
              path + "." + f.name(), tableName));
        }
        break;
      case LIST:
        {
          Types.ListType list = type.asListType();
          arrow = ArrowType.List.INSTANCE;
          children.add(field("element", list.elementId(), list.isElementOptional(),
              list.elementType(), path + ".element", tableName));
          break;
        }
      case MAP:
        {
          Types.MapType map = type.asMapType();
          arrow = new ArrowType.Map(false);
          Field key = field("key", map.keyId(), false, map.keyType(), path + ".key", tableName);
          Field value = field("value", map.valueId(), map.isValueOptional(), map.valueType(),
              path + ".value", tableName);
          children.add(new Field("entries", FieldType.notNullable(ArrowType.Struct.INSTANCE),
              List.of(key, value)));
          break;
        }
      default:
        arrow = primitive(type, path, tableName);
    }
    Field f = new Field(name, new FieldType(optional, arrow, null), children);
    return FileWriters.withFieldId(f, id);
  }

  private static ArrowType primitive(Type type, String path, String tableName) {
    switch (type.typeId()) {
      case BOOLEAN:
        return ArrowType.Bool.INSTANCE;
      case INTEGER:
        return new ArrowType.Int(32, true);
      case LONG:
        return new ArrowType.Int(64, true);
      case FLOAT:
        return new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
      case DOUBLE:
        return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
      case DATE:
        return new ArrowType.Date(DateUnit.DAY);
      case TIME:
        return new ArrowType.Time(TimeUnit.MICROSECOND, 64);
      case TIMESTAMP:
        return new ArrowType.Timestamp(TimeUnit.MICROSECOND,
            ((Types.TimestampType) type).shouldAdjustToUTC() ? "UTC" : null);
      case TIMESTAMP_NANO:
        return new ArrowType.Timestamp(TimeUnit.NANOSECOND,
            ((Types.TimestampNanoType) type).shouldAdjustToUTC() ? "UTC" : null);
      case STRING:
        return ArrowType.Utf8.INSTANCE;
      case BINARY:
        return ArrowType.Binary.INSTANCE;
      case FIXED:
        return new ArrowType.FixedSizeBinary(((Types.FixedType) type).length());
      case UUID:
        return UuidType.INSTANCE;
      case DECIMAL:
        {
          Types.DecimalType d = (Types.DecimalType) type;
          return new ArrowType.Decimal(d.precision(), d.scale(), 128);
        }
      default:
        throw new IllegalArgumentException("Cannot write column " + path + " of table "
            + tableName + ": Iceberg type " + type + " is not supported by Crest's columnar"
            + " writer (use the generic writer for this table)");
    }
  }
}
