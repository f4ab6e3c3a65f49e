package io.crest.writer.internal;

import io.crest.errors.ValidationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.arrow.vector.extension.UuidType;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.parquet.format.ConvertedType;
import org.apache.parquet.format.DateType;
import org.apache.parquet.format.DecimalType;
import org.apache.parquet.format.FieldRepetitionType;
import org.apache.parquet.format.IntType;
import org.apache.parquet.format.ListType;
import org.apache.parquet.format.LogicalType;
import org.apache.parquet.format.MapType;
import org.apache.parquet.format.MicroSeconds;
import org.apache.parquet.format.MilliSeconds;
import org.apache.parquet.format.NanoSeconds;
import org.apache.parquet.format.SchemaElement;
import org.apache.parquet.format.StringType;
import org.apache.parquet.format.TimeType;
import org.apache.parquet.format.TimestampType;
import org.apache.parquet.format.Type;
import org.apache.parquet.format.UUIDType;

/**
 * One field of the writer's schema, as a node of the Parquet schema tree: a leaf column, a struct,
 * a list or a map. Immutable after construction.
 */
final class Node {
  /** The Arrow field metadata key for Parquet field ids, as the Arrow C++ writer spells it. */
  static final String FIELD_ID_KEY = io.crest.writer.FileWriters.FIELD_ID_KEY;

  enum Kind {
    LEAF,
    STRUCT,
    LIST,
    MAP
  }

  /** How a leaf's values are stored. */
  enum Physical {
    BOOLEAN,
    INT32,
    INT64,
    FLOAT,
    DOUBLE,
    BYTE_ARRAY,
    FIXED
  }

  /** What a leaf means, beyond its physical type; decides which Arrow inputs fit. */
  enum Logical {
    PLAIN,
    STRING,
    DATE,
    TIME,
    TIMESTAMP,
    DECIMAL,
    UUID
  }

  final Kind kind;
  final String name;
  final String path;
  final Field field;
  final boolean nullable;
  final int fieldId;
  final Node[] children;
  final int defLevel;
  final int repLevel;
  // leaves only
  final Physical physical;
  final Logical logical;
  final int typeLength;

  private Node(Kind kind, Field field, String path, boolean nullable, Node[] children, int defLevel,
      int repLevel, Physical physical, Logical logical, int typeLength) {
    this.kind = kind;
    this.name = field.getName();
    this.path = path;
    this.field = field;
    this.nullable = nullable;
    this.fieldId = fieldId(field);
    this.children = children;
    this.defLevel = defLevel;
    this.repLevel = repLevel;
    this.physical = physical;
    this.logical = logical;
    this.typeLength = typeLength;
  }

  static int fieldId(Field field) {
    Map<String, String> meta = field.getMetadata();
    String id = meta == null ? null : meta.get(FIELD_ID_KEY);
    if (id == null) {
      return -1;
    }
    try {
      return Integer.parseInt(id);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("Cannot read the field id of column " + field.getName()
          + ": " + FIELD_ID_KEY + " is '" + id + "', not an integer");
    }
  }

