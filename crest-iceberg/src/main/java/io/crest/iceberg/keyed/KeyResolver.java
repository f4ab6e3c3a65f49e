package io.crest.iceberg.keyed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import io.crest.iceberg.maintenance.TaskWithoutDeletes;
import org.apache.iceberg.BaseCombinedScanTask;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.arrow.vectorized.ArrowReader;
import org.apache.iceberg.arrow.vectorized.ColumnVector;
import org.apache.iceberg.arrow.vectorized.ColumnarBatch;
import org.apache.iceberg.data.BaseDeleteLoader;
import org.apache.iceberg.deletes.PositionDeleteIndex;
import org.apache.iceberg.io.CloseableIterator;
import org.apache.iceberg.MetadataColumns;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericDeleteFilter;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.expressions.Expressions;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.PartitionUtil;

/**
 * Resolves keys the index does not hold from the table itself: which live rows of a snapshot carry
 * them, as (data file, row position). Data files whose key column bounds hold none of the keys
 * are skipped without being opened; the others are read through Iceberg's own readers, key column
 * and row position only, with the deletes that apply to them (position deletes, deletion vectors,
 * equality deletes), so only live rows are found. A key found nowhere is proven absent. A file
 * holding few of the keys within its bounds has its row groups pruned first by the key column's
 * statistics, dictionary and Parquet bloom filter (the columnar writer writes one on the key
 * columns of tables created for upserts), and the survivors read record by record; a file with
 * many is read whole by Iceberg's vectorized Arrow reader (Parquet without equality deletes) or
 * record by record.
 *
 * <p>Stateless and thread-safe as far as the {@link Table} passed in is.
 */
public final class KeyResolver {

  private static final int BATCH_ROWS = 8_192;
  /**
   * Up to this many keys within a file's bounds, its row groups are pruned by the key column's
   * statistics, dictionary and bloom filter before the survivors are read record by record; more
   * keys rarely leave a row group to skip, and the file's key column is read whole, vectorized.
   */
  private static final int PRUNED_LOOKUP_KEYS = 1_000;

  /**
   * A live row of a key: the key as {@link KeyCodec} reads it ({@code hi} 0 and {@code lo} the
   * value for a narrow key), the data file and the row's position in it.
   */
  public record Row(long hi, long lo, String file, long position) {
    /** The key of a narrow (int or long) key column. */
    public long key() {
      return lo;
    }
  }

  private KeyResolver() {}

