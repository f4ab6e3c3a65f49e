package io.crest.iceberg.keyed;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.arrow.vector.BaseIntVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DateMilliVector;
import org.apache.arrow.vector.ExtensionTypeVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.LargeVarBinaryVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.iceberg.Schema;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.DateTimeUtil;

/**
 * How the key of a keyed table's row becomes what the key index holds: one {@code long} or two.
 *
 * <p>A key of one {@code int} or {@code long} column is <em>narrow</em>: the index holds the value
 * itself ({@code hi} 0, {@code lo} the value), and a miss is looked up with the column's bounds.
 * Any other key, one or several columns of types {@code int}, {@code long}, {@code date},
 * {@code timestamp}/{@code timestamptz}, {@code string}, {@code uuid}, {@code fixed} and {@code
 * binary}, is <em>wide</em>: the index holds the 128-bit MurmurHash3 of the key's values (each
 * column in order: integers and dates as 8 bytes, strings as their UTF-8 bytes and others as
 * their bytes, each behind its length), as {@code hi} and {@code lo}. Two different keys are taken
 * for one only if their 128-bit hashes are equal: for {@code n} live keys that happens with a
 * probability of about {@code n^2 / 2^129} (below 10^-18 for ten billion keys).
 *
 * <p>Keys are read from Arrow vectors ({@link #arrow}: dates in days or milliseconds, timestamps
 * in seconds, milliseconds or microseconds, each taken as the date or microseconds the writer
 * writes), from Iceberg's generic records ({@link #of(org.apache.iceberg.data.Record, Key)}) or
 * from its vectorized reader's columns, giving the same hash for the same value. Immutable
 * and thread-safe; a {@link Key} and an {@link ArrowKeys} belong to one thread.
 */
public final class KeyCodec {
  private static final long MILLIS_PER_DAY = 86_400_000L;
  /** One row's key: {@code hi} is 0 for a narrow key. Belongs to one thread. */
  public static final class Key {
    public long hi;
    public long lo;
    private final Hash128 hash = new Hash128();
  }

  private final String tableName;
  private final List<String> columns;
  private final List<Types.NestedField> fields;
  private final boolean wide;

  private KeyCodec(String tableName, List<String> columns, List<Types.NestedField> fields) {
    this.tableName = tableName;
    this.columns = List.copyOf(columns);
    this.fields = List.copyOf(fields);
    Type.TypeID only = fields.size() == 1 ? fields.get(0).type().typeId() : null;
    this.wide = only != Type.TypeID.INTEGER && only != Type.TypeID.LONG;
  }

  /**
   * The codec of {@code keyColumns} in {@code schema}.
   *
   * @throws IllegalArgumentException naming the column, if one is missing or of a type keys cannot
   *     be indexed by (see {@link #unsupported})
   */
  public static KeyCodec of(Schema schema, List<String> keyColumns, String tableName) {
    String why = unsupported(schema, keyColumns);
    if (why != null) {
      throw new IllegalArgumentException("Cannot index the keys of table " + tableName + ": "
          + why);
    }
    List<Types.NestedField> fields = new ArrayList<>();
    for (String column : keyColumns) {
      fields.add(schema.findField(column));
    }
    return new KeyCodec(tableName, keyColumns, fields);
  }

  /**
   * Why the key index cannot hold keys of {@code keyColumns} in {@code schema}, naming the column
   * at fault, or null when it can.
   */
  public static String unsupported(Schema schema, List<String> keyColumns) {
    if (keyColumns.isEmpty()) {
      return "no key column";
    }
    for (String column : keyColumns) {
      Types.NestedField field = schema.findField(column);
      if (field == null) {
        return "key column '" + column + "' is missing";
      }
      if (schema.asStruct().field(column) == null) {
        return "key column '" + column + "' is not a top-level column";
      }
      switch (field.type().typeId()) {
        case INTEGER, LONG, DATE, TIMESTAMP, STRING, UUID, FIXED, BINARY -> { }
        default -> {
          return "key column '" + column + "' is of type " + field.type()
              + " (keys of int, long, date, timestamp, string, uuid, fixed and binary columns"
              + " only)";
        }
      }
    }
    return null;
  }

  /** Whether keys take two {@code long}s (a hash) rather than one (the value). */
  public boolean wide() {
    return wide;
  }

  /** The key columns, in order. */
  public List<String> columns() {
    return columns;
  }

  /** The key columns' fields, in order. */
  public List<Types.NestedField> fields() {
    return fields;
  }