  /**
   * Builds the node for {@code field} below a parent with the given levels.
   *
   * @throws IllegalArgumentException if the field's type cannot be written
   */
  static Node of(Field field, String parentPath, int parentDef, int parentRep) {
    String path = parentPath == null ? field.getName() : parentPath + "." + field.getName();
    boolean nullable = field.isNullable();
    int def = parentDef + (nullable ? 1 : 0);
    ArrowType type = field.getType();
    if (type instanceof UuidType) {
      return leaf(field, path, nullable, def, parentRep, Physical.FIXED, Logical.UUID, 16);
    }
    switch (type.getTypeID()) {
      case Struct:
        {
          Node[] kids = new Node[field.getChildren().size()];
          for (int i = 0; i < kids.length; i++) {
            kids[i] = of(field.getChildren().get(i), path, def, parentRep);
          }
          return new Node(Kind.STRUCT, field, path, nullable, kids, def, parentRep, null, null, 0);
        }
      case List:
      case LargeList:
      case FixedSizeList:
        {
          Field element = onlyChild(field, path);
          // the repeated group adds a definition and a repetition level
          Node kid = of(renamed(element, "element"), path + ".list", def + 1, parentRep + 1);
          return new Node(Kind.LIST, field, path, nullable, new Node[] {kid}, def, parentRep + 1,
              null, null, 0);
        }
      case Map:
        {
          Field entries = onlyChild(field, path);
          if (entries.getChildren().size() != 2) {
            throw new IllegalArgumentException("Cannot write column " + path
                + ": its map entries have " + entries.getChildren().size()
                + " fields, not key and value");
          }
          Node key = of(renamed(entries.getChildren().get(0), "key"), path + ".key_value",
              def + 1, parentRep + 1);
          Node value = of(renamed(entries.getChildren().get(1), "value"), path + ".key_value",
              def + 1, parentRep + 1);
          if (key.nullable) {
            throw new IllegalArgumentException(
                "Cannot write column " + path + ": map keys must not be nullable");
          }
          return new Node(Kind.MAP, field, path, nullable, new Node[] {key, value}, def,
              parentRep + 1, null, null, 0);
        }
      case Bool:
        return leaf(field, path, nullable, def, parentRep, Physical.BOOLEAN, Logical.PLAIN, 0);
      case Int:
        {
          ArrowType.Int t = (ArrowType.Int) type;
          if (!t.getIsSigned()) {
            throw unsupported(field, path, "declare a signed integer type wide enough");
          }
          return leaf(field, path, nullable, def, parentRep,
              t.getBitWidth() == 64 ? Physical.INT64 : Physical.INT32, Logical.PLAIN, 0);
        }
      case FloatingPoint:
        {
          FloatingPointPrecision p = ((ArrowType.FloatingPoint) type).getPrecision();
          if (p == FloatingPointPrecision.HALF) {
            throw unsupported(field, path, "declare Float32; Float16 input is widened");
          }
          return leaf(field, path, nullable, def, parentRep,
              p == FloatingPointPrecision.SINGLE ? Physical.FLOAT : Physical.DOUBLE,
              Logical.PLAIN, 0);
        }
      case Utf8:
      case LargeUtf8:
        return leaf(field, path, nullable, def, parentRep, Physical.BYTE_ARRAY, Logical.STRING, 0);
      case Binary:
      case LargeBinary:
        return leaf(field, path, nullable, def, parentRep, Physical.BYTE_ARRAY, Logical.PLAIN, 0);
      case FixedSizeBinary:
        return leaf(field, path, nullable, def, parentRep, Physical.FIXED, Logical.PLAIN,
            ((ArrowType.FixedSizeBinary) type).getByteWidth());
      case Date:
        return leaf(field, path, nullable, def, parentRep, Physical.INT32, Logical.DATE, 0);
      case Time:
        {
          TimeUnit unit = ((ArrowType.Time) type).getUnit();
          if (unit != TimeUnit.MICROSECOND && unit != TimeUnit.NANOSECOND) {
            throw unsupported(field, path, "declare Time(MICROSECOND) or Time(NANOSECOND)");
          }
          return leaf(field, path, nullable, def, parentRep, Physical.INT64, Logical.TIME, 0);
        }
      case Timestamp:
        {
          TimeUnit unit = ((ArrowType.Timestamp) type).getUnit();
          if (unit == TimeUnit.SECOND) {
            throw unsupported(field, path, "declare Timestamp(MILLISECOND) or finer");
          }
          return leaf(field, path, nullable, def, parentRep, Physical.INT64, Logical.TIMESTAMP,
              0);
        }
      case Decimal:
        {
          int precision = ((ArrowType.Decimal) type).getPrecision();
          if (precision > 38) {
            throw unsupported(field, path, "declare a precision of at most 38");
          }
          Physical physical = precision <= 9 ? Physical.INT32
              : precision <= 18 ? Physical.INT64 : Physical.FIXED;
          return leaf(field, path, nullable, def, parentRep, physical, Logical.DECIMAL,
              physical == Physical.FIXED ? decimalBytes(precision) : 0);
        }
      default:
        throw unsupported(field, path, "cast it to a supported type");
    }
  }

  /** The fewest bytes a two's complement integer of {@code precision} decimal digits needs. */
  static int decimalBytes(int precision) {
    int bytes = 1;
    while (Math.pow(2, 8 * bytes - 1) < Math.pow(10, precision)) {
      bytes++;
    }
    return bytes;
  }

  private static Node leaf(Field field, String path, boolean nullable, int def, int rep,
      Physical physical, Logical logical, int length) {
    return new Node(Kind.LEAF, field, path, nullable, new Node[0], def, rep, physical, logical,
        length);
  }

  private static Field onlyChild(Field field, String path) {
    if (field.getChildren().size() != 1) {
      throw new IllegalArgumentException("Cannot write column " + path + ": "
          + field.getType() + " must have one child, not " + field.getChildren().size());
    }
    return field.getChildren().get(0);
  }

  private static Field renamed(Field field, String name) {
    return new Field(name, field.getFieldType(), field.getChildren());
  }

  private static IllegalArgumentException unsupported(Field field, String path, String hint) {
    return new IllegalArgumentException("Cannot write column " + path + ": Arrow type "
        + field.getType() + " is not supported by the Parquet writer (" + hint + ")");
  }

  /** Appends the Parquet schema elements of this subtree, depth first. */
  void schemaElements(List<SchemaElement> out) {
    SchemaElement e = new SchemaElement(name);
    e.setRepetition_type(nullable ? FieldRepetitionType.OPTIONAL : FieldRepetitionType.REQUIRED);
    if (fieldId >= 0) {
      e.setField_id(fieldId);
    }
    switch (kind) {
      case STRUCT:
        e.setNum_children(children.length);
        out.add(e);
        for (Node c : children) {
          c.schemaElements(out);
        }
        return;
      case LIST:
        {
          e.setNum_children(1);
          e.setConverted_type(ConvertedType.LIST);
          e.setLogicalType(LogicalType.LIST(new ListType()));
          out.add(e);
          SchemaElement repeated = new SchemaElement("list");
          repeated.setRepetition_type(FieldRepetitionType.REPEATED);
          repeated.setNum_children(1);
          out.add(repeated);
          children[0].schemaElements(out);
          return;
        }
      case MAP:
        {
          e.setNum_children(1);
          e.setConverted_type(ConvertedType.MAP);
          e.setLogicalType(LogicalType.MAP(new MapType()));
          out.add(e);
          SchemaElement repeated = new SchemaElement("key_value");
          repeated.setRepetition_type(FieldRepetitionType.REPEATED);
          repeated.setNum_children(2);
          out.add(repeated);
          children[0].schemaElements(out);
          children[1].schemaElements(out);
          return;
        }
      default:
        leafElement(e);
        out.add(e);
    }
  }

