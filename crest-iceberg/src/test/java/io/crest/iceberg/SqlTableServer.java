package io.crest.iceberg;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
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
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

/**
 * A real Flight SQL server on loopback over an in-memory table {@code events(id, ts, name)}. It
 * understands two statements, told apart by a {@code ?} in the SQL: a prepared statement whose one
 * parameter is a lower bound on {@code ts} (rows with {@code ts >= ?} ordered by {@code ts, id}),
 * and a plain query (every row ordered by {@code id}). Each answer is split into endpoints of
 * {@code rowsPerEndpoint} rows, sent in batches of {@code rowsPerBatch} rows. Thread-safe.
 */
final class SqlTableServer implements AutoCloseable {
  static final Schema SCHEMA = new Schema(List.of(
      new Field("id", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("ts", FieldType.notNullable(new ArrowType.Int(64, true)), null),
      new Field("name", FieldType.nullable(ArrowType.Utf8.INSTANCE), null)));
  private static final Schema PARAMETERS = new Schema(List.of(
      new Field("ts", FieldType.nullable(new ArrowType.Int(64, true)), null)));

  /** One row of the table. */
  record Row(long id, long ts, String name) {}

  private final BufferAllocator allocator;
  private final FlightServer server;
  private final int rowsPerEndpoint;
  private final int rowsPerBatch;
  private final List<Row> table = new ArrayList<>();
  private final Map<String, String> statements = new ConcurrentHashMap<>();
  private final Map<String, Long> parameters = new ConcurrentHashMap<>();
  private final Map<String, List<Row>> parts = new ConcurrentHashMap<>();
  private final AtomicInteger executions = new AtomicInteger();
  private final AtomicInteger failLaterEndpoints = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();

  SqlTableServer(BufferAllocator parent, int rowsPerEndpoint, int rowsPerBatch)
      throws IOException {
    this(parent, rowsPerEndpoint, rowsPerBatch, null);
  }

  /** A server that answers only calls carrying {@code Authorization: Bearer <token>}. */
  SqlTableServer(BufferAllocator parent, int rowsPerEndpoint, int rowsPerBatch, String token)
      throws IOException {
    this.allocator = parent.newChildAllocator("sql-table-server", 0, Long.MAX_VALUE);
    this.rowsPerEndpoint = rowsPerEndpoint;
    this.rowsPerBatch = rowsPerBatch;
    FlightServer.Builder builder = FlightServer.builder(allocator,
        Location.forGrpcInsecure("127.0.0.1", 0), new Producer());
    if (token != null) {
      builder.headerAuthenticator(headers -> {
        if (!("Bearer " + token).equals(headers.get("authorization"))) {
          throw CallStatus.UNAUTHENTICATED.withDescription("wrong or missing token")
              .toRuntimeException();
        }
        return () -> "reader";
      });
    }
    this.server = builder.build().start();
  }

  String uri() {
    return "grpc://127.0.0.1:" + server.getPort();
  }

  /** Appends rows {@code (id, ts, "n<id>")}, given as pairs {@code id, ts}. */
  void append(long... idTs) {
    synchronized (table) {
      for (int i = 0; i < idTs.length; i += 2) {
        table.add(new Row(idTs[i], idTs[i + 1], "n" + idTs[i]));
      }
    }
  }

  /** How many statements were executed (polls). */
  int executions() {
    return executions.get();
  }

  /** Fails the {@code DoGet} of the next {@code n} endpoints that are not the first of an answer. */
  void failLaterEndpoints(int n) {
    failLaterEndpoints.set(n);
  }

  int failures() {
    return failures.get();
  }

  private FlightInfo answer(FlightDescriptor descriptor, Long lowerBound) {
    executions.incrementAndGet();
    List<Row> rows;
    synchronized (table) {
      rows = new ArrayList<>(table);
    }
    if (lowerBound == null) {
      rows.sort(Comparator.comparingLong(Row::id));
    } else {
      rows.removeIf(r -> r.ts() < lowerBound);
      rows.sort(Comparator.comparingLong(Row::ts).thenComparingLong(Row::id));
    }
    List<FlightEndpoint> endpoints = new ArrayList<>();
    for (int from = 0; from < rows.size(); from += rowsPerEndpoint) {
      String key = (from == 0 ? "first-" : "later-") + UUID.randomUUID();
      parts.put(key, rows.subList(from, Math.min(rows.size(), from + rowsPerEndpoint)));
      FlightSql.TicketStatementQuery ticket = FlightSql.TicketStatementQuery.newBuilder()
          .setStatementHandle(ByteString.copyFromUtf8(key)).build();
      endpoints.add(new FlightEndpoint(new Ticket(Any.pack(ticket).toByteArray())));
    }
    return new FlightInfo(SCHEMA, descriptor, endpoints, -1, rows.size());
  }

  private static ByteString serialize(Schema schema) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      MessageSerializer.serialize(new WriteChannel(Channels.newChannel(out)), schema);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return ByteString.copyFrom(out.toByteArray());
  }

