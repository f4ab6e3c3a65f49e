package io.crest.ingestor;

import io.crest.flight.FlightIngestServer;
import io.crest.flight.IncrementalTicket;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.crest.ingestor.IngestorConfig.Server;
import io.crest.ingestor.IngestorConfig.StreamConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.flight.CallOption;
import org.apache.arrow.flight.CallOptions;
import org.apache.arrow.flight.CallStatus;
import org.apache.arrow.flight.Criteria;
import org.apache.arrow.flight.FlightClient;
import org.apache.arrow.flight.FlightInfo;
import org.apache.arrow.flight.FlightRuntimeException;
import org.apache.arrow.flight.FlightStatusCode;
import org.apache.arrow.flight.FlightStream;
import org.apache.arrow.flight.Location;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.flight.auth2.BasicAuthCredentialWriter;
import org.apache.arrow.flight.auth2.BearerCredentialWriter;
import org.apache.arrow.flight.auth2.ClientBearerHeaderHandler;
import org.apache.arrow.flight.auth2.ClientIncomingAuthHeaderMiddleware;
import org.apache.arrow.flight.grpc.CredentialCallOption;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.iceberg.catalog.Catalog;
import org.apache.iceberg.catalog.Namespace;
import org.apache.iceberg.catalog.SupportsNamespaces;
import org.apache.iceberg.catalog.TableIdentifier;

/**
 * The checks of {@code ingestor check} that need the network: every Flight server answers and
 * serves each configured stream, the catalog lists its namespaces, and the addresses of the
 * ingest server and the Prometheus endpoint can be bound. Each problem comes back
 * with the YAML path it is about; what works is printed. Stateless.
 */
final class Connectivity {
  private Connectivity() {}

  /** Runs every check; returns the problems, empty if all is well. */
  static List<String> check(IngestorConfig config, BufferAllocator allocator, PrintStream out) {
    List<String> problems = new ArrayList<>();
    Map<Server, List<StreamConfig>> byServer = new LinkedHashMap<>();
    config.servers().values().forEach(s -> byServer.put(s, new ArrayList<>()));
    for (PipelineConfig p : config.pipelines()) {
      for (StreamConfig s : p.streams()) {
        byServer.get(s.server()).add(s);
      }
    }
    long timeoutMillis = config.flight().checkTimeout().toMillis();
    byServer.forEach((server, streams) ->
        checkServer(server, streams, allocator, timeoutMillis, problems, out));
    checkCatalog(config, problems, out);
    config.ingest().ifPresent(ingest -> checkIngest(ingest, allocator, problems, out));
    config.prometheus().ifPresent(p -> {
      String problem = PrometheusEndpoint.checkListen(p);
      if (problem == null) {
        out.println("ok   " + IngestorConfig.Prometheus.PATH + ": " + p.host() + ":" + p.port()
            + " can be listened on");
      } else {
        problems.add(IngestorConfig.Prometheus.PATH + ": " + problem);
      }
    });
    return problems;
  }

  /** Starts the ingest server and closes it at once: the address can be bound, TLS works. */
  private static void checkIngest(IngestorConfig.Ingest ingest, BufferAllocator allocator,
      List<String> problems, PrintStream out) {
    try (FlightIngestServer server = Pipelines.ingestServer(ingest, allocator)) {
      out.println("ok   " + IngestorConfig.Ingest.PATH + ": " + server.uri()
          + " can be listened on, for tables " + server.tables());
    } catch (RuntimeException e) {
      problems.add(IngestorConfig.Ingest.PATH + ".uri: " + e.getMessage());
    }
  }

