package io.crest.iceberg.maintenance;

import io.crest.iceberg.write.ArrowDataWriter;
import io.crest.iceberg.schema.IcebergArrowSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.TimeMicroVector;
import org.apache.arrow.vector.TimeStampVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.iceberg.BaseCombinedScanTask;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.FileScanTask;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableProperties;
import org.apache.iceberg.arrow.vectorized.ArrowReader;
import org.apache.iceberg.arrow.vectorized.ColumnVector;
import org.apache.iceberg.arrow.vectorized.ColumnarBatch;
import org.apache.iceberg.data.BaseDeleteLoader;
import org.apache.iceberg.data.DeleteLoader;
import org.apache.iceberg.deletes.PositionDeleteIndex;
import org.apache.iceberg.expressions.Expression;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.CloseableIterator;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.TypeUtil;
import org.apache.iceberg.types.Types;

/**
 * Rewrites the data files of one partition by reading them with Iceberg's vectorized {@link
 * ArrowReader} and writing the batches with Crest's columnar writer ({@link ArrowDataWriter}), in
 * the partition's own spec and the table's current schema. Position deletes and deletion vectors
 * are applied here, as a row filter on each batch (Iceberg's reader applies none); equality
 * deletes are not: {@link #unsupported} tells the caller which file groups must take another
 * path.
 *
 * <p>Memory: Iceberg's reader allocates its vectors from its own root allocator ({@code
 * ArrowAllocation.rootAllocator()}) and closes them itself; the vectors this class decodes
 * (dictionary-encoded columns, decimals) come from the allocator passed to {@link #rewrite}, and
 * are closed after each batch. Stateless and thread-safe.
 */
public final class ArrowCompaction {
  /** The column types Iceberg's Arrow reader reads and Crest's writer writes, at the top level. */
  private static final Set<Type.TypeID> READABLE = EnumSet.of(
      Type.TypeID.BOOLEAN, Type.TypeID.INTEGER, Type.TypeID.LONG, Type.TypeID.FLOAT,
      Type.TypeID.DOUBLE, Type.TypeID.STRING, Type.TypeID.BINARY, Type.TypeID.DATE,
      Type.TypeID.TIME, Type.TypeID.TIMESTAMP, Type.TypeID.DECIMAL);

  private static final int BATCH_ROWS = 4_096;

  private ArrowCompaction() {}

  /** Whether the row at a file position is deleted. */
  @FunctionalInterface
  private interface Deleted {
    boolean isDeleted(long position);
  }

  /** What a rewrite wrote. */
  public record Rewritten(List<DataFile> dataFiles, long rows) {}

