package io.crest.ingestor;

import io.crest.ingestor.ConfigFile.StreamFile;
import io.crest.ingestor.IngestorConfig.Server;
import io.crest.ingestor.IngestorConfig.StreamConfig;
import io.crest.ingestor.IngestorConfig.StreamKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks the {@code streams} of a pipeline (what it reads from Flight servers), reporting
 * problems through the {@link ConfigReader} that reads the file: the server each names, exactly
 * one of ticket, incremental, discover and discoverCommand, and stream ids unique in the
 * pipeline. Stateless.
 */
final class StreamSection {
  private static final List<String> STREAM_KINDS =
      List.of("ticket", "incremental", "discover", "discoverCommand");

  private StreamSection() {}

  /**
   * {@code pipelines[i].streams} at {@code path}: the streams, or null and a problem when the
   * list is missing or empty (a bad item is a problem and left out).
   */
  static List<StreamConfig> read(ConfigReader reader, List<StreamFile> streams, String path,
      Map<String, Server> servers) {
    ConfigBinder binder = reader.binder();
    if (streams == null) {
      if (!reader.failed(path)) {
        reader.problem(path, "missing (a list of streams, such as {server: orders, ticket:"
            + " orders_mv}, or ingest: {table: <name>} to read the puts of the ingest server)");
      }
      return null;
    }
    if (streams.isEmpty()) {
      reader.problem(path, "empty (a pipeline reads at least one stream)");
      return null;
    }
    List<StreamConfig> result = new ArrayList<>();
    Map<String, String> ids = new HashMap<>();
    Server first = null;
    for (int i = 0; i < streams.size(); i++) {
      String sp = path + "[" + i + "]";
      StreamFile s = streams.get(i);
      if (s == null) {
        continue; // a problem already, or an empty list item
      }
      String serverName = reader.required(s.server(), sp + ".server",
          "the name of a server under servers");
      Server server = null;
      if (serverName != null && servers != null) {
        server = servers.get(serverName);
        if (server == null) {
          reader.problem(sp + ".server", "unknown server \"" + serverName + "\" (defined: "
              + String.join(", ", servers.keySet()) + ")");
        } else if (first == null) {
          first = server;
        } else if (!first.sameSecurity(server)) {
          reader.problem(sp + ".server", "server " + serverName + " has other credentials or TLS"
              + " files than server " + first.name() + " (a pipeline reads all its streams"
              + " with one set; put these streams in another pipeline)");
        }
      }
      List<String> kinds = STREAM_KINDS.stream().filter(k -> binder.present(sp + "." + k))
          .toList();
      if (kinds.size() != 1) {
        reader.problem(sp, (kinds.isEmpty() ? "sets none of" : "sets more than one of")
            + " ticket, incremental, discover, discoverCommand (set exactly one)");
        continue;
      }
      String id = s.id();
      String kp = sp + "." + kinds.get(0);
      StreamConfig stream = null;
      switch (kinds.get(0)) {
        case "ticket":
          if (reader.required(s.ticket(), kp, "the ticket text, such as a view name") == null) {
            break;
          } else if (s.ticket().isEmpty()) {
            reader.problem(kp, "empty");
          } else {
            stream = new StreamConfig(sp, server, StreamKind.TICKET,
                id != null ? id : s.ticket(), s.ticket(), List.of(), null);
          }
          break;
        case "incremental":
          String view = reader.required(s.incremental(), kp, "the view name");
          if (view != null && (view.isEmpty() || view.contains("\n"))) {
            reader.problem(kp, "must be a non-empty view name without line feeds");
          } else if (view != null) {
            stream = new StreamConfig(sp, server, StreamKind.INCREMENTAL,
                id != null ? id : view, view, List.of(), null);
          }
          break;
        case "discover":
          List<String> parts = ConfigReader.list(s.discover());
          if (parts.isEmpty()) {
            reader.problem(kp, "empty (the descriptor path, such as [sales])");
          } else {
            stream = new StreamConfig(sp, server, StreamKind.DISCOVER,
                id != null ? id : serverName, String.join("/", parts), parts,
                null);
          }
          break;
        default:
          String command = reader.required(s.discoverCommand(), kp, "the descriptor command");
          if (command != null) {
            stream = new StreamConfig(sp, server, StreamKind.DISCOVER,
                id != null ? id : serverName, command, List.of(), command);
          }
      }
      if (stream == null || stream.id() == null) {
        continue;
      }
      if (stream.kind() == StreamKind.DISCOVER
          && (stream.id().isBlank() || stream.id().contains("/"))) {
        reader.problem(sp + ".id", "a discovery id must be non-blank and have no '/'");
      }
      String earlier = ids.putIfAbsent(stream.id(), sp);
      if (earlier != null) {
        reader.problem(sp + ".id", "stream id \"" + stream.id() + "\" is already used by " + earlier
            + " (give one of them another id)");
      }
      result.add(stream);
    }
    return result;
  }
}
