package io.crest.writer.internal;

import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.parquet.format.SchemaElement;

/**
 * What a Parquet writer builds from its schema and settings: the column tree, the Parquet schema,
 * one {@link Leaf} encoder per leaf column (with the page, chunk and dictionary buffers it grew)
 * and the page compressor. A writer that finished cleanly hands them to the next writer of the
 * same schema and settings through an {@link EncoderCache}, so that a pipeline writing a file per
 * commit does not grow a row group's worth of buffers again each time. Used by one writer at a
 * time; the cache's lock publishes it between threads.
 */
final class Encoders implements AutoCloseable {
  final Schema schema;
  final Settings settings;
  final Node[] top;
  final Node[][] paths;
  final int[][] leafOfTop;
  final List<SchemaElement> schemaElements;
  /** Null for a writer that only checks schemas. */
  final Leaf[] leaves;
  final PageCompressor compressor;

  /**
   * Builds the encoders of {@code schema}; without {@code leaves}, only what checking an input
   * schema needs.
   *
   * @throws IllegalArgumentException if a field of the schema cannot be written
   */
  Encoders(Schema schema, Settings settings, boolean leaves) {
    this.schema = schema;
    this.settings = settings;
    List<Field> fields = schema.getFields();
    this.top = new Node[fields.size()];
    List<Node[]> pathList = new ArrayList<>();
    this.leafOfTop = new int[fields.size()][];
    for (int i = 0; i < top.length; i++) {
      top[i] = Node.of(fields.get(i), null, 0, 0);
      int before = pathList.size();
      top[i].leaves(List.of(), pathList);
      leafOfTop[i] = new int[pathList.size() - before];
      for (int k = 0; k < leafOfTop[i].length; k++) {
        leafOfTop[i][k] = before + k;
      }
    }
    this.paths = pathList.toArray(new Node[0][]);
    checkBloomColumns(settings);
    this.schemaElements = new ArrayList<>();
    SchemaElement root = new SchemaElement("table");
    root.setNum_children(top.length);
    schemaElements.add(root);
    for (Node n : top) {
      n.schemaElements(schemaElements);
    }
    if (!leaves) {
      this.compressor = null;
      this.leaves = null;
      return;
    }
    this.compressor = new PageCompressor(settings.codec,
        settings.codec == io.crest.writer.ParquetCodec.ZSTD && settings.level == Integer.MIN_VALUE
            ? 3 : settings.level);
    this.leaves = new Leaf[paths.length];
    for (int k = 0; k < paths.length; k++) {
      this.leaves[k] = new Leaf(paths[k], settings, compressor, settings.target);
    }
  }

  /**
   * Checks that each column given a bloom filter is a top-level column of a type the filter
   * takes: int32 and int64 (ints, longs, dates, times, timestamps, small decimals), byte arrays
   * (strings, binary) and fixed-length arrays (uuids, fixed, decimals). Booleans have two values;
   * floating-point equality does not follow the bits (0.0 equals -0.0), so a filter could rule
   * out a value that is there.
   */
  private void checkBloomColumns(Settings settings) {
    for (String column : new java.util.TreeSet<>(settings.bloomFpp.keySet())) {
      Node n = null;
      for (Node t : top) {
        if (t.name.equals(column)) {
          n = t;
        }
      }
      if (n == null) {
        throw new IllegalArgumentException("Cannot write a bloom filter for column '" + column
            + "' of " + settings.target + ": the schema has no top-level column of that name"
            + " (name a top-level column, or drop the filter)");
      }
      if (n.kind != Node.Kind.LEAF) {
        throw new IllegalArgumentException("Cannot write a bloom filter for column '" + column
            + "' of " + settings.target + ": it is a " + n.kind.name().toLowerCase(
                java.util.Locale.ROOT) + ", and filters are written for primitive columns only"
            + " (drop the filter)");
      }
      switch (n.physical) {
        case INT32:
        case INT64:
        case BYTE_ARRAY:
        case FIXED:
          break;
        default:
          throw new IllegalArgumentException("Cannot write a bloom filter for column '" + column
              + "' of " + settings.target + ": its type " + n.field.getType() + " is stored as "
              + n.physical + ", and filters are written for int, long, date, time, timestamp,"
              + " decimal, string, binary, fixed and uuid columns only (drop the filter)");
      }
    }
  }

  /** Whether a writer of {@code schema} and {@code settings} may take these. */
  boolean fits(Schema s, Settings st) {
    return leaves != null && settings.equals(st) && schema.equals(s);
  }

  /** Heap bytes the encoders' buffers hold, what keeping them idle costs. */
  long retainedBytes() {
    long n = 0;
    if (leaves != null) {
      for (Leaf leaf : leaves) {
        n += leaf.retainedBytes();
      }
    }
    return n;
  }

  /** Drops the references to the last batch's vectors, before the encoders wait idle. */
  void unbind() {
    if (leaves != null) {
      for (Leaf leaf : leaves) {
        leaf.unbind();
      }
    }
  }

  @Override
  public void close() {
    if (compressor != null) {
      compressor.close();
    }
  }
}
