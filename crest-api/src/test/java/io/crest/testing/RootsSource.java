package io.crest.testing;

import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * A one-stream source that emits the given roots in order, then completes. It owns the roots:
 * those it could not emit are closed by {@link #close}. Resumes by skipping whole roots.
 */
public final class RootsSource implements Source {
  private final String stream;
  private final List<VectorSchemaRoot> roots;
  private Thread reader;
  private volatile int next;

  /** A source of stream {@code stream} emitting {@code roots}, taking ownership of them. */
  public RootsSource(String stream, List<VectorSchemaRoot> roots) {
    this.stream = stream;
    this.roots = new ArrayList<>(roots);
  }

  @Override
  public String name() {
    return "roots[" + stream + "]";
  }

  @Override
  public void start(SourceContext context) {
    SourcePosition resume = context.resumePositions().get(stream);
    long skipRows = resume == null ? 0 : resume.asOffset();
    reader = new Thread(() -> {
      long offset = 0;
      try {
        while (next < roots.size()) {
          VectorSchemaRoot root = roots.get(next);
          roots.set(next++, null);
          offset += root.getRowCount();
          if (offset <= skipRows) {
            root.close();
            continue;
          }
          if (!context.emit(SourceBatch.of(stream, root, SourcePosition.ofOffset(offset)))) {
            return;
          }
        }
        context.complete();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "roots-source-" + stream);
    reader.start();
  }

  @Override
  public void close() {
    if (reader != null) {
      reader.interrupt();
      try {
        reader.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (VectorSchemaRoot root : roots) {
      if (root != null) {
        root.close();
      }
    }
  }
}
