package io.crest.flight;

import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import io.crest.testing.MemorySink.Pending;
import io.crest.testing.TestBatches;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A sink for crash tests that commits to a directory, one file per commit, so that its commits
 * survive a SIGKILL of the JVM: a commit file (the positions on its first line, then the ids) is
 * written under a temporary name, forced, renamed and the directory forced. A file with its final
 * name is a complete commit; nothing else is. One pipeline at a time; not thread-safe beyond what
 * {@link SinkWriter} requires.
 */
final class DirectorySink implements Sink {
  private static final String PREFIX = "commit-";

  private final Path directory;

  DirectorySink(Path directory) {
    this.directory = directory;
  }

  @Override
  public String name() {
    return "directory[" + directory.getFileName() + "]";
  }

  /** How often each id is in the committed files of {@code directory}. */
  static Map<Long, Integer> committedIds(Path directory) throws IOException {
    Map<Long, Integer> seen = new HashMap<>();
    for (Path file : commitFiles(directory)) {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      for (String id : lines.subList(1, lines.size())) {
        seen.merge(Long.parseLong(id), 1, Integer::sum);
      }
    }
    return seen;
  }

  private static List<Path> commitFiles(Path directory) throws IOException {
    if (!Files.isDirectory(directory)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(directory)) {
      return files.filter(f -> f.getFileName().toString().startsWith(PREFIX)).sorted()
          .collect(Collectors.toList());
    }
  }

  @Override
  public SinkWriter open(SinkContext context) {
    try {
      Files.createDirectories(directory);
      return new Writer(commitFiles(directory));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot open " + name() + ": " + e.getMessage(), e);
    }
  }

  private final class Writer implements SinkWriter {
    private final List<Long> pending = new ArrayList<>();
    private final CommittedState restored;
    private int commits;

    Writer(List<Path> existing) throws IOException {
      commits = existing.size();
      if (existing.isEmpty()) {
        restored = CommittedState.empty();
      } else {
        Path last = existing.get(existing.size() - 1);
        String first = Files.readAllLines(last, StandardCharsets.UTF_8).get(0);
        Map<String, SourcePosition> positions = new TreeMap<>();
        for (String entry : first.isEmpty() ? new String[0] : first.split(";")) {
          int eq = entry.indexOf('=');
          positions.put(entry.substring(0, eq), SourcePosition.of(entry.substring(eq + 1)));
        }
        restored = CommittedState.of(last.getFileName().toString(), positions);
      }
    }

    @Override
    public CommittedState restoredState() {
      return restored;
    }

    @Override
    public void write(SourceBatch batch) {
      pending.addAll(TestBatches.ids(batch.root()));
    }

    @Override
    public Committable prepareCommit(Map<String, SourcePosition> positions) {
      // Without pending ids this is a commit that only records the moved positions.
      Pending committable = new Pending(UUID.randomUUID().toString(), List.copyOf(pending),
          Map.copyOf(positions));
      pending.clear();
      return committable;
    }

    @Override
    public CommitResult commit(Committable committable) {
      Pending p = (Pending) committable;
      String name = String.format("%s%08d", PREFIX, ++commits);
      StringBuilder text = new StringBuilder(new TreeMap<>(p.positions()).entrySet().stream()
          .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(";")));
      p.ids().forEach(id -> text.append('\n').append(id));
      Path temp = directory.resolve("." + name + ".tmp");
      try {
        // A temporary file of the same name is left from a killed run: an incomplete commit.
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
          channel.write(StandardCharsets.UTF_8.encode(text.toString()));
          channel.force(true);
        }
        Files.move(temp, directory.resolve(name), StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
          dir.force(true);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("Cannot commit " + p.commitId() + " to " + name() + ": "
            + e.getMessage(), e);
      }
      return CommitResult.of(name);
    }

    @Override
    public void abort(Committable committable) {}

    @Override
    public void close() {}
  }
}
