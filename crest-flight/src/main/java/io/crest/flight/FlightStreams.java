package io.crest.flight;

import java.lang.reflect.Field;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Works around a gap of arrow-java's {@link FlightStream}: when the other side sends a second
 * schema message, the stream loads later batches into a new root while {@link
 * FlightStream#getRoot} keeps returning the first one, cleared, so those batches would look empty
 * and be acknowledged without being written. Stateless.
 */
final class FlightStreams {
  private static final Logger LOG = LoggerFactory.getLogger(FlightStreams.class);
  // FlightStream's private "fulfilledRoot" (arrow-java 19: set by every schema message), or null
  // if this Arrow version has no such field; the check is then skipped.
  private static final Field FULFILLED_ROOT = fulfilledRootField();

  private FlightStreams() {}

  private static Field fulfilledRootField() {
    try {
      Field field = FlightStream.class.getDeclaredField("fulfilledRoot");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("Cannot detect a schema that changes mid-stream in a Flight put with this Arrow"
          + " version ({}): such a put's later batches would be taken as empty", e.toString());
      return null;
    }
  }

  /**
   * Whether {@code stream}, which has a root, received a second schema: its batches no longer
   * land in {@link FlightStream#getRoot}.
   */
  static boolean schemaChanged(FlightStream stream) {
    if (FULFILLED_ROOT == null || !stream.hasRoot()) {
      return false;
    }
    try {
      VectorSchemaRoot loaded = (VectorSchemaRoot) FULFILLED_ROOT.get(stream);
      return loaded != null && loaded != stream.getRoot();
    } catch (IllegalAccessException e) {
      return false;
    }
  }
}
