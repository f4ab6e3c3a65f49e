package io.crest.flight;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the {@code DoPut} calls of a {@link FlightIngestServer}: parses the descriptor, reads
 * the put's batches, checks their schema, emits them to the table's running source and waits for
 * their acknowledgements (the protocol is described on {@link FlightIngestServer}).
 *
 * <p>Thread-safe: each put runs on a Flight executor thread of its own; the handler holds no
 * mutable state.
 */
final class PutHandler {
  private static final Logger LOG = LoggerFactory.getLogger(FlightIngestServer.class);
  private static final Pattern PRODUCER_ID = Pattern.compile("[A-Za-z0-9._:@-]{1,128}");

  private final FlightIngestServer server;
  private final List<String> tables;
  private final Map<String, Schema> schemas;
  private final Map<String, Set<String>> grants;
  private final PutLimits limits;

  /**
   * Creates the handler.
   *
   * @param grants the tables each limited peer identity may put to; an identity not in it may
   *     put to every table
   */
  PutHandler(FlightIngestServer server, List<String> tables, Map<String, Schema> schemas,
      Map<String, Set<String>> grants, PutLimits limits) {
    this.server = server;
    this.tables = List.copyOf(tables);
    this.schemas = Map.copyOf(schemas);
    this.grants = Map.copyOf(grants);
    this.limits = limits;
  }

  /** What a put's descriptor names. */
  private static final class Target {
    final String table;
    final String producer;

    Target(String table, String producer) {
      this.table = table;
      this.producer = producer;
    }

    String describe() {
      return producer == null ? "put to table " + table
          : "put of producer " + producer + " to table " + table;
    }
  }

