package io.crest.ingestor;

import io.crest.flight.FlightIngestServer;
import io.crest.flight.FlightSource;
import io.crest.iceberg.IcebergCatalogs;
import io.crest.iceberg.IcebergSink;
import io.crest.ingestor.IngestorConfig.Catalog;
import io.crest.ingestor.IngestorConfig.FlightSettings;
import io.crest.ingestor.IngestorConfig.Ingest;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.crest.ingestor.IngestorConfig.Server;
import io.crest.ingestor.IngestorConfig.StreamConfig;
import io.crest.spi.Source;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.arrow.flight.FlightDescriptor;
import org.apache.arrow.flight.Ticket;
import org.apache.arrow.memory.BufferAllocator;

/** Turns a pipeline's configuration into Crest's source and sink. Stateless. */
final class Pipelines {
  private Pipelines() {}

  /** The catalog properties: the given ones, or those of the local warehouse. */
  static Map<String, String> catalogProperties(Catalog catalog) {
    return catalog.warehouse().map(IcebergCatalogs::localWarehouse).orElse(catalog.properties());
  }

  /**
   * The pipeline's sink, with its own catalog (opened and closed by each pipeline run).
   *
   * @throws IllegalArgumentException or IllegalStateException from the sink's builder
   */
  static IcebergSink sink(PipelineConfig p, Catalog catalog) {
    IcebergSink.Builder b = IcebergSink.builder()
        .catalog(catalog.name(), catalogProperties(catalog))
        .table(p.table())
        .schemaEvolution(p.evolution())
        .commitStrategy(p.commit());
    p.codec().ifPresent(c -> b.tableProperty(ConfigReader.CODEC_PROPERTY, c));
    p.tableProperties().forEach(b::tableProperty);
    if (!p.partitionBy().isEmpty()) {
      b.partitionBy(p.partitionBy().toArray(new String[0]));
    }
    if (!p.sortBy().isEmpty()) {
      b.sortBy(p.sortBy().toArray(new String[0]));
    }
    p.formatVersion().ifPresent(b::formatVersion);
    p.branch().ifPresent(b::branch);
    p.keyed().keyIndexMemory().ifPresent(b::keyIndexMemory);
    p.keyed().maxDeletedRatio().ifPresent(b::maxDeletedRatio);
    if (p.keyed().equalityDeletes()) {
      b.equalityDeletes();
    }
    return b.build();
  }

  /**
   * The pipeline's Flight source, not started, allocating below {@code allocator}. The caller
   * (or the pipeline it is given to) closes it.
   *
   * @throws IllegalArgumentException or IllegalStateException from the source's builder
   */
  static FlightSource source(PipelineConfig p, FlightSettings f, BufferAllocator allocator) {
    FlightSource.Builder b = FlightSource.builder(allocator);
    for (StreamConfig s : p.streams()) {
      String uri = s.server().uri();
      switch (s.kind()) {
        case TICKET:
          b.stream(s.id(), uri, new Ticket(s.target().getBytes(StandardCharsets.UTF_8)));
          break;
        case INCREMENTAL:
          b.incremental(s.id(), uri, s.target());
          break;
        default:
          b.discover(s.id(), uri, descriptor(s));
      }
    }
    Server security = p.streams().get(0).server();
    security.basicUser().ifPresent(u -> b.basicAuth(u, security.basicPassword().orElse("")));
    security.bearerToken().ifPresent(b::bearerToken);
    security.trustedCertificates().ifPresent(b::trustedCertificates);
    if (security.clientCertificateChain().isPresent()) {
      b.clientCertificate(security.clientCertificateChain().get(),
          security.clientPrivateKey().orElseThrow());
    }
    f.reconnectAttempts().ifPresent(b::maxReconnectAttempts);
    if (f.reconnectInitial().isPresent() && f.reconnectMax().isPresent()) {
      b.reconnectBackoff(f.reconnectInitial().get(), f.reconnectMax().get());
    }
    f.pollInterval().ifPresent(b::pollInterval);
    f.callTimeout().ifPresent(b::callTimeout);
    f.maxConcurrentStreams().ifPresent(b::maxConcurrentStreams);
    p.shard().ifPresent(s -> b.shard(s.index(), s.count()));
    return b.build();
  }

  /**
   * The pipeline's source, not started: the puts for its ingest table from {@code server}, or
   * its Flight streams. The pipeline it is given to closes it.
   *
   * @throws IllegalStateException if the pipeline reads an ingest table and {@code server} is
   *     null, or from the source's builder
   */
  static Source source(PipelineConfig p, FlightSettings f, BufferAllocator allocator,
      FlightIngestServer server) {
    if (p.ingestTable().isEmpty()) {
      return source(p, f, allocator);
    }
    if (server == null) {
      throw new IllegalStateException("Cannot read ingest table " + p.ingestTable().get()
          + " for " + p.path() + ": there is no ingest server (add the ingest section)");
    }
    return server.source(p.ingestTable().get());
  }

  /**
   * Starts the ingest server, listening until the caller closes it (after the pipelines reading
   * it), with buffers from a child of {@code allocator}.
   *
   * @throws io.crest.errors.SourceException if it cannot listen
   */
  static FlightIngestServer ingestServer(Ingest ingest, BufferAllocator allocator) {
    return IngestSection.builder(ingest, allocator, null).build();
  }

  static FlightDescriptor descriptor(StreamConfig s) {
    return s.discoverCommand() != null
        ? FlightDescriptor.command(s.discoverCommand().getBytes(StandardCharsets.UTF_8))
        : FlightDescriptor.path(s.discoverPath());
  }
}