  /**
   * The live rows of snapshot {@code snapshotId} whose {@code keyColumn} (a long or int column)
   * holds one of {@code keys}. A key may have several rows in a table another writer made; all are
   * returned.
   *
   * @param keys the keys to look for, sorted ascending and without duplicates
   * @throws IllegalArgumentException if the key column is missing or not a long or int column
   * @throws UnsupportedOperationException if a candidate data file is not Parquet
   */
  public static List<Row> resolve(Table table, Long snapshotId, String keyColumn, long[] keys) {
    if (snapshotId == null || keys.length == 0) {
      return new ArrayList<>();
    }
    keyField(table, keyColumn);
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshotId).includeColumnStats().planFiles()) {
      return resolve(table, tasks, keyColumn, keys);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot resolve keys in table " + table.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * As {@link #resolve(Table, Long, String, long[])}, among the data files of {@code tasks} (the
   * planned files of one snapshot, with their deletes and the key column's statistics).
   */
  public static List<Row> resolve(Table table, Iterable<FileScanTask> tasks, String keyColumn,
      long[] keys) {
    List<Row> rows = new ArrayList<>();
    if (keys.length == 0) {
      return rows;
    }
    Types.NestedField field = keyField(table, keyColumn);
    Schema requested = new Schema(field, MetadataColumns.ROW_POSITION);
    LongLongMap wanted = new LongLongMap(keys.length); // for the vectorized reads, built once
    for (long key : keys) {
      wanted.put(key, 0);
    }
    try {
      for (FileScanTask task : tasks) {
        if (mayHold(task, field, keys)) {
          read(table, task, requested, field, keys, wanted, rows::add);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot resolve keys in table " + table.name() + ": " + e.getMessage(), e);
    }
    return rows;
  }

  /**
   * Every live row of snapshot {@code snapshotId}, as key and location, handed to {@code rows}
   * one by one: what a key index is filled with when it starts.
   *
   * @throws IllegalArgumentException if the key column is missing or not a long or int column
   */
  public static void all(Table table, Long snapshotId, String keyColumn,
      java.util.function.Consumer<Row> rows) {
    if (snapshotId == null) {
      return;
    }
    keyField(table, keyColumn);
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshotId).planFiles()) {
      all(table, tasks, keyColumn, rows);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the keys of table " + table.name() + ": " + e.getMessage(), e);
    }
  }

  /** As {@link #all(Table, Long, String, java.util.function.Consumer)}, for planned files. */
  public static void all(Table table, Iterable<FileScanTask> tasks, String keyColumn,
      java.util.function.Consumer<Row> rows) {
    Types.NestedField field = keyField(table, keyColumn);
    Schema requested = new Schema(field, MetadataColumns.ROW_POSITION);
    try {
      for (FileScanTask task : tasks) {
        read(table, task, requested, field, null, null, rows);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the keys of table " + table.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * The live rows among the data files of {@code tasks} whose key {@code wanted} holds (a map of
   * keys as wide as {@code codec}'s; its values do not matter).
   */
  static List<Row> resolve(Table table, Iterable<FileScanTask> tasks, KeyCodec codec,
      LongLongMap wanted) {
    if (!codec.wide()) {
      return resolve(table, tasks, codec.columns().get(0), wanted.sortedKeys());
    }
    List<Row> rows = new ArrayList<>();
    if (wanted.isEmpty()) {
      return rows;
    }
    try {
      for (FileScanTask task : tasks) {
        readWide(table, task, codec, wanted, rows::add);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot resolve keys in table " + table.name() + ": " + e.getMessage(), e);
    }
    return rows;
  }

  /**
   * As {@link #resolve(Table, Iterable, KeyCodec, LongLongMap)}, in snapshot {@code snapshotId}.
   */
  static List<Row> resolve(Table table, Long snapshotId, KeyCodec codec, LongLongMap wanted) {
    if (snapshotId == null || wanted.isEmpty()) {
      return new ArrayList<>();
    }
    try (CloseableIterable<FileScanTask> tasks =
        table.newScan().useSnapshot(snapshotId).includeColumnStats().planFiles()) {
      return resolve(table, tasks, codec, wanted);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot resolve keys in table " + table.name() + ": " + e.getMessage(), e);
    }
  }

  /** Every live row of the data files of {@code tasks}, as key and location. */
  static void all(Table table, Iterable<FileScanTask> tasks, KeyCodec codec,
      java.util.function.Consumer<Row> rows) {
    if (!codec.wide()) {
      all(table, tasks, codec.columns().get(0), rows);
      return;
    }
    try {
      for (FileScanTask task : tasks) {
        readWide(table, task, codec, null, rows);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the keys of table " + table.name() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Reads the live rows of one data file, key columns and row position, through Iceberg's
   * generic reader with every delete applied; only those whose hashed key {@code wanted} holds,
   * or all if it is null. Hashed keys have no order, so no file or row group is pruned.
   */
  private static void readWide(Table table, FileScanTask task, KeyCodec codec,
      LongLongMap wanted, java.util.function.Consumer<Row> rows) throws IOException {
    checkParquet(table, task);
    boolean equality = task.deletes().stream()
        .anyMatch(d -> d.content() == FileContent.EQUALITY_DELETES);
    if (!equality && task.start() == 0) {
      readWideVectorized(table, task, codec, wanted, rows);
      return;
    }
    List<Types.NestedField> columns = new ArrayList<>(codec.fields());
    columns.add(MetadataColumns.ROW_POSITION);
    String location = task.file().location();
    KeyCodec.Key key = new KeyCodec.Key();
    try (CloseableIterable<Record> records =
        liveRecords(table, task, new Schema(columns), null)) {
      for (Record record : records) {
        if (hasNull(record, codec)) {
          continue; // written by another engine without the key: no key to find
        }
        codec.of(record, key);
        if (wanted == null || wanted.containsKey(key.hi, key.lo)) {
          long position = (Long) record.getField(MetadataColumns.ROW_POSITION.name());
          rows.accept(new Row(key.hi, key.lo, location, position));
        }
      }
    }
  }

  private static void checkParquet(Table table, FileScanTask task) {
    if (task.file().format() != FileFormat.PARQUET) {
      throw new UnsupportedOperationException("Cannot resolve keys in " + task.file().location()
          + " of table " + table.name() + ": it is " + task.file().format() + ", not Parquet");
    }
  }

  /**
   * The live rows of a Parquet data file, the columns of {@code requested}, through Iceberg's
   * generic reader with every delete that applies to it; row groups {@code filter} (if not null)
   * rules out are skipped.
   */
  private static CloseableIterable<Record> liveRecords(Table table, FileScanTask task,
      Schema requested, org.apache.iceberg.expressions.Expression filter) {
    GenericDeleteFilter deletes =
        new GenericDeleteFilter(table.io(), task, table.schema(), requested);
    Schema read = deletes.requiredSchema();
    Parquet.ReadBuilder builder = Parquet.read(table.io().newInputFile(task.file().location()))
        .project(read)
        .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(
            read, fileSchema, PartitionUtil.constantsMap(task)));
    if (filter != null) {
      builder.filter(filter);
    }
    return deletes.filter(builder.build());
  }

  /**
   * The key columns of one whole Parquet file in Arrow batches (Iceberg's vectorized reader), rows
   * at deleted positions and rows with a null key column left out, each row's key hashed.
   */
  private static void readWideVectorized(Table table, FileScanTask task, KeyCodec codec,
      LongLongMap wanted, java.util.function.Consumer<Row> rows) throws IOException {
    String location = task.file().location();
    PositionDeleteIndex deleted = positionDeletes(table, task);
    boolean anyDeleted = deleted.isNotEmpty(); // a cardinality count: once, not per row
    int keyColumns = codec.fields().size();
    ColumnVector[] columns = new ColumnVector[keyColumns];
    KeyCodec.Key key = new KeyCodec.Key();
    long position = 0;
    try (ArrowReader reader = new ArrowReader(
            table.newScan().project(new Schema(codec.fields())), BATCH_ROWS, false);
        CloseableIterator<ColumnarBatch> batches = reader.open(CloseableIterable.withNoopClose(
            List.of(new BaseCombinedScanTask(List.of(new TaskWithoutDeletes(task))))))) {
      while (batches.hasNext()) {
        ColumnarBatch batch = batches.next();
        int n = batch.numRows();
        for (int c = 0; c < keyColumns; c++) {
          columns[c] = batch.column(c);
        }
        rows:
        for (int i = 0; i < n; i++) {
          long pos = position + i;
          if (anyDeleted && deleted.isDeleted(pos)) {
            continue;
          }
          for (ColumnVector column : columns) {
            if (column.isNullAt(i)) {
              continue rows; // written by another engine without the key: no key to find
            }
          }
          codec.of(columns, i, key);
          if (wanted == null || wanted.containsKey(key.hi, key.lo)) {
            rows.accept(new Row(key.hi, key.lo, location, pos));
          }
        }
        position += n;
      }
    }
  }

  /** The rows the position deletes (vectors or files) of the task's data file delete. */
  private static PositionDeleteIndex positionDeletes(Table table, FileScanTask task) {
    List<DeleteFile> positional = task.deletes();
    return positional.isEmpty() ? PositionDeleteIndex.empty()
        : new BaseDeleteLoader(d -> table.io().newInputFile(d.location()))
            .loadPositionDeletes(positional, task.file().location());
  }

  private static boolean hasNull(Record record, KeyCodec codec) {
    for (String column : codec.columns()) {
      if (record.getField(column) == null) {
        return true;
      }
    }
    return false;
  }

  private static Types.NestedField keyField(Table table, String keyColumn) {
    Types.NestedField field = table.schema().findField(keyColumn);
    if (field == null || (field.type().typeId() != Type.TypeID.LONG
        && field.type().typeId() != Type.TypeID.INTEGER)) {
      throw new IllegalArgumentException("Cannot resolve keys of table " + table.name()
          + " by column '" + keyColumn + "': it is " + (field == null ? "missing"
              : "of type " + field.type()) + " (long or int key columns only)");
    }
    return field;
  }

  /** Whether the file's bounds of the key column leave room for one of the keys. */
  private static boolean mayHold(FileScanTask task, Types.NestedField field, long[] keys) {
    int[] range = within(task, field, keys);
    return range[0] < range[1];
  }

  /** The keys within the file's bounds of the key column: from {@code [0]} to before {@code [1]}. */
  private static int[] within(FileScanTask task, Types.NestedField field, long[] keys) {
    ByteBuffer lower = task.file().lowerBounds() == null ? null
        : task.file().lowerBounds().get(field.fieldId());
    ByteBuffer upper = task.file().upperBounds() == null ? null
        : task.file().upperBounds().get(field.fieldId());
    long low = lower == null ? Long.MIN_VALUE : asLong(field.type(), lower);
    long high = upper == null ? Long.MAX_VALUE : asLong(field.type(), upper);
    int i = Arrays.binarySearch(keys, low);
    int j = Arrays.binarySearch(keys, high);
    return new int[] {i >= 0 ? i : -i - 1, j >= 0 ? j + 1 : -j - 1};
  }

  private static long asLong(Type type, ByteBuffer bound) {
    Object value = Conversions.fromByteBuffer(type, bound);
    return ((Number) value).longValue();
  }

  /**
   * Reads the live rows of one data file; only those of {@code keys} (also held in {@code
   * wanted}), or all if both are null. A
   * Parquet file without equality deletes is read by Iceberg's vectorized Arrow reader, key column
   * only, its position deletes applied as a row filter; any other goes through Iceberg's generic
   * reader with every delete applied.
   */
  private static void read(Table table, FileScanTask task, Schema requested,
      Types.NestedField field, long[] keys, LongLongMap wanted,
      java.util.function.Consumer<Row> rows)
      throws IOException {
    checkParquet(table, task);
    boolean equality = task.deletes().stream()
        .anyMatch(d -> d.content() == FileContent.EQUALITY_DELETES);
    List<Long> few = keys == null ? null : keysWithin(task, field, keys, PRUNED_LOOKUP_KEYS);
    if (!equality && task.start() == 0 && few == null) {
      readVectorized(table, task, field, wanted, rows);
      return;
    }
    String location = task.file().location();
    // Row groups whose statistics, dictionary or bloom filter rule out every key are skipped.
    try (CloseableIterable<Record> records = liveRecords(table, task, requested,
        few == null ? null : Expressions.in(field.name(), few))) {
      for (Record record : records) {
        Object value = record.getField(field.name());
        if (value == null) {
          continue;
        }
        long key = ((Number) value).longValue();
        if (keys == null || Arrays.binarySearch(keys, key) >= 0) {
          long position = (Long) record.getField(MetadataColumns.ROW_POSITION.name());
          rows.accept(new Row(0, key, location, position));
        }
      }
    }
  }

  /**
   * The keys within the file's bounds of the key column, when there are at most {@code limit} of
   * them (a lookup of so few keys is worth pruning row groups by); null when there are more.
   */
  private static List<Long> keysWithin(FileScanTask task, Types.NestedField field, long[] keys,
      int limit) {
    int[] range = within(task, field, keys);
    int first = range[0];
    int end = range[1];
    if (end - first > limit) {
      return null;
    }
    List<Long> within = new ArrayList<>(Math.max(0, end - first));
    for (int k = first; k < end; k++) {
      within.add(keys[k]);
    }
    return within;
  }

  /** The key column of one whole Parquet file in Arrow batches, rows at deleted positions left out. */
  private static void readVectorized(Table table, FileScanTask task, Types.NestedField field,
      LongLongMap wanted, java.util.function.Consumer<Row> rows) throws IOException {
    String location = task.file().location();
    PositionDeleteIndex deleted = positionDeletes(table, task);
    boolean isLong = field.type().typeId() == Type.TypeID.LONG;
    boolean anyDeleted = deleted.isNotEmpty(); // a cardinality count: once, not per row
    long position = 0;
    try (ArrowReader reader =
            new ArrowReader(table.newScan().project(new Schema(field)), BATCH_ROWS, false);
        CloseableIterator<ColumnarBatch> batches = reader.open(CloseableIterable.withNoopClose(
            List.of(new BaseCombinedScanTask(List.of(new TaskWithoutDeletes(task))))))) {
      while (batches.hasNext()) {
        ColumnarBatch batch = batches.next();
        int n = batch.numRows();
        ColumnVector column = batch.column(0);
        for (int i = 0; i < n; i++) {
          long pos = position + i;
          if (column.isNullAt(i) || (anyDeleted && deleted.isDeleted(pos))) {
            continue;
          }
          long key = isLong ? column.getLong(i) : column.getInt(i);
          if (wanted == null || wanted.containsKey(key)) {
            rows.accept(new Row(0, key, location, pos));
          }
        }
        position += n;
      }
    }
  }
}