  private Target target(FlightDescriptor descriptor) {
    if (descriptor == null || descriptor.isCommand() || descriptor.getPath().isEmpty()
        || descriptor.getPath().size() > 2) {
      throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest " + descriptor
          + ": the descriptor must be the path [table] or [table, producer id]")
          .toRuntimeException();
    }
    List<String> path = descriptor.getPath();
    String table = path.get(0);
    if (!tables.contains(table)) {
      throw CallStatus.NOT_FOUND.withDescription("Cannot ingest into table " + table
          + ": this server ingests only " + tables).toRuntimeException();
    }
    String producer = path.size() == 2 ? path.get(1) : null;
    if (producer != null && !PRODUCER_ID.matcher(producer).matches()) {
      throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest into table " + table
          + ": producer id '" + producer + "' must be 1 to 128 of A-Z a-z 0-9 . _ : @ -")
          .toRuntimeException();
    }
    return new Target(table, producer);
  }

  void put(CallContext call, FlightStream input, StreamListener<PutResult> acks) {
    PutSession session = new PutSession(acks, server.allocator(),
        "put (its descriptor not received yet)");
    try {
      limits.admit(session);
    } catch (FlightRuntimeException e) {
      LOG.info("A put was refused: {}", e.getMessage());
      session.finish(e);
      return;
    }
    IngestSource source = null;
    String description = session.toString();
    FlightRuntimeException error;
    try {
      FlightDescriptor descriptor = session.descriptor(input);
      if (descriptor == null) {
        error = session.failure();
      } else {
        Target target = target(descriptor);
        description = target.describe();
        session.describe(description);
        authorize(call, target);
        source = server.current(target.table);
        if (source == null) {
          throw CallStatus.UNAVAILABLE.withDescription("Cannot ingest into table " + target.table
              + ": no pipeline is reading it now (retry later)").toRuntimeException();
        }
        source.register(session);
        error = readAll(input, source, target, session);
        if (error == null) {
          error = session.awaitAcknowledged(call);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = CallStatus.UNAVAILABLE.withDescription("Cannot finish the " + description
          + ": the server is stopping (re-send every batch without an acknowledgement)")
          .toRuntimeException();
    } catch (FlightRuntimeException e) {
      error = e;
    } catch (RuntimeException e) {
      LOG.warn("The {} failed", description, e);
      error = CallStatus.INTERNAL.withDescription("Cannot finish the " + description
          + ": " + e).withCause(e).toRuntimeException();
    } finally {
      if (source != null) {
        source.unregister(session);
      }
      limits.release(session);
    }
    if (error != null) {
      LOG.info("The {} ends unacknowledged: {}", description, error.getMessage());
    }
    session.finish(error);
  }

  /**
   * Refuses, with {@code UNAUTHORIZED}, a put by a user or token that was limited to other tables.
   */
  private void authorize(CallContext call, Target target) {
    String peer = call.peerIdentity();
    Set<String> allowed = peer == null ? null : grants.get(peer);
    if (allowed != null && !allowed.contains(target.table)) {
      throw CallStatus.UNAUTHORIZED.withDescription("Cannot ingest into table " + target.table
          + ": " + IngestAuthenticator.describe(peer) + " may put only to tables "
          + new TreeSet<>(allowed) + " (grant it the table on the server)").toRuntimeException();
    }
  }

  /** Reads and emits every batch of a put; returns the failure that stopped it, or null. */
  private FlightRuntimeException readAll(
      FlightStream input, IngestSource source, Target target, PutSession session)
      throws InterruptedException {
    IngestSource.ProducerStream stream =
        source.stream(target.producer == null ? IngestSource.ANONYMOUS : target.producer);
    BatchConverter converter = null;
    boolean schemaChecked = false;
    long index = 0;
    long duplicates = 0;
    while (next(input, session, index + 1)) {
      FlightRuntimeException failed = session.failure();
      if (failed != null) {
        return failed;
      }
      if (!input.hasRoot()) {
        continue;
      }
      VectorSchemaRoot root = input.getRoot();
      byte[] metadata = BatchConverter.metadata(input.getLatestMetadata());
      index++;
      long sequence = target.producer == null ? 0 : sequence(target, metadata, index);
      long bytes = checkedSize(root, session, index);
      if (root.getRowCount() == 0) {
        session.expect(stream, Long.MIN_VALUE, metadata, 0); // nothing to make durable
        continue;
      }
      if (bytes > limits.maxBufferedBytes) {
        return limits.batchTooLarge(session, index, bytes);
      }
      if (!session.awaitRoom(bytes, limits.maxBufferedBytes, limits.idleTimeout)) {
        failed = session.failure();
        return failed != null ? failed : limits.noRoom(session, index, bytes);
      }
      if (!source.enter()) {
        return CallStatus.UNAVAILABLE.withDescription("Cannot ingest into table " + target.table
            + ": no pipeline is reading it now (retry later, re-sending every batch without an"
            + " acknowledgement)").toRuntimeException();
      }
      try {
        stream.emitLock.lockInterruptibly();
        try {
          if (target.producer != null && sequence <= stream.lastAccepted) {
            duplicates++;
            session.expect(stream, sequence, metadata, 0); // a re-sent batch: acknowledged only
            continue;
          }
          long position = target.producer != null ? sequence : stream.lastAccepted + 1;
          if (converter == null) {
            converter = converter(input, root, source, target);
          }
          VectorSchemaRoot owned = take(converter, root, session, index);
          if (!schemaChecked) {
            try {
              checkSchema(target, owned.getSchema(), source);
            } catch (RuntimeException e) {
              owned.close();
              throw e;
            }
            schemaChecked = true;
          }
          SourceBatch batch;
          try {
            batch = SourceBatch.of(stream.id, owned, SourcePosition.ofOffset(position));
          } catch (RuntimeException e) {
            owned.close();
            throw e;
          }
          // Expected before the emit, so that a commit right after it finds the batch.
          session.expect(stream, position, metadata, bytes);
          if (!source.context().emit(batch)) {
            return CallStatus.UNAVAILABLE.withDescription("Cannot ingest into table "
                + target.table + ": its pipeline is stopping (re-send every batch without an"
                + " acknowledgement)").toRuntimeException();
          }
          stream.lastAccepted = position;
        } finally {
          stream.emitLock.unlock();
        }
      } finally {
        source.exit();
      }
    }
    if (duplicates > 0) {
      LOG.info("The {} re-sent {} batches the table already has; they were acknowledged, not"
          + " written again", target.describe(), duplicates);
    }
    return null;
  }

  /**
   * Reads the producer's next message; a message that is not valid Arrow IPC fails the put with
   * {@code INVALID_ARGUMENT} naming the put and the batch.
   */
  private static boolean next(FlightStream input, PutSession session, long index) {
    boolean more;
    try {
      more = session.next(input);
    } catch (FlightRuntimeException e) {
      if (e.status().code() == FlightStatusCode.CANCELLED) {
        throw e; // the producer is gone: nothing was wrong with its data
      }
      throw invalid(session, index, e.status().description() != null
          ? e.status().description() : e.getMessage(), e);
    } catch (RuntimeException e) {
      throw invalid(session, index, e.toString(), e);
    }
    if (more && FlightStreams.schemaChanged(input)) {
      throw invalid(session, index, "a second schema message arrived mid-stream (an Arrow IPC"
          + " stream has one schema: start a new put for another schema)", null);
    }
    return more;
  }

  /**
   * Validates the batch's buffers (offsets, lengths, validity) so that a corrupt batch fails its
   * put instead of the pipeline, and returns their size in bytes.
   */
  private static long checkedSize(VectorSchemaRoot root, PutSession session, long index) {
    try {
      return BatchConverter.validate(root);
    } catch (IllegalArgumentException e) {
      throw invalid(session, index, e.getMessage(), e);
    }
  }

  private static VectorSchemaRoot take(
      BatchConverter converter, VectorSchemaRoot root, PutSession session, long index) {
    try {
      return converter.take(root, 0);
    } catch (FlightRuntimeException e) {
      throw e;
    } catch (RuntimeException e) {
      throw invalid(session, index, e.toString(), e);
    }
  }

  private static FlightRuntimeException invalid(
      PutSession session, long index, String reason, Throwable cause) {
    return CallStatus.INVALID_ARGUMENT.withDescription("Cannot read batch " + index + " of the "
        + session + ": " + reason + " (the producer sent a message that is not a valid Arrow IPC"
        + " batch of its stream; fix the producer)").withCause(cause).toRuntimeException();
  }

  private void checkSchema(Target target, Schema actual, IngestSource source) {
    Schema expected = schemas.get(target.table);
    if (expected != null) {
      Optional<String> difference =
          Schemas.firstDifference(expected.getFields(), actual.getFields());
      if (difference.isPresent()) {
        throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest the " + target.describe()
            + ": its schema does not match the table's: " + difference.get()).toRuntimeException();
      }
    }
    try {
      // The table's own evolution policy, asked before any row of this put is accepted.
      source.context().checkSchema(actual);
    } catch (io.crest.errors.ValidationException e) {
      throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest the " + target.describe()
          + ": " + e.getMessage()).toRuntimeException();
    }
  }

  private static BatchConverter converter(
      FlightStream input, VectorSchemaRoot root, IngestSource source, Target target) {
    Optional<String> nested = BatchConverter.nestedDictionaryField(
        root.getSchema().getFields(), input.getDictionaryProvider());
    if (nested.isPresent()) {
      throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest into table "
          + target.table + ": field " + nested.get() + " is dictionary-encoded inside a nested"
          + " type (send plain values)").toRuntimeException();
    }
    return new BatchConverter(source.allocator(), input.getDictionaryProvider());
  }

  private static long sequence(Target target, byte[] metadata, long index) {
    String text = new String(metadata, StandardCharsets.UTF_8);
    long sequence;
    try {
      sequence = Long.parseLong(text);
    } catch (NumberFormatException e) {
      sequence = -1;
    }
    if (sequence < 1) {
      throw CallStatus.INVALID_ARGUMENT.withDescription("Cannot ingest batch " + index + " of the "
          + target.describe() + ": its application metadata '" + text + "' is not a sequence"
          + " number (a producer with an id numbers its batches 1, 2, ... as UTF-8 decimal text)")
          .toRuntimeException();
    }
    return sequence;
  }
}
