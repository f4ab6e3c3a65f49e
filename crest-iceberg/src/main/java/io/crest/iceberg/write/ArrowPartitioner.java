package io.crest.iceberg.write;

import java.util.Arrays;
import io.crest.iceberg.write.PartitionEvaluators.Evaluator;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.iceberg.PartitionField;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.types.Types;

/**
 * Groups the rows of an Arrow batch by their partition under an Iceberg {@link PartitionSpec},
 * evaluating the spec's transforms ({@code identity}, {@code bucket[N]}, {@code truncate[W]},
 * {@code year}, {@code month}, {@code day}, {@code hour}, {@code void}) on the vectors with
 * Iceberg's semantics, without an object per row: each field becomes a {@code long} per row (a
 * transform result, or a hash of a string or binary value that is compared byte by byte), and a
 * hash table over those assigns each row the ordinal of its partition. The partition tuple itself
 * is computed once per partition, by the caller, from a {@link #representative} row.
 *
 * <p>Supports partition source columns at the top level of these Iceberg types, read from the
 * Arrow vectors the sink maps to them: int, long, date, time, timestamp and timestamptz (not
 * nanosecond precision), boolean, float, double (identity only), string, binary and fixed.
 * {@link #create} names what else it meets; the sink then writes through Iceberg's generic path.
 *
 * <p>Not thread-safe; the results of {@link #partition} are valid until its next call.
 */
public final class ArrowPartitioner {

  private final Evaluator[] fields;
  private long[][] values = new long[0][];
  private boolean[][] nulls = new boolean[0][];
  private int[] rowPartition = new int[0];
  private int[] representatives = new int[16];
  private int[] slots = new int[64]; // partition ordinal + 1; 0 is empty
  private int[] order = new int[0];
  private int[] starts = new int[17];
  private int partitions;
  private boolean clustered;

  private ArrowPartitioner(Evaluator[] fields) {
    this.fields = fields;
  }

  /**
   * A partitioner for {@code spec} of a table with {@code schema}, for batches with {@code
   * arrowSchema} (columns matched by name; a partition source column the batch lacks is null in
   * every row).
   *
   * @throws IllegalArgumentException naming the partition field and why, if a transform, source
   *     type or Arrow type is one this class does not evaluate
   */
  public static ArrowPartitioner create(
      org.apache.iceberg.Schema schema, PartitionSpec spec, Schema arrowSchema) {
    List<PartitionField> specFields = spec.fields();
    Evaluator[] evaluators = new Evaluator[specFields.size()];
    for (int i = 0; i < evaluators.length; i++) {
      PartitionField pf = specFields.get(i);
      Types.NestedField source = schema.findField(pf.sourceId());
      String name = schema.findColumnName(pf.sourceId());
      if (source == null || !schema.columns().contains(source)) {
        throw new IllegalArgumentException("partition field " + pf.name()
            + " comes from a nested column (" + name + ")");
      }
      Field arrow = arrowSchema.getFields().stream()
          .filter(f -> f.getName().equals(source.name())).findFirst().orElse(null);
      evaluators[i] = PartitionEvaluators.evaluator(pf, source, arrow);
    }
    return new ArrowPartitioner(evaluators);
  }


  /**
   * Assigns every row of {@code batch} the ordinal of its partition, ordinals from 0 in the order
   * partitions first appear.
   *
   * @return the number of distinct partitions in the batch
   */
  public int partition(VectorSchemaRoot batch) {
    int rows = batch.getRowCount();
    if (values.length != fields.length || (fields.length > 0 && values[0].length < rows)) {
      values = new long[fields.length][rows];
      nulls = new boolean[fields.length][rows];
    }
    if (rowPartition.length < rows) {
      rowPartition = new int[rows];
      order = new int[rows];
    }
    for (int f = 0; f < fields.length; f++) {
      fields[f].eval(batch.getVector(fields[f].column), rows, values[f], nulls[f]);
    }
    Arrays.fill(slots, 0);
    partitions = 0;
    clustered = true;
    int mask = slots.length - 1;
    for (int row = 0; row < rows; row++) {
      int h = hash(row);
      int slot = h & mask;
      int found = -1;
      while (slots[slot] != 0) {
        int p = slots[slot] - 1;
        if (same(representatives[p], row)) {
          found = p;
          break;
        }
        slot = (slot + 1) & mask;
      }
      if (found < 0) {
        found = partitions++;
        if (found == representatives.length) {
          representatives = Arrays.copyOf(representatives, found * 2);
        }
        representatives[found] = row;
        slots[slot] = found + 1;
        if (partitions * 2 > slots.length) {
          rehash(slots.length * 2);
          mask = slots.length - 1;
        }
      }
      if (row > 0 && found < rowPartition[row - 1]) {
        clustered = false;
      }
      rowPartition[row] = found;
    }
    groupRows(rows);
    return partitions;
  }

  /** The ordinal of the partition of {@code row} in the last batch. */
  public int partitionOf(int row) {
    return rowPartition[row];
  }

  /** The first row of partition {@code ordinal} in the last batch. */
  public int representative(int ordinal) {
    return representatives[ordinal];
  }

  /**
   * The rows of the last batch grouped by partition, in row order within each: the rows of
   * partition {@code p} are {@code rowOrder()[start(p)]} up to, excluding, {@code
   * rowOrder()[start(p + 1)]}.
   */
  public int[] rowOrder() {
    return order;
  }

  /** Where partition {@code ordinal} starts in {@link #rowOrder()}; {@code start(count)} ends. */
  public int start(int ordinal) {
    return starts[ordinal];
  }

  /** Whether the rows of each partition of the last batch were contiguous in the batch. */
  public boolean contiguous() {
    return clustered;
  }

  private void groupRows(int rows) {
    if (starts.length < partitions + 1) {
      starts = new int[partitions + 1];
    }
    Arrays.fill(starts, 0, partitions + 1, 0);
    for (int row = 0; row < rows; row++) {
      starts[rowPartition[row] + 1]++;
    }
    for (int p = 0; p < partitions; p++) {
      starts[p + 1] += starts[p];
    }
    // starts[p] is used as the fill cursor, then shifted back
    for (int row = 0; row < rows; row++) {
      order[starts[rowPartition[row]]++] = row;
    }
    for (int p = partitions; p > 0; p--) {
      starts[p] = starts[p - 1];
    }
    starts[0] = 0;
  }

  private void rehash(int size) {
    slots = new int[size];
    int mask = size - 1;
    for (int p = 0; p < partitions; p++) {
      int slot = hash(representatives[p]) & mask;
      while (slots[slot] != 0) {
        slot = (slot + 1) & mask;
      }
      slots[slot] = p + 1;
    }
  }

  private int hash(int row) {
    long h = 0x9E3779B97F4A7C15L;
    for (int f = 0; f < fields.length; f++) {
      long v = nulls[f][row] ? 0x5851F42D4C957F2DL : values[f][row];
      h = (h ^ v) * 0xBF58476D1CE4E5B9L;
      h ^= h >>> 31;
    }
    return (int) (h ^ (h >>> 32));
  }

  private boolean same(int a, int b) {
    for (int f = 0; f < fields.length; f++) {
      boolean nullA = nulls[f][a];
      if (nullA != nulls[f][b]) {
        return false;
      }
      if (!nullA && (values[f][a] != values[f][b] || !fields[f].sameBytes(a, b))) {
        return false;
      }
    }
    return true;
  }
}
