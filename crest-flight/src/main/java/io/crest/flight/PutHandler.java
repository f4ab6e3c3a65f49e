package io.crest.flight;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightProducer.CallContext;
import org.apache.arrow.flight.FlightProducer.StreamListener;
import org.apache.arrow.flight.FlightRuntimeException;
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

  PutHandler(FlightIngestServer server, List<String> tables, Map<String, Schema> schemas) {
    this.server = server;
    this.tables = List.copyOf(tables);
    this.schemas = Map.copyOf(schemas);
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
    Target target = target(input.getDescriptor());
    IngestSource source = server.current(target.table);
    if (source == null) {
      throw CallStatus.UNAVAILABLE.withDescription("Cannot ingest into table " + target.table
          + ": no pipeline is reading it now (retry later)").toRuntimeException();
    }
    PutSession session = new PutSession(acks, server.allocator(), target.describe());
    source.register(session);
    FlightRuntimeException error;
    try {
      error = readAll(input, source, target, session);
      if (error == null) {
        error = session.awaitAcknowledged(call);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = CallStatus.UNAVAILABLE.withDescription("Cannot finish the " + target.describe()
          + ": the server is stopping (re-send every batch without an acknowledgement)")
          .toRuntimeException();
    } catch (FlightRuntimeException e) {
      error = e;
    } catch (RuntimeException e) {
      LOG.warn("The {} failed", target.describe(), e);
      error = CallStatus.INTERNAL.withDescription("Cannot finish the " + target.describe()
          + ": " + e).withCause(e).toRuntimeException();
    } finally {
      source.unregister(session);
    }
    if (error != null) {
      LOG.info("The {} ends unacknowledged: {}", target.describe(), error.getMessage());
    }
    session.finish(error);
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
    while (session.next(input)) {
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
      if (root.getRowCount() == 0) {
        session.expect(stream, Long.MIN_VALUE, metadata); // nothing to make durable
        continue;
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
            session.expect(stream, sequence, metadata); // a re-sent batch: acknowledged only
            continue;
          }
          long position = target.producer != null ? sequence : stream.lastAccepted + 1;
          if (converter == null) {
            converter = converter(input, root, source, target);
          }
          VectorSchemaRoot owned = converter.take(root, 0);
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
          session.expect(stream, position, metadata);
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
