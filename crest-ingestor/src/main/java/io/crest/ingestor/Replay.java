package io.crest.ingestor;

import io.crest.BatchEvent;
import io.crest.BatchPolicy;
import io.crest.DeadLetterEvent;
import io.crest.DeadLetters;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.errors.PipelineFailedException;
import io.crest.iceberg.IcebergSink;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;

/**
 * {@code crest-ingestor replay}: brings a pipeline's dead letters back into its table, once the
 * table or the configured policy that rejected them was fixed.
 *
 * <p>For each chosen pipeline with a {@code deadLetter} directory, a replay pipeline with id
 * {@code <id>-replay} reads the directory's files that pipeline wrote ({@link
 * DeadLetters#replay(Path, BufferAllocator, String)}) into the pipeline's table with its
 * configured sink (table, evolution, commit strategy, ...). Each file is one stream whose position
 * the replay pipeline commits, so a file is replayed exactly once however often {@code replay}
 * runs; the files stay where they are. A batch the sink rejects again goes to {@code
 * <deadLetter>/replay-rejected/}, which the replay does not read. Prints one line per file read in
 * this run: rows committed, or rows rejected again with the reason.
 *
 * <p>Not thread-safe; one call at a time.
 */
final class Replay {
  /** Where batches rejected again go, below the dead-letter directory. */
  static final String REJECTED_AGAIN = "replay-rejected";

  private final PrintStream out;
  private final PrintStream err;

  Replay(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /**
   * Replays the dead letters of {@code pipelines} (every pipeline of the file if empty).
   *
   * @return {@link Ingestor#EXIT_OK}, {@link Ingestor#EXIT_FAILED} if a replay failed, or {@link
   *     Ingestor#EXIT_USAGE} if a named pipeline does not exist or has no dead-letter directory
   */
  int run(IngestorConfig config, List<String> pipelines, BufferAllocator root, StopSignal stop) {
    List<PipelineConfig> chosen = config.pipelines().stream()
        .filter(p -> pipelines.isEmpty() || pipelines.contains(p.id()))
        .toList();
    for (String id : pipelines) {
      PipelineConfig p = chosen.stream().filter(c -> c.id().equals(id)).findFirst().orElse(null);
      if (p == null || p.deadLetter().isEmpty()) {
        err.println("Cannot replay pipeline " + id + ": "
            + (p == null ? "the file has no such pipeline (ids: "
                + config.pipelines().stream().map(PipelineConfig::id).toList() + ")"
                : "it has no deadLetter directory"));
        return Ingestor.EXIT_USAGE;
      }
    }
    int code = Ingestor.EXIT_OK;
    for (PipelineConfig p : chosen) {
      if (p.deadLetter().isEmpty()) {
        out.println("skip  " + p.id() + ": no deadLetter directory");
        continue;
      }
      if (stop.isRequested()) {
        break;
      }
      if (!replay(p, config, root, stop)) {
        code = Ingestor.EXIT_FAILED;
      }
    }
    return code;
  }

  private boolean replay(PipelineConfig p, IngestorConfig config, BufferAllocator root,
      StopSignal stop) {
    Path dir = p.deadLetter().get();
    String replayId = p.id() + "-replay";
    if (!Files.isDirectory(dir)) {
      out.println("replay " + p.id() + ": " + dir + " does not exist; nothing to replay");
      return true;
    }
    PerFile files = new PerFile();
    IcebergSink sink = Pipelines.sink(p, config.catalog());
    out.println("replay " + p.id() + ": " + dir + " -> " + sink.name() + " as pipeline "
        + replayId + ", schema " + p.evolution().name());
    Pipeline pipeline = Pipeline.from(DeadLetters.replay(dir, root, p.id()))
        .id(replayId)
        // One commit per file batch: a dead-letter file holds one batch.
        .batch(BatchPolicy.rows(1))
        .deadLetter(dir.resolve(REJECTED_AGAIN))
        .listener(files)
        .to(sink);
    boolean ok = true;
    try {
      pipeline.start();
      while (!pipeline.awaitIdle(Duration.ofMillis(200))) {
        if (stop.isRequested()) {
          out.println("stop requested: committing what was replayed");
          break;
        }
      }
    } catch (PipelineFailedException e) {
      ok = false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      ok = false;
    } finally {
      try {
        pipeline.close();
      } catch (PipelineFailedException e) {
        err.println("failed replay of " + p.id() + ": "
            + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()));
        ok = false;
      }
    }
    files.print(p.id(), ok, out, err);
    return ok;
  }

  /** Counts, per dead-letter file (stream), the rows read and the rows rejected again. */
  private static final class PerFile implements PipelineListener {
    private final Map<String, AtomicLong> read = new ConcurrentHashMap<>();
    private final Map<String, DeadLetterEvent> rejected = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> rejectedRows = new ConcurrentHashMap<>();

    @Override
    public void onBatch(BatchEvent e) {
      read.computeIfAbsent(e.stream(), k -> new AtomicLong()).addAndGet(e.rows());
    }

    @Override
    public void onDeadLetter(DeadLetterEvent e) {
      rejected.put(e.stream(), e);
      rejectedRows.computeIfAbsent(e.stream(), k -> new AtomicLong()).addAndGet(e.rows());
    }

    void print(String id, boolean ok, PrintStream out, PrintStream err) {
      Map<String, Boolean> streams = new TreeMap<>();
      read.keySet().forEach(s -> streams.put(s, true));
      rejected.keySet().forEach(s -> streams.put(s, true));
      long committed = 0;
      long again = 0;
      for (String file : streams.keySet()) {
        long rejectedCount = rejectedRows.getOrDefault(file, new AtomicLong()).get();
        long written = read.getOrDefault(file, new AtomicLong()).get();
        committed += written;
        again += rejectedCount;
        if (written > 0) {
          out.printf(Locale.ROOT, "replayed %s %s: %,d rows %s%n", id, file, written,
              ok ? "committed" : "read (the replay failed: what its last commit lacks is read"
                  + " again by the next replay)");
        }
        if (rejectedCount > 0) {
          DeadLetterEvent e = rejected.get(file);
          err.printf(Locale.ROOT, "rejected again %s %s: %,d rows to %s: %s%n", id, file,
              rejectedCount, e.file(), e.reason());
        }
      }
      out.printf(Locale.ROOT, "done  replay %s: %d file(s) read in this run, %,d rows %s,"
          + " %,d rows rejected again (files replayed by an earlier run are skipped)%n", id,
          streams.size(), committed, ok ? "committed" : "read", again);
    }
  }
}
