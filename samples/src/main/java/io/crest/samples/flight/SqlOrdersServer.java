package io.crest.samples.flight;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.FlightEndpoint;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightServer;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.PutResult;
import org.apache.arrow.flight.Result;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.sql.NoOpFlightSqlProducer;
import org.apache.arrow.flight.sql.impl.FlightSql;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A tiny Flight SQL server over a growing in-memory {@code orders} table (the columns of {@link
 * IncrementalOrdersServer#SCHEMA}, order ids 0, 1, 2, ...), enough for {@code FlightSqlSource}:
 * a prepared statement with one parameter returns the orders with {@code order_id >= ?}, one
 * without returns them all, each answer as endpoints of at most 1,000 rows. It does not parse SQL:
 * the parameter is all it looks at. Thread-safe; close it to stop it (it does not own the
 * allocator).
 */
public final class SqlOrdersServer implements AutoCloseable {
  private static final int ROWS_PER_ENDPOINT = 1_000;
  private static final Schema PARAMETERS = new Schema(List.of(
      new Field("order_id", FieldType.nullable(new ArrowType.Int(64, true)), null)));

  private final BufferAllocator allocator;
  private final FlightServer server;
  private final Map<String, Boolean> statements = new ConcurrentHashMap<>();
  private final Map<String, Long> lowerBounds = new ConcurrentHashMap<>();
  private long orders;

  /** Starts serving on {@code 127.0.0.1:port} (0: a free port). */
  public SqlOrdersServer(BufferAllocator allocator, int port) throws IOException {
    this.allocator = allocator;
    this.server = FlightServer.builder(allocator, Location.forGrpcInsecure("127.0.0.1", port),
        new Producer()).build().start();
  }

  /** {@code grpc://127.0.0.1:<port>}. */
  public String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** Appends {@code count} orders. */
  public synchronized void append(long count) {
    orders += count;
  }

  private synchronized long orders() {
    return orders;
  }

  private static ByteString schemaBytes(Schema schema) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), schema);
    } catch (IOException e) {
      throw new IllegalStateException("Cannot serialize schema " + schema, e);
    }
    return ByteString.copyFrom(out.toByteArray());
  }

  /** Endpoints covering the orders from {@code first} on; a ticket is {@code "<from>:<to>"}. */
  private FlightInfo answer(FlightDescriptor descriptor, long first) {
    long end = orders();
    List<FlightEndpoint> endpoints = new ArrayList<>();
    for (long from = first; from < end; from += ROWS_PER_ENDPOINT) {
      String range = from + ":" + Math.min(end, from + ROWS_PER_ENDPOINT);
      FlightSql.TicketStatementQuery ticket = FlightSql.TicketStatementQuery.newBuilder()
          .setStatementHandle(ByteString.copyFromUtf8(range)).build();
      endpoints.add(new FlightEndpoint(new Ticket(Any.pack(ticket).toByteArray())));
    }
    return new FlightInfo(IncrementalOrdersServer.SCHEMA, descriptor, endpoints, -1,
        Math.max(0, end - first));
  }

  @Override
  public void close() throws InterruptedException {
    server.close();
  }

  private final class Producer extends NoOpFlightSqlProducer {
    @Override
    public void createPreparedStatement(FlightSql.ActionCreatePreparedStatementRequest request,
        CallContext context, StreamListener<Result> listener) {
      String handle = UUID.randomUUID().toString();
      boolean parameter = request.getQuery().contains("?");
      statements.put(handle, parameter);
      FlightSql.ActionCreatePreparedStatementResult.Builder result =
          FlightSql.ActionCreatePreparedStatementResult.newBuilder()
              .setPreparedStatementHandle(ByteString.copyFromUtf8(handle))
              .setDatasetSchema(schemaBytes(IncrementalOrdersServer.SCHEMA));
      if (parameter) {
        result.setParameterSchema(schemaBytes(PARAMETERS));
      }
      listener.onNext(new Result(Any.pack(result.build()).toByteArray()));
      listener.onCompleted();
    }

    @Override
    public Runnable acceptPutPreparedStatementQuery(FlightSql.CommandPreparedStatementQuery command,
        CallContext context, FlightStream parameters, StreamListener<PutResult> ack) {
      String handle = command.getPreparedStatementHandle().toString(StandardCharsets.UTF_8);
      return () -> {
        while (parameters.next()) {
          if (parameters.getRoot().getRowCount() > 0) {
            lowerBounds.put(handle, ((BigIntVector) parameters.getRoot().getVector(0)).get(0));
          }
        }
        ack.onCompleted();
      };
    }

    @Override
    public FlightInfo getFlightInfoPreparedStatement(
        FlightSql.CommandPreparedStatementQuery command, CallContext context,
        FlightDescriptor descriptor) {
      String handle = command.getPreparedStatementHandle().toString(StandardCharsets.UTF_8);
      if (!statements.containsKey(handle)) {
        throw CallStatus.NOT_FOUND.withDescription("Unknown prepared statement " + handle)
            .toRuntimeException();
      }
      return answer(descriptor, Math.max(0, lowerBounds.getOrDefault(handle, 0L)));
    }

    @Override
    public FlightInfo getFlightInfoStatement(FlightSql.CommandStatementQuery command,
        CallContext context, FlightDescriptor descriptor) {
      return answer(descriptor, 0);
    }

    @Override
    public void closePreparedStatement(FlightSql.ActionClosePreparedStatementRequest request,
        CallContext context, StreamListener<Result> listener) {
      String handle = request.getPreparedStatementHandle().toString(StandardCharsets.UTF_8);
      statements.remove(handle);
      lowerBounds.remove(handle);
      listener.onCompleted();
    }

    @Override
    public void getStreamStatement(FlightSql.TicketStatementQuery ticket, CallContext context,
        ServerStreamListener listener) {
      String[] range = ticket.getStatementHandle().toString(StandardCharsets.UTF_8).split(":");
      long from = Long.parseLong(range[0]);
      long to = Long.parseLong(range[1]);
      try (VectorSchemaRoot root = VectorSchemaRoot.create(IncrementalOrdersServer.SCHEMA,
          allocator)) {
        listener.start(root);
        for (long first = from; first < to; first += 500) {
          IncrementalOrdersServer.fill(root, first, (int) Math.min(500, to - first));
          listener.putNext();
        }
        listener.completed();
      }
    }
  }
}
