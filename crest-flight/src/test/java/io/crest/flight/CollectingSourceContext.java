package io.crest.flight;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.util.Text;

/**
 * A {@link SourceContext} for tests: copies the values of every emitted batch out, closes the
 * batch, and records {@link #complete} and {@link #fail} calls. Thread-safe.
 *
 * <p>It accepts every batch by default; {@link #acceptingAtMost} makes emit return {@code false}
 * after a number of batches, {@link #blockingAfter} makes emit wait until interrupted.
 */
final class CollectingSourceContext implements SourceContext {

  /** The copy of one emitted batch. */
  static final class Emitted {
    final String stream;
    final long positionAfter;
    final List<Field> fields;
    final List<List<Object>> rows;
    final String thread;

    Emitted(String stream, long positionAfter, List<Field> fields, List<List<Object>> rows) {
      this.stream = stream;
      this.positionAfter = positionAfter;
      this.fields = fields;
      this.rows = rows;
      this.thread = Thread.currentThread().getName();
    }
  }

  private final Map<String, SourcePosition> resumePositions;
  private final int acceptLimit;
  private final boolean blockWhenFull;
  private final List<Emitted> emitted = new CopyOnWriteArrayList<>();
  private final List<Throwable> failures = new CopyOnWriteArrayList<>();
  private final AtomicInteger emitCalls = new AtomicInteger();
  private final AtomicInteger blockedEmits = new AtomicInteger();
  private final AtomicInteger completions = new AtomicInteger();

  private CollectingSourceContext(
      Map<String, SourcePosition> resumePositions, int acceptLimit, boolean blockWhenFull) {
    this.resumePositions = Map.copyOf(resumePositions);
    this.acceptLimit = acceptLimit;
    this.blockWhenFull = blockWhenFull;
  }

  /** A context that accepts every batch and resumes no stream. */
  static CollectingSourceContext create() {
    return new CollectingSourceContext(Map.of(), Integer.MAX_VALUE, false);
  }

  /** A context that accepts every batch and resumes at the given positions. */
  static CollectingSourceContext resumingAt(Map<String, SourcePosition> positions) {
    return new CollectingSourceContext(positions, Integer.MAX_VALUE, false);
  }

  /** A context whose emit returns {@code false} once {@code batches} batches were accepted. */
  static CollectingSourceContext acceptingAtMost(int batches) {
    return new CollectingSourceContext(Map.of(), batches, false);
  }

  /**
   * A context whose emit blocks, until the calling thread is interrupted, once {@code batches}
   * batches were accepted (a pipeline whose buffer stays full).
   */
  static CollectingSourceContext blockingAfter(int batches) {
    return new CollectingSourceContext(Map.of(), batches, true);
  }

  @Override
  public String pipelineId() {
    return "test-pipeline";
  }

  @Override
  public Map<String, SourcePosition> resumePositions() {
    return resumePositions;
  }

  @Override
  public boolean emit(SourceBatch batch) throws InterruptedException {
    emitCalls.incrementAndGet();
    try (batch) {
      if (emitted.size() >= acceptLimit) {
        if (blockWhenFull) {
          blockedEmits.incrementAndGet();
          new CountDownLatch(1).await();
        }
        return false;
      }
      emitted.add(
          new Emitted(
              batch.stream(),
              batch.positionAfter().asOffset(),
              batch.root().getSchema().getFields(),
              copyRows(batch.root())));
      return true;
    }
  }

  @Override
  public void complete() {
    completions.incrementAndGet();
  }

  @Override
  public void fail(Throwable error) {
    failures.add(error);
  }

  @Override
  public boolean isStopping() {
    return false;
  }

  /** Every accepted batch, in the order emit was called. */
  List<Emitted> emitted() {
    return List.copyOf(emitted);
  }

  /** The accepted batches of {@code stream}, in stream order. */
  List<Emitted> emitted(String stream) {
    return emitted.stream().filter(e -> e.stream.equals(stream)).collect(Collectors.toList());
  }

  /** The rows of {@code stream}'s accepted batches, in stream order. */
  List<List<Object>> rows(String stream) {
    List<List<Object>> rows = new ArrayList<>();
    for (Emitted batch : emitted(stream)) {
      rows.addAll(batch.rows);
    }
    return rows;
  }

  /** The position after each accepted batch of {@code stream}. */
  List<Long> positions(String stream) {
    return emitted(stream).stream().map(e -> e.positionAfter).collect(Collectors.toList());
  }

  /** How often emit was called, including refused calls. */
  int emitCalls() {
    return emitCalls.get();
  }

  /** How many emit calls are blocked or were blocked. */
  int blockedEmits() {
    return blockedEmits.get();
  }

  /** How often complete was called. */
  int completions() {
    return completions.get();
  }

  /** The errors passed to fail, in order. */
  List<Throwable> failures() {
    return List.copyOf(failures);
  }

  private static List<List<Object>> copyRows(VectorSchemaRoot root) {
    List<List<Object>> rows = new ArrayList<>(root.getRowCount());
    for (int row = 0; row < root.getRowCount(); row++) {
      Object[] values = new Object[root.getFieldVectors().size()];
      int column = 0;
      for (FieldVector vector : root.getFieldVectors()) {
        Object value = vector.getObject(row);
        values[column++] = value instanceof Text ? value.toString() : value;
      }
      rows.add(Collections.unmodifiableList(Arrays.asList(values)));
    }
    return rows;
  }
}