  /**
   * Reads the key of {@code row} (a record of the table's schema, or of a projection holding the
   * key columns by name) into {@code key}.
   *
   * @throws IllegalArgumentException naming the column, if a key value is null
   */
  public void of(org.apache.iceberg.data.Record row, Key key) {
    if (!wide) {
      key.hi = 0;
      key.lo = ((Number) notNull(row.getField(columns.get(0)), 0)).longValue();
      return;
    }
    Hash128 h = key.hash;
    h.reset();
    for (int c = 0; c < fields.size(); c++) {
      put(h, fields.get(c).type(), notNull(row.getField(columns.get(c)), c));
    }
    split(h, key);
  }

  /**
   * Reads the key of {@code row} from the columns Iceberg's vectorized reader gave for the key
   * columns (in order), none null there, into {@code key}.
   */
  public void of(org.apache.iceberg.arrow.vectorized.ColumnVector[] columns, int row, Key key) {
    if (!wide) {
      key.hi = 0;
      key.lo = fields.get(0).type().typeId() == Type.TypeID.LONG
          ? columns[0].getLong(row) : columns[0].getInt(row);
      return;
    }
    Hash128 h = key.hash;
    h.reset();
    for (int c = 0; c < columns.length; c++) {
      switch (fields.get(c).type().typeId()) {
        case INTEGER, DATE -> h.putLong(columns[c].getInt(row));
        case LONG, TIMESTAMP -> h.putLong(columns[c].getLong(row));
        case STRING -> {
          if (columns[c].getFieldVector() instanceof VarCharVector v) { // not dictionary ids
            utf8(h, v, row);
          } else {
            bytes(h, columns[c].getString(row).getBytes(StandardCharsets.UTF_8));
          }
        }
        default -> bytes(h, columns[c].getBinary(row)); // uuid, fixed, binary
      }
    }
    split(h, key);
  }

  private Object notNull(Object value, int column) {
    if (value == null) {
      throw new IllegalArgumentException("Cannot upsert into table " + tableName
          + ": key column '" + columns.get(column) + "' is null");
    }
    return value;
  }

  private static void put(Hash128 h, Type type, Object value) {
    switch (type.typeId()) {
      case INTEGER, LONG -> h.putLong(((Number) value).longValue());
      case DATE -> h.putLong(value instanceof LocalDate d ? d.toEpochDay()
          : ((Number) value).longValue());
      case TIMESTAMP -> h.putLong(value instanceof LocalDateTime t
          ? DateTimeUtil.microsFromTimestamp(t)
          : value instanceof OffsetDateTime t ? DateTimeUtil.microsFromTimestamptz(t)
          : ((Number) value).longValue());
      case STRING -> bytes(h, value.toString().getBytes(StandardCharsets.UTF_8));
      case UUID -> {
        if (value instanceof UUID u) { // its 16 bytes, big-endian, as Arrow holds them
          bytes(h, ByteBuffer.allocate(16).putLong(u.getMostSignificantBits())
              .putLong(u.getLeastSignificantBits()).array());
        } else {
          bytes(h, asBytes(value));
        }
      }
      default -> bytes(h, asBytes(value)); // fixed, binary
    }
  }

  private static byte[] asBytes(Object value) {
    if (value instanceof byte[] b) {
      return b;
    }
    ByteBuffer buffer = ((ByteBuffer) value).duplicate();
    byte[] b = new byte[buffer.remaining()];
    buffer.get(b);
    return b;
  }

  private static void bytes(Hash128 h, byte[] bytes) {
    h.putSized(bytes);
  }

  /** Puts the bytes of a string as {@link #bytes} would, straight from the vector's buffer. */
  private static void utf8(Hash128 h, VarCharVector v, int row) {
    long start = v.getStartOffset(row);
    h.putSized(v.getDataBuffer(), start, (int) (v.getEndOffset(row) - start));
  }

  private static void split(Hash128 h, Key key) {
    h.finish();
    key.hi = h.h1;
    key.lo = h.h2;
  }

  /**
   * The keys of an Arrow batch, read from its key columns' vectors (by name).
   *
   * @param vectors the batch's vectors, looked up by the key columns' names
   * @return null when a key column's vector is missing or of a kind not read here (a dictionary,
   *     other time units, views): such batches go through records
   */
  public ArrowKeys arrow(java.util.function.Function<String, FieldVector> vectors) {
    FieldVector[] keyVectors = new FieldVector[columns.size()];
    for (int c = 0; c < keyVectors.length; c++) {
      FieldVector v = vectors.apply(columns.get(c));
      if (v == null || !readable(c, v.getField())) {
        return null;
      }
      keyVectors[c] = v instanceof ExtensionTypeVector<?> e
          ? (FieldVector) e.getUnderlyingVector() : v;
    }
    return new ArrowKeys(keyVectors);
  }