  private void leafElement(SchemaElement e) {
    e.setType(thriftType());
    ArrowType type = field.getType();
    switch (logical) {
      case STRING:
        e.setConverted_type(ConvertedType.UTF8);
        e.setLogicalType(LogicalType.STRING(new StringType()));
        break;
      case DATE:
        e.setConverted_type(ConvertedType.DATE);
        e.setLogicalType(LogicalType.DATE(new DateType()));
        break;
      case TIME:
        if (((ArrowType.Time) type).getUnit() == TimeUnit.MICROSECOND) {
          e.setConverted_type(ConvertedType.TIME_MICROS);
          e.setLogicalType(LogicalType.TIME(new TimeType(false, micros())));
        } else {
          e.setLogicalType(LogicalType.TIME(new TimeType(false, nanos())));
        }
        break;
      case TIMESTAMP:
        {
          ArrowType.Timestamp ts = (ArrowType.Timestamp) type;
          boolean utc = ts.getTimezone() != null;
          switch (ts.getUnit()) {
            case MILLISECOND:
              e.setConverted_type(ConvertedType.TIMESTAMP_MILLIS);
              e.setLogicalType(LogicalType.TIMESTAMP(new TimestampType(utc, millis())));
              break;
            case MICROSECOND:
              e.setConverted_type(ConvertedType.TIMESTAMP_MICROS);
              e.setLogicalType(LogicalType.TIMESTAMP(new TimestampType(utc, micros())));
              break;
            default:
              e.setLogicalType(LogicalType.TIMESTAMP(new TimestampType(utc, nanos())));
          }
          break;
        }
      case DECIMAL:
        {
          ArrowType.Decimal d = (ArrowType.Decimal) type;
          e.setConverted_type(ConvertedType.DECIMAL);
          e.setScale(d.getScale());
          e.setPrecision(d.getPrecision());
          e.setLogicalType(LogicalType.DECIMAL(new DecimalType(d.getScale(), d.getPrecision())));
          break;
        }
      case UUID:
        e.setLogicalType(LogicalType.UUID(new UUIDType()));
        break;
      default:
        if (type instanceof ArrowType.Int) {
          int bits = ((ArrowType.Int) type).getBitWidth();
          if (bits == 8 || bits == 16) {
            e.setConverted_type(bits == 8 ? ConvertedType.INT_8 : ConvertedType.INT_16);
            e.setLogicalType(LogicalType.INTEGER(new IntType((byte) bits, true)));
          }
        }
    }
    if (physical == Physical.FIXED) {
      e.setType_length(typeLength);
    }
  }

  private static org.apache.parquet.format.TimeUnit micros() {
    return org.apache.parquet.format.TimeUnit.MICROS(new MicroSeconds());
  }

  private static org.apache.parquet.format.TimeUnit millis() {
    return org.apache.parquet.format.TimeUnit.MILLIS(new MilliSeconds());
  }

  private static org.apache.parquet.format.TimeUnit nanos() {
    return org.apache.parquet.format.TimeUnit.NANOS(new NanoSeconds());
  }

  Type thriftType() {
    switch (physical) {
      case BOOLEAN:
        return Type.BOOLEAN;
      case INT32:
        return Type.INT32;
      case INT64:
        return Type.INT64;
      case FLOAT:
        return Type.FLOAT;
      case DOUBLE:
        return Type.DOUBLE;
      case BYTE_ARRAY:
        return Type.BYTE_ARRAY;
      default:
        return Type.FIXED_LEN_BYTE_ARRAY;
    }
  }

  /** Every leaf below (or at) this node, each with its path of nodes from the top. */
  void leaves(List<Node> prefix, List<Node[]> out) {
    List<Node> p = new ArrayList<>(prefix);
    p.add(this);
    if (kind == Kind.LEAF) {
      out.add(p.toArray(new Node[0]));
    } else {
      for (Node c : children) {
        c.leaves(p, out);
      }
    }
  }

  /** The Parquet column path, for example {@code [tags, list, element]}. */
  static List<String> columnPath(Node[] nodes) {
    List<String> path = new ArrayList<>();
    for (Node n : nodes) {
      path.add(n.name);
      if (n.kind == Kind.LIST) {
        path.add("list");
      } else if (n.kind == Kind.MAP) {
        path.add("key_value");
      }
    }
    return path;
  }

  static ValidationException invalid(String target, String message) {
    return new ValidationException("Cannot write batch to " + target + ": " + message);
  }
}
