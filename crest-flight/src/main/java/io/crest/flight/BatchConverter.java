package io.crest.flight;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.ValueVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryEncoder;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.util.TransferPair;
import org.apache.arrow.vector.util.ValueVectorUtility;

/**
 * Moves the current batch of a stream's reused root into a new root that the caller owns:
 * plain vectors are transferred (no copy), top-level dictionary-encoded vectors are decoded to
 * their value type, and leading rows can be dropped.
 *
 * <p>Not thread-safe: one per reader.
 */
final class BatchConverter {
  private final BufferAllocator allocator;
  private final DictionaryProvider dictionaries;

  /**
   * Creates a converter whose output vectors are allocated in {@code allocator}.
   *
   * @param dictionaries the dictionaries of the stream, looked up on every batch because a
   *     stream may replace them
   */
  BatchConverter(BufferAllocator allocator, DictionaryProvider dictionaries) {
    this.allocator = allocator;
    this.dictionaries = dictionaries;
  }

  /**
   * Checks the buffers of every column of {@code root} (lengths, offsets, validity) against what
   * its type requires, so that a batch damaged in transit fails where it arrives instead of
   * deeper in the pipeline, and returns their size in bytes.
   *
   * @throws IllegalArgumentException naming the first invalid column
   */
  static long validate(VectorSchemaRoot root) {
    long bytes = 0;
    for (FieldVector vector : root.getFieldVectors()) {
      try {
        ValueVectorUtility.validateFull(vector);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("column " + vector.getName() + " is not valid Arrow"
            + " data: " + e.getMessage(), e);
      }
      bytes += vector.getBufferSize();
    }
    return bytes;
  }

  /**
   * Returns the path of the first dictionary-encoded field below the top level of {@code
   * fields}, which this converter cannot decode, if there is one.
   *
   * @param dictionaries the stream's dictionaries, whose value types may nest encoded fields too
   */
  static Optional<String> nestedDictionaryField(List<Field> fields, DictionaryProvider dictionaries) {
    for (Field field : fields) {
      List<Field> children = field.getChildren();
      DictionaryEncoding encoding = field.getDictionary();
      if (encoding != null && dictionaries != null) {
        Dictionary dictionary = dictionaries.lookup(encoding.getId());
        if (dictionary != null) {
          children = dictionary.getVector().getField().getChildren();
        }
      }
      Optional<String> nested = encodedDescendant(field.getName(), children);
      if (nested.isPresent()) {
        return nested;
      }
    }
    return Optional.empty();
  }

  private static Optional<String> encodedDescendant(String path, List<Field> children) {
    for (Field child : children) {
      String childPath = path + "." + child.getName();
      if (child.getDictionary() != null) {
        return Optional.of(childPath);
      }
      Optional<String> nested = encodedDescendant(childPath, child.getChildren());
      if (nested.isPresent()) {
        return nested;
      }
    }
    return Optional.empty();
  }

  /**
   * Moves the rows from {@code firstRow} on out of {@code source} into a new root. The vectors of
   * {@code source} are left empty or unchanged; {@code source} stays owned by the stream.
   *
   * @throws IllegalStateException if a dictionary-encoded field has no dictionary
   */
  VectorSchemaRoot take(VectorSchemaRoot source, int firstRow) {
    int rows = source.getRowCount();
    List<FieldVector> vectors = new ArrayList<>(source.getFieldVectors().size());
    try {
      for (FieldVector vector : source.getFieldVectors()) {
        vectors.add(own(vector));
      }
    } catch (RuntimeException | Error e) {
      AutoCloseables.close(e, vectors);
      throw e;
    }
    VectorSchemaRoot whole = new VectorSchemaRoot(fields(vectors), vectors, rows);
    if (firstRow == 0) {
      return whole;
    }
    // The whole batch is only a step: the slice takes what it needs, the rest is released.
    try (whole) {
      return slice(whole, firstRow, rows - firstRow);
    }
  }

  private VectorSchemaRoot slice(VectorSchemaRoot whole, int firstRow, int length) {
    List<FieldVector> sliced = new ArrayList<>(whole.getFieldVectors().size());
    try {
      for (FieldVector vector : whole.getFieldVectors()) {
        TransferPair pair = vector.getTransferPair(allocator);
        // Registered before the split so that a failing split still releases the target.
        sliced.add((FieldVector) pair.getTo());
        pair.splitAndTransfer(firstRow, length);
      }
    } catch (RuntimeException | Error e) {
      AutoCloseables.close(e, sliced);
      throw e;
    }
    return new VectorSchemaRoot(fields(sliced), sliced, length);
  }

  private FieldVector own(FieldVector vector) {
    Field field = vector.getField();
    DictionaryEncoding encoding = field.getDictionary();
    if (encoding == null) {
      TransferPair pair = vector.getTransferPair(allocator);
      pair.transfer();
      return (FieldVector) pair.getTo();
    }
    Dictionary dictionary = dictionaries == null ? null : dictionaries.lookup(encoding.getId());
    if (dictionary == null) {
      throw new IllegalStateException(
          "Cannot decode field " + field.getName() + ": the stream sent no dictionary "
              + encoding.getId() + " for it");
    }
    Field valueField = dictionary.getVector().getField();
    Field decodedField =
        new Field(
            field.getName(),
            new FieldType(field.isNullable(), valueField.getType(), null, field.getMetadata()),
            valueField.getChildren());
    FieldVector target = decodedField.createVector(allocator);
    try (ValueVector decoded = DictionaryEncoder.decode(vector, dictionary, allocator)) {
      // decode() names its result after the dictionary (DICT0); move it under the field's name.
      decoded.makeTransferPair(target).transfer();
      return target;
    } catch (RuntimeException | Error e) {
      target.close();
      throw e;
    }
  }

  private static List<Field> fields(List<FieldVector> vectors) {
    List<Field> fields = new ArrayList<>(vectors.size());
    for (FieldVector vector : vectors) {
      fields.add(vector.getField());
    }
    return fields;
  }

  /** The application metadata of a Flight message as bytes (empty when there is none). */
  static byte[] metadata(ArrowBuf metadata) {
    if (metadata == null || metadata.readableBytes() == 0) {
      return new byte[0];
    }
    byte[] bytes = new byte[(int) metadata.readableBytes()];
    metadata.getBytes(metadata.readerIndex(), bytes);
    return bytes;
  }
}