  /**
   * Why the files of {@code tasks} cannot be rewritten here, or {@code null} if they can: an
   * equality delete file to apply, a file or table format other than Parquet, a column type
   * outside the reader's, or a {@code write.parquet.*} setting the columnar writer does not take
   * (a codec it lacks, a bloom filter on a boolean, floating-point or nested column; bloom
   * filters on other columns it writes). Position deletes and deletion vectors are applied here.
   */
  public static String unsupported(Table table, List<FileScanTask> tasks) {
    for (Types.NestedField f : table.schema().columns()) {
      if (!READABLE.contains(f.type().typeId())) {
        return "column " + f.name() + " has type " + f.type()
            + ", which the Arrow path of compaction does not read";
      }
    }
    String format = table.properties().getOrDefault(
        TableProperties.DEFAULT_FILE_FORMAT, TableProperties.DEFAULT_FILE_FORMAT_DEFAULT);
    if (FileFormat.fromString(format) != FileFormat.PARQUET) {
      return "the table writes " + format + " files";
    }
    try {
      ArrowDataWriter.Template.of(table); // the write.parquet.* settings the columnar writer takes
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    Set<String> equalityDeletes = new HashSet<>();
    for (FileScanTask task : tasks) {
      if (task.file().format() != FileFormat.PARQUET) {
        return "data file " + task.file().location() + " is " + task.file().format();
      }
      for (DeleteFile d : task.deletes()) {
        if (d.content() != FileContent.POSITION_DELETES) {
          equalityDeletes.add(d.location());
        }
      }
    }
    return equalityDeletes.isEmpty() ? null
        : equalityDeletes.size() + " equality delete files apply, which only the generic path"
            + " applies";
  }

  /**
   * Reads {@code tasks} (all of one partition of {@code spec}, with no equality deletes), drops
   * the rows their position deletes delete, and writes the others into new files rolled at the
   * table's target size.
   *
   * @param allocator the parent of the allocator for decoded vectors; borrowed
   * @throws UnsupportedOperationException if Iceberg's reader cannot read a file, or a file lacks
   *     a column that needs a default value; no new file is left behind then
   */
  public static Rewritten rewrite(Table table, PartitionSpec spec, StructLike partition,
      List<FileScanTask> tasks, BufferAllocator allocator) {
    return rewrite(table, spec, partition, tasks, allocator, null);
  }

  /**
   * What a keyed table's flush adds to a rewrite: rows it deletes beyond the files' committed
   * deletes, and who sees the rows written (to read their keys).
   *
   * @param deletedToo sorted positions to drop as well, by data file location
   * @param written takes every batch written, in the order of the rows in the files {@link
   *     Rewritten#dataFiles} lists (rolled one after another), while the rewrite still owns it:
   *     it must not keep the batch or its vectors
   */
  public record Keyed(Map<String, long[]> deletedToo, Consumer<VectorSchemaRoot> written) {}

  /**
   * As {@link #rewrite(Table, PartitionSpec, StructLike, List, BufferAllocator)}, also dropping
   * the rows {@code keyed} deletes and reporting the key of each row written (when not null).
   */
  public static Rewritten rewrite(Table table, PartitionSpec spec, StructLike partition,
      List<FileScanTask> tasks, BufferAllocator allocator, Keyed keyed) {
    Schema schema = table.schema();
    List<Field> fields = IcebergArrowSchema.toArrow(schema, table.name()).getFields();
    // Files written before a column was added lack it: read those with the columns they have.
    List<Set<Integer>> missing = new ArrayList<>();
    for (FileScanTask task : tasks) {
      missing.add(missingColumns(table, schema, task));
    }
    DeleteLoader deletes = new BaseDeleteLoader(d -> table.io().newInputFile(d.location()));
    long rows = 0;
    try (BufferAllocator decoded = allocator.newChildAllocator(
            "crest-compaction-" + table.name(), 0, Long.MAX_VALUE);
        ArrowDataWriter writer = ArrowDataWriter.open(table, spec, partition,
            ArrowDataWriter.fileFactory(table, 0, System.nanoTime()))) {
      for (int t = 0; t < tasks.size(); t++) {
        FileScanTask task = tasks.get(t);
        PositionDeleteIndex committed = task.deletes().isEmpty() ? PositionDeleteIndex.empty()
            : deletes.loadPositionDeletes(task.deletes(), task.file().location());
        long[] more = keyed == null ? null
            : keyed.deletedToo().get(task.file().location());
        Deleted deleted = null; // no row deleted
        if (more != null && more.length > 0) {
          deleted = pos -> committed.isDeleted(pos) || Arrays.binarySearch(more, pos) >= 0;
        } else if (committed.isNotEmpty()) {
          deleted = committed::isDeleted;
        }
        rows += copy(table, schema, fields, missing.get(t), task, deleted, writer, decoded,
            keyed);
      }
      return new Rewritten(writer.complete(), rows);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the data files of partition "
          + spec.partitionToPath(partition) + " of table " + table.name(), e);
    }
  }

  /**
   * Reads the file of {@code task}, which lacks the columns {@code missing}, into {@code writer},
   * without the rows at the positions {@code deleted} holds.
   */
  private static long copy(Table table, Schema schema, List<Field> fields, Set<Integer> missing,
      FileScanTask task, Deleted deleted, ArrowDataWriter writer,
      BufferAllocator decoded, Keyed keyed) throws IOException {
    if (deleted != null
        && (task.start() != 0 || task.length() != task.file().fileSizeInBytes())) {
      // Row positions are counted from the start of the file.
      throw new UnsupportedOperationException("the scan task of data file "
          + task.file().location() + " covers part of it only, and it has position deletes");
    }
    Schema projected = TypeUtil.selectNot(schema, missing);
    long rows = 0;
    long position = 0;
    try (ArrowReader reader =
            new ArrowReader(table.newScan().project(projected), BATCH_ROWS, false);
        CloseableIterator<ColumnarBatch> batches = reader.open(CloseableIterable.withNoopClose(
            List.of(new BaseCombinedScanTask(List.of(new TaskWithoutDeletes(task))))))) {
      while (batches.hasNext()) {
        ColumnarBatch batch = batches.next();
        int n = batch.numRows();
        List<FieldVector> owned = new ArrayList<>();
        try {
          List<FieldVector> vectors = new ArrayList<>();
          int read = 0;
          for (int i = 0; i < fields.size(); i++) {
            Types.NestedField column = schema.columns().get(i);
            vectors.add(missing.contains(column.fieldId())
                ? nulls(fields.get(i), n, decoded, owned)
                : column(batch.column(read++), n, column.type(), fields.get(i), decoded, owned));
          }
          int[] kept = kept(deleted, position, n);
          position += n;
          if (kept.length < n) {
            vectors = select(vectors, kept, decoded, owned);
          }
          if (kept.length > 0) {
            VectorSchemaRoot written = new VectorSchemaRoot(fields, vectors, kept.length);
            writer.write(written);
            rows += kept.length;
            if (keyed != null) {
              keyed.written().accept(written);
            }
          }
        } finally {
          owned.forEach(FieldVector::close);
        }
      }
    }
    return rows;
  }

  /** The rows of a batch of {@code n} rows from file position {@code first} not deleted. */
  private static int[] kept(Deleted deleted, long first, int n) {
    if (deleted == null) {
      return IntStream.range(0, n).toArray();
    }
    return IntStream.range(0, n).filter(row -> !deleted.isDeleted(first + row)).toArray();
  }

