package io.crest.iceberg.write;

import java.util.List;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;

/** Moves rows of one batch into a scratch batch of the same schema. Stateless. */
final class BatchRows {
  private BatchRows() {}

  /** Rows {@code first} to {@code first + count} of {@code from} into {@code to}, zero-copy. */
  static void slice(VectorSchemaRoot from, VectorSchemaRoot to, int first, int count) {
    to.clear();
    List<FieldVector> sources = from.getFieldVectors();
    List<FieldVector> targets = to.getFieldVectors();
    for (int c = 0; c < sources.size(); c++) {
      sources.get(c).makeTransferPair(targets.get(c)).splitAndTransfer(first, count);
    }
    to.setRowCount(count);
  }

  /** Rows {@code rows[start]} to {@code rows[end - 1]} of {@code from}, copied into {@code to}. */
  static void copy(VectorSchemaRoot from, VectorSchemaRoot to, int[] rows, int start, int end) {
    to.clear();
    int count = end - start;
    List<FieldVector> sources = from.getFieldVectors();
    List<FieldVector> targets = to.getFieldVectors();
    for (int c = 0; c < sources.size(); c++) {
      FieldVector source = sources.get(c);
      FieldVector target = targets.get(c);
      target.setInitialCapacity(count);
      target.allocateNew();
      for (int i = 0; i < count; i++) {
        target.copyFromSafe(rows[start + i], i, source);
      }
    }
    to.setRowCount(count);
  }
}