  private static void checkServer(Server server, List<StreamConfig> streams,
      BufferAllocator allocator, long timeoutMillis, List<String> problems, PrintStream out) {
    CallOption timeout = CallOptions.timeout(timeoutMillis, TimeUnit.MILLISECONDS);
    FlightClient client = null;
    try {
      // As FlightSource connects: a basic-auth handshake (under the check's timeout) whose bearer
      // token is used when the server sends one, else the basic header on every call.
      ClientIncomingAuthHeaderMiddleware.Factory tokens =
          new ClientIncomingAuthHeaderMiddleware.Factory(new ClientBearerHeaderHandler());
      client = client(server, allocator, tokens);
      List<CallOption> options = new ArrayList<>();
      options.add(timeout);
      if (server.basicUser().isPresent()) {
        CredentialCallOption basic = new CredentialCallOption(new BasicAuthCredentialWriter(
            server.basicUser().get(), server.basicPassword().orElse("")));
        client.handshake(basic, timeout);
        CredentialCallOption bearer = tokens.getCredentialCallOption();
        options.add(bearer != null ? bearer : basic);
      } else if (server.bearerToken().isPresent()) {
        options.add(new CredentialCallOption(
            new BearerCredentialWriter(server.bearerToken().get())));
      }
      CallOption[] opts = options.toArray(new CallOption[0]);
      if (streams.isEmpty()) {
        try {
          for (FlightInfo ignored : client.listFlights(Criteria.ALL, opts)) {
            break;
          }
        } catch (FlightRuntimeException e) {
          if (e.status().code() != FlightStatusCode.UNIMPLEMENTED) {
            throw e;
          }
        }
        out.println("ok   " + server.path() + ": " + server.uri() + " answers (used by no"
            + " pipeline)");
        return;
      }
      for (StreamConfig s : streams) {
        try {
          checkStream(client, s, opts);
          out.println("ok   " + s.path() + ": " + describe(s) + " on " + server.uri());
        } catch (FlightRuntimeException e) {
          if (unreachable(e)) {
            throw e;
          }
          problems.add(s.path() + "." + key(s) + ": Cannot read " + describe(s) + " from server "
              + server.name() + ": " + status(e) + " (check the name on the server)");
        }
      }
    } catch (FlightRuntimeException e) {
      problems.add(server.path() + ".uri: Cannot reach Flight server " + server.uri() + ": "
          + status(e) + (e.status().code() == FlightStatusCode.UNAUTHENTICATED
              ? " (check the credentials)" : " (is it running, and is the address right?)"));
    } catch (IOException | RuntimeException e) {
      problems.add(server.path() + ": Cannot connect to Flight server " + server.uri() + ": "
          + e.getMessage());
    } finally {
      if (client != null) {
        try {
          client.close();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** Starts the stream and waits for its schema, or asks for the discovery's flight info. */
  private static void checkStream(FlightClient client, StreamConfig s, CallOption[] opts) {
    switch (s.kind()) {
      case TICKET:
      case INCREMENTAL: {
        Ticket ticket = s.kind() == IngestorConfig.StreamKind.TICKET
            ? new Ticket(s.target().getBytes(StandardCharsets.UTF_8))
            : IncrementalTicket.fromStart(s.target()).toTicket();
        FlightStream stream = client.getStream(ticket, opts);
        try {
          stream.getSchema();
          // A live view never ends: stop the call once it proved the stream exists.
          stream.cancel("crest ingestor check: schema received", null);
        } finally {
          closeQuietly(stream);
        }
        break;
      }
      default:
        client.getInfo(Pipelines.descriptor(s), opts);
    }
  }

  private static void checkCatalog(IngestorConfig config, List<String> problems,
      PrintStream out) {
    IngestorConfig.Catalog c = config.catalog();
    Catalog catalog;
    try {
      catalog = IcebergCatalogs.open(c.name(), Pipelines.catalogProperties(c));
    } catch (RuntimeException e) {
      problems.add("catalog: Cannot open catalog " + c.name() + ": " + e.getMessage()
          + " (check catalog.properties)");
      return;
    }
    try {
      if (catalog instanceof SupportsNamespaces) {
        List<Namespace> namespaces = ((SupportsNamespaces) catalog).listNamespaces();
        out.println("ok   catalog: " + c + " answers, " + namespaces.size()
            + " top-level namespace(s)");
      }
      for (PipelineConfig p : config.pipelines()) {
        TableIdentifier table = TableIdentifier.parse(p.table());
        out.println("ok   " + p.path() + ".table: " + p.table()
            + (catalog.tableExists(table) ? " exists" : " does not exist yet; the first batch"
                + " creates it"));
      }
    } catch (RuntimeException e) {
      problems.add("catalog: Cannot list namespaces of catalog " + c.name() + ": "
          + e.getMessage() + " (check catalog.properties and that the catalog is up)");
    } finally {
      IOException e = IcebergCatalogs.closeQuietly(catalog);
      if (e != null) {
        out.println("warn catalog: cannot close catalog " + c.name() + ": " + e);
      }
    }
  }

  private static FlightClient client(Server server, BufferAllocator allocator,
      ClientIncomingAuthHeaderMiddleware.Factory tokens)
      throws IOException {
    URI uri = URI.create(server.uri());
    boolean tls = uri.getScheme().equalsIgnoreCase("grpc+tls");
    Location location = tls
        ? Location.forGrpcTls(uri.getHost(), uri.getPort())
        : Location.forGrpcInsecure(uri.getHost(), uri.getPort());
    FlightClient.Builder b = FlightClient.builder(allocator, location).intercept(tokens);
    if (tls) {
      b.useTls();
      if (server.trustedCertificates().isPresent()) {
        b.trustedCertificates(read(server.trustedCertificates().get()));
      }
      if (server.clientCertificateChain().isPresent()) {
        b.clientCertificate(read(server.clientCertificateChain().get()),
            read(server.clientPrivateKey().orElseThrow()));
      }
    }
    return b.build();
  }

  /** Closing a cancelled or failed call rethrows its status, which the caller already has. */
  private static void closeQuietly(FlightStream stream) {
    try {
      stream.close();
    } catch (Exception e) {
      // the outcome of the check is already known
    }
  }

  private static InputStream read(Path file) throws IOException {
    return new ByteArrayInputStream(Files.readAllBytes(file));
  }

  private static boolean unreachable(FlightRuntimeException e) {
    FlightStatusCode code = e.status().code();
    return code == FlightStatusCode.UNAVAILABLE || code == FlightStatusCode.TIMED_OUT
        || code == FlightStatusCode.UNAUTHENTICATED;
  }

  private static String status(FlightRuntimeException e) {
    CallStatus s = e.status();
    return s.code() + (s.description() == null || s.description().isEmpty() ? ""
        : ": " + s.description());
  }

  private static String key(StreamConfig s) {
    switch (s.kind()) {
      case TICKET:
        return "ticket";
      case INCREMENTAL:
        return "incremental";
      default:
        return s.discoverCommand() != null ? "discoverCommand" : "discover";
    }
  }

  private static String describe(StreamConfig s) {
    switch (s.kind()) {
      case TICKET:
        return "ticket \"" + s.target() + "\"";
      case INCREMENTAL:
        return "incremental view \"" + s.target() + "\"";
      default:
        return "discovery " + s.target();
    }
  }
}