  @Override
  public void close() throws Exception {
    server.shutdown();
    server.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    server.close();
    allocator.close();
  }

  private final class Producer extends NoOpFlightSqlProducer {
    @Override
    public void createPreparedStatement(FlightSql.ActionCreatePreparedStatementRequest request,
        CallContext context, StreamListener<Result> listener) {
      String handle = UUID.randomUUID().toString();
      statements.put(handle, request.getQuery());
      FlightSql.ActionCreatePreparedStatementResult.Builder result =
          FlightSql.ActionCreatePreparedStatementResult.newBuilder()
              .setPreparedStatementHandle(ByteString.copyFromUtf8(handle))
              .setDatasetSchema(serialize(SCHEMA));
      if (request.getQuery().contains("?")) {
        result.setParameterSchema(serialize(PARAMETERS));
      }
      listener.onNext(new Result(Any.pack(result.build()).toByteArray()));
      listener.onCompleted();
    }

    @Override
    public Runnable acceptPutPreparedStatementQuery(FlightSql.CommandPreparedStatementQuery command,
        CallContext context, FlightStream stream, StreamListener<PutResult> ack) {
      String handle = command.getPreparedStatementHandle().toString(StandardCharsets.UTF_8);
      return () -> {
        while (stream.next()) {
          VectorSchemaRoot root = stream.getRoot();
          if (root.getRowCount() > 0) {
            parameters.put(handle, ((BigIntVector) root.getVector(0)).get(0));
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
      String sql = statements.get(handle);
      if (sql == null) {
        throw CallStatus.NOT_FOUND.withDescription("no statement " + handle).toRuntimeException();
      }
      Long bound = parameters.get(handle);
      if (sql.contains("?") && bound == null) {
        throw CallStatus.INVALID_ARGUMENT.withDescription("parameter not bound")
            .toRuntimeException();
      }
      return answer(descriptor, bound);
    }

    @Override
    public FlightInfo getFlightInfoStatement(FlightSql.CommandStatementQuery command,
        CallContext context, FlightDescriptor descriptor) {
      if (command.getQuery().contains("?")) {
        throw CallStatus.INVALID_ARGUMENT.withDescription("unbound parameter")
            .toRuntimeException();
      }
      return answer(descriptor, null);
    }

    @Override
    public void closePreparedStatement(FlightSql.ActionClosePreparedStatementRequest request,
        CallContext context, StreamListener<Result> listener) {
      String handle = request.getPreparedStatementHandle().toString(StandardCharsets.UTF_8);
      statements.remove(handle);
      parameters.remove(handle);
      listener.onCompleted();
    }

    @Override
    public void getStreamStatement(FlightSql.TicketStatementQuery ticket, CallContext context,
        ServerStreamListener listener) {
      String key = ticket.getStatementHandle().toString(StandardCharsets.UTF_8);
      List<Row> rows = parts.remove(key);
      if (rows == null) {
        listener.error(CallStatus.NOT_FOUND.withDescription("no ticket " + key)
            .toRuntimeException());
        return;
      }
      if (key.startsWith("later-") && failLaterEndpoints.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        failures.incrementAndGet();
        listener.error(CallStatus.UNAVAILABLE.withDescription("injected").toRuntimeException());
        return;
      }
      try (VectorSchemaRoot root = VectorSchemaRoot.create(SCHEMA, allocator)) {
        listener.start(root);
        for (int from = 0; from < rows.size(); from += rowsPerBatch) {
          int n = Math.min(rowsPerBatch, rows.size() - from);
          BigIntVector id = (BigIntVector) root.getVector("id");
          BigIntVector ts = (BigIntVector) root.getVector("ts");
          VarCharVector name = (VarCharVector) root.getVector("name");
          root.allocateNew();
          for (int i = 0; i < n; i++) {
            Row row = rows.get(from + i);
            id.setSafe(i, row.id());
            ts.setSafe(i, row.ts());
            name.setSafe(i, row.name().getBytes(StandardCharsets.UTF_8));
          }
          root.setRowCount(n);
          listener.putNext();
        }
        listener.completed();
      }
    }
  }
}