  /**
   * Why batches of {@code schema} cannot have their keys read from their vectors, naming the
   * column, or null when they can ({@link #arrow} then reads them).
   */
  public String arrowUnsupported(org.apache.arrow.vector.types.pojo.Schema schema) {
    for (int c = 0; c < columns.size(); c++) {
      String column = columns.get(c);
      org.apache.arrow.vector.types.pojo.Field f = schema.getFields().stream()
          .filter(x -> x.getName().equals(column)).findFirst().orElse(null);
      if (f == null) {
        return "key column '" + column + "' of the batch is missing";
      }
      if (!readable(c, f)) {
        return "key column '" + column + "' of the batch is " + f.getType()
            + (f.getDictionary() != null ? " (dictionary-encoded)" : "")
            + ", which the key index does not read from vectors";
      }
    }
    return null;
  }

  /**
   * Whether key column {@code c} can be read from a vector of {@code field}: one of the Arrow
   * types (an extension type by its storage type) {@link ArrowKeys#read} takes, not a dictionary.
   */
  private boolean readable(int c, org.apache.arrow.vector.types.pojo.Field field) {
    ArrowType type = field.getType();
    if (type instanceof ArrowType.ExtensionType e) {
      type = e.storageType();
    }
    return field.getDictionary() == null && switch (fields.get(c).type().typeId()) {
      case INTEGER, LONG -> type instanceof ArrowType.Int;
      case DATE -> type instanceof ArrowType.Date;
      case TIMESTAMP -> type instanceof ArrowType.Timestamp t
          && t.getUnit() != TimeUnit.NANOSECOND;
      case STRING -> type instanceof ArrowType.Utf8 || type instanceof ArrowType.LargeUtf8;
      case UUID, FIXED -> type instanceof ArrowType.FixedSizeBinary;
      case BINARY -> type instanceof ArrowType.Binary || type instanceof ArrowType.LargeBinary
          || type instanceof ArrowType.FixedSizeBinary;
      default -> false;
    };
  }

  /** The keys of one Arrow batch. Belongs to one thread; holds no buffer of its own. */
  public final class ArrowKeys {
    private final FieldVector[] vectors;
    private final long[] microsPer; // of each timestamp column: microseconds per unit

    private ArrowKeys(FieldVector[] vectors) {
      this.vectors = vectors;
      this.microsPer = new long[vectors.length];
      for (int c = 0; c < vectors.length; c++) {
        if (vectors[c] instanceof TimeStampVector t) {
          microsPer[c] = switch (((ArrowType.Timestamp) t.getField().getType()).getUnit()) {
            case SECOND -> 1_000_000L;
            case MILLISECOND -> 1_000L;
            default -> 1L;
          };
        }
      }
    }

    /** Whether the key of {@code row} has a null column. */
    public boolean isNull(int row) {
      for (FieldVector v : vectors) {
        if (v.isNull(row)) {
          return true;
        }
      }
      return false;
    }

    /** The name of the first key column null in {@code row}, or null. */
    public String nullColumn(int row) {
      for (int c = 0; c < vectors.length; c++) {
        if (vectors[c].isNull(row)) {
          return columns.get(c);
        }
      }
      return null;
    }

    /** Reads the key of {@code row} (no column null) into {@code key}. */
    public void read(int row, Key key) {
      if (!wide) {
        key.hi = 0;
        key.lo = ((BaseIntVector) vectors[0]).getValueAsLong(row);
        return;
      }
      Hash128 h = key.hash;
      h.reset();
      for (int c = 0; c < vectors.length; c++) {
        FieldVector v = vectors[c];
        if (v instanceof BaseIntVector i) {
          h.putLong(i.getValueAsLong(row));
        } else if (v instanceof DateMilliVector d) { // as the date the writer makes of it
          h.putLong(Math.floorDiv(d.get(row), MILLIS_PER_DAY));
        } else if (v instanceof DateDayVector d) {
          h.putLong(d.get(row));
        } else if (v instanceof TimeStampVector t) { // in microseconds, as the writer writes it
          h.putLong(t.get(row) * microsPer[c]);
        } else if (v instanceof VarCharVector s) {
          utf8(h, s, row);
        } else if (v instanceof LargeVarCharVector s) {
          bytes(h, s.get(row));
        } else if (v instanceof VarBinaryVector b) {
          bytes(h, b.get(row));
        } else if (v instanceof LargeVarBinaryVector b) {
          bytes(h, b.get(row));
        } else {
          bytes(h, ((FixedSizeBinaryVector) v).get(row));
        }
      }
      split(h, key);
    }
  }
}