  /** Copies of {@code vectors} holding only the rows {@code rows}, added to {@code owned}. */
  private static List<FieldVector> select(List<FieldVector> vectors, int[] rows,
      BufferAllocator allocator, List<FieldVector> owned) {
    List<FieldVector> selected = new ArrayList<>();
    for (FieldVector vector : vectors) {
      FieldVector copy = allocate(vector.getField(), rows.length, allocator, owned);
      for (int i = 0; i < rows.length; i++) {
        copy.copyFromSafe(rows[i], i, vector);
      }
      copy.setValueCount(rows.length);
      selected.add(copy);
    }
    return selected;
  }

  /**
   * The ids of the top-level columns of {@code schema} that the task's file does not hold, read
   * from its footer.
   *
   * @throws UnsupportedOperationException if one of them is required or has a default value,
   *     which the generic path fills in
   */
  private static Set<Integer> missingColumns(Table table, Schema schema, FileScanTask task) {
    Set<Integer> present;
    try {
      present = ParquetFooters.topLevelFieldIds(table.io().newInputFile(task.file().location()));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read the footer of data file "
          + task.file().location() + " of table " + table.name(), e);
    }
    Set<Integer> missing = new LinkedHashSet<>();
    for (Types.NestedField f : schema.columns()) {
      if (!present.contains(f.fieldId())) {
        if (f.isRequired() || f.initialDefault() != null) {
          throw new UnsupportedOperationException("data file " + task.file().location()
              + " lacks column " + f.name() + ", which has to be filled with a default");
        }
        missing.add(f.fieldId());
      }
    }
    return missing;
  }

  private static FieldVector nulls(Field expected, int rows, BufferAllocator allocator,
      List<FieldVector> owned) {
    FieldVector vector = allocate(expected, rows, allocator, owned);
    vector.setValueCount(rows); // a new vector's validity bits are all clear: every value null
    return vector;
  }

  /** A new empty vector of {@code field} with room for {@code rows}, added to {@code owned}. */
  private static FieldVector allocate(Field field, int rows, BufferAllocator allocator,
      List<FieldVector> owned) {
    FieldVector vector = field.createVector(allocator);
    owned.add(vector);
    vector.setInitialCapacity(rows);
    vector.allocateNew();
    return vector;
  }

  /**
   * The vector to write for one column of a batch: the reader's own when it holds the values in
   * the type the writer expects, else a copy decoded through the reader's accessors (which
   * resolve dictionary ids) into {@code allocator}, added to {@code owned}.
   */
  private static FieldVector column(ColumnVector column, int rows, Type type, Field expected,
      BufferAllocator allocator, List<FieldVector> owned) {
    switch (type.typeId()) {
      case INTEGER:
      case DECIMAL:
        // A dictionary-encoded int column comes back as an int vector of dictionary ids, and a
        // dictionary-encoded decimal as a new vector nobody closes: always decode these two.
        break;
      default:
        FieldVector vector = column.getFieldVector();
        if (vector.getField().getType().equals(expected.getType())) {
          return vector;
        }
    }
    FieldVector copy = allocate(expected, rows, allocator, owned);
    for (int row = 0; row < rows; row++) {
      if (column.isNullAt(row)) {
        copy.setNull(row);
      } else {
        set(copy, row, column, type);
      }
    }
    copy.setValueCount(rows);
    return copy;
  }

  private static void set(FieldVector copy, int row, ColumnVector column, Type type) {
    switch (type.typeId()) {
      case BOOLEAN:
        ((BitVector) copy).setSafe(row, column.getBoolean(row) ? 1 : 0);
        break;
      case INTEGER:
        ((IntVector) copy).setSafe(row, column.getInt(row));
        break;
      case DATE:
        ((DateDayVector) copy).setSafe(row, column.getInt(row));
        break;
      case LONG:
        ((BigIntVector) copy).setSafe(row, column.getLong(row));
        break;
      case TIME:
        ((TimeMicroVector) copy).setSafe(row, column.getLong(row));
        break;
      case TIMESTAMP:
        ((TimeStampVector) copy).setSafe(row, column.getLong(row));
        break;
      case FLOAT:
        ((Float4Vector) copy).setSafe(row, column.getFloat(row));
        break;
      case DOUBLE:
        ((Float8Vector) copy).setSafe(row, column.getDouble(row));
        break;
      case STRING:
        ((VarCharVector) copy).setSafe(row, column.getString(row).getBytes(StandardCharsets.UTF_8));
        break;
      case BINARY:
        ((VarBinaryVector) copy).setSafe(row, column.getBinary(row));
        break;
      case DECIMAL:
        Types.DecimalType decimal = (Types.DecimalType) type;
        ((DecimalVector) copy).setSafe(
            row, column.getDecimal(row, decimal.precision(), decimal.scale()));
        break;
      default:
        throw new UnsupportedOperationException(
            "Cannot decode column " + copy.getName() + " of type " + type);
    }
  }
}
