package io.crest.ingestor;

import io.crest.CommitEvent;
import io.crest.DeadLetterEvent;
import io.crest.Pipeline;
import io.crest.PipelineListener;
import io.crest.PipelineStats;
import io.crest.errors.PipelineFailedException;
import io.crest.flight.FlightIngestServer;
import io.crest.iceberg.IcebergSink;
import io.crest.micrometer.CrestMetrics;
import io.crest.spi.Source;
import io.crest.ingestor.IngestorConfig.PipelineConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.logging.LoggingMeterRegistry;
import io.micrometer.core.instrument.logging.LoggingRegistryConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command-line ingestor: pipelines from Arrow Flight servers, or from producers putting to its
 * own Flight ingest server (the file's {@code ingest} section), to Iceberg tables, described by
 * one YAML file (see {@code orders.yaml} and {@code ingest.yaml} in the distribution). The command line is parsed by
 * picocli; {@code crest-ingestor --help} prints it with the exit codes.
 *
 * <pre>
 * crest-ingestor check -config orders.yaml   validate the file, then reach every Flight server and the catalog
 * crest-ingestor run -config orders.yaml     run the pipelines until their sources end or SIGTERM
 * crest-ingestor replay -config orders.yaml  replay the pipelines' dead letters into their tables
 * </pre>
 *
 * <p>Exit codes:
 *
 * <ul>
 *   <li>{@value #EXIT_OK}: {@code check} found nothing wrong; {@code run} ended with every
 *       source complete and everything committed; {@code --help}, {@code --version}.
 *   <li>{@value #EXIT_FAILED}: {@code run}: a pipeline could not start or failed (the others were
 *       stopped gracefully); the error is printed. A restart resumes after the last commit.
 *   <li>{@value #EXIT_USAGE}: bad command line.
 *   <li>{@value #EXIT_INVALID_CONFIG}: the file cannot be read or is invalid; every problem is
 *       printed with its file, line and YAML path.
 *   <li>{@value #EXIT_UNREACHABLE}: {@code check}: a Flight server, stream or the catalog did
 *       not answer as configured.
 * </ul>
 *
 * <p>{@code run} stopped by SIGTERM or SIGINT (Ctrl-C) drains, flushes and commits everything it
 * received, then exits with {@value #EXIT_OK}, or {@value #EXIT_FAILED} if a pipeline failed.
 * A second signal exits at once with {@value #EXIT_FAILED}. (In a JVM where the signals cannot
 * be handled, a shutdown hook drains instead and the status is 143.)
 *
 * <p>{@code run} prints a line per commit, and every {@code metrics.logEvery} the pipelines'
 * Micrometer meters ({@link CrestMetrics}) through Micrometer's {@code LoggingMeterRegistry}. With
 * {@code metrics.prometheus} it also serves them for Prometheus to scrape (Micrometer's
 * Prometheus registry behind the Prometheus client's HTTP server), at the URL it prints
 * ({@code metrics http://127.0.0.1:9464/metrics}), from before the first pipeline starts until
 * the last one has stopped (after its final commit). {@code check} makes sure that address can
 * be bound.
 * With an {@code ingest} section, {@code run} starts the ingest server before the pipelines and
 * prints its address ({@code ingest grpc+tcp://127.0.0.1:47480 for tables [...]}; with {@code
 * allowUnauthenticated: true} also a warning on the error stream), closes it after the last
 * pipeline stopped, and runs until SIGTERM, since producers never complete a pipeline; {@code
 * check} starts and closes it once, so the address can be bound and the TLS files work.
 * Secrets (passwords, tokens, catalog property values) are never printed, and problems quote the
 * file's own text, not the environment variables substituted into it.
 *
 * <p>Embedding and tests: {@link #execute}, {@link #check} and {@link #run} return the exit code
 * instead of exiting; {@link #run} stops when its {@link StopSignal} is requested. An instance is
 * stateless between calls and may be used from one thread at a time.
 */
public final class Ingestor {
  /** Success. */
  public static final int EXIT_OK = 0;
  /** A pipeline failed or could not start. */
  public static final int EXIT_FAILED = 1;
  /** Bad command line. */
  public static final int EXIT_USAGE = 2;
  /** The configuration file is unreadable or invalid. */
  public static final int EXIT_INVALID_CONFIG = 3;
  /** {@code check}: something configured did not answer. */
  public static final int EXIT_UNREACHABLE = 4;

  private static final Duration POLL = Duration.ofMillis(200);

  private final Map<String, String> env;
  private final PrintStream out;
  private final PrintStream err;
  private final MeterRegistry extraRegistry;

  /**
   * An ingestor reading variables from {@code env} and printing to {@code out} (progress) and
   * {@code err} (problems). It does not close the streams.
   */
  public Ingestor(Map<String, String> env, PrintStream out, PrintStream err) {
    this(env, out, err, null);
  }

  /** As above, also registering the pipelines' meters in {@code registry} (for tests). */
  Ingestor(Map<String, String> env, PrintStream out, PrintStream err, MeterRegistry registry) {
    this.env = Map.copyOf(Objects.requireNonNull(env, "env"));
    this.out = Objects.requireNonNull(out, "out");
    this.err = Objects.requireNonNull(err, "err");
    this.extraRegistry = registry;
  }

  /**
   * Runs the command line (see {@link #execute}) and exits with its code.
   * SIGTERM and SIGINT (Ctrl-C) ask {@code run} to stop gracefully; a second one exits at once
   * (nothing is lost: a restart resumes after the last commit).
   */
  public static void main(String[] args) {
    StopSignal stop = new StopSignal();
    AtomicInteger exitCode = new AtomicInteger(EXIT_OK);
    // Handle the signals ourselves rather than drain in a shutdown hook: once the JVM shuts
    // down, Iceberg's shared worker pool (an exiting executor with a shutdown hook of its own)
    // rejects the manifest writes of the final commit with RejectedExecutionException.
    boolean handled = Signals.handle("TERM", () -> onSignal(stop, "SIGTERM"))
        & Signals.handle("INT", () -> onSignal(stop, "SIGINT"));
    // Where the signals cannot be handled, or on System.exit from elsewhere: stop in the hook.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (stop.isFinished()) {
        return; // a normal exit
      }
      stop.request();
      try {
        stop.awaitFinished(Duration.ofDays(365));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (exitCode.get() != EXIT_OK) {
        Runtime.getRuntime().halt(exitCode.get()); // the JVM would report 143 (SIGTERM)
      }
    }, "crest-ingestor-shutdown"));
    if (!handled) {
      System.err.println("warn cannot handle SIGTERM and SIGINT in this JVM; stopping in a"
          + " shutdown hook instead, where the last commit may fail");
    }
    int code;
    try {
      code = new Ingestor(System.getenv(), System.out, System.err).execute(List.of(args), stop);
    } catch (RuntimeException | Error e) {
      // A bug or a broken installation: exit rather than leave the pipelines' threads running.
      System.err.println("Cannot run crest-ingestor " + String.join(" ", args) + ": " + e);
      e.printStackTrace();
      code = EXIT_FAILED;
    }
    exitCode.set(code);
    stop.finish();
    System.out.flush();
    System.exit(code);
  }

  private static void onSignal(StopSignal stop, String signal) {
    if (stop.isRequested()) {
      System.err.println(signal + " again: exiting without waiting for the commit (a restart"
          + " resumes after the last commit)");
      Runtime.getRuntime().halt(EXIT_FAILED);
    }
    System.out.println(signal + " received");
    stop.request();
  }

  /**
   * Runs a command line: {@code check -config <file>}, {@code run -config <file>}, {@code
   * --help} or {@code --version} (and the same for each command). Help and version go to {@code
   * out}, a bad command line's problem and the usage to {@code err}.
   *
   * @return the exit code (see the class comment)
   */
  public int execute(List<String> args, StopSignal stop) {
    Objects.requireNonNull(stop, "stop");
    CommandLine cli = new CommandLine(new Cli(this, stop));
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    cli.setParameterExceptionHandler((e, arguments) -> {
      err.println("Cannot run crest-ingestor " + String.join(" ", arguments) + ": "
          + e.getMessage());
      e.getCommandLine().usage(err);
      return EXIT_USAGE;
    });
    cli.setExecutionExceptionHandler((e, commandLine, parsed) -> {
      // A bug or a broken installation: report it rather than leave threads running.
      err.println("Cannot run crest-ingestor " + String.join(" ", args) + ": " + e);
      e.printStackTrace(err);
      return EXIT_FAILED;
    });
    return cli.execute(args.toArray(new String[0]));
  }

  /**
   * Validates {@code config}, then connects to every Flight server (reading each stream's schema
   * or flight info) and to the catalog (listing its namespaces). Prints what works to {@code out}
   * and each problem, with its YAML path, to {@code err}.
   *
   * @return {@value #EXIT_OK}, {@value #EXIT_INVALID_CONFIG} or {@value #EXIT_UNREACHABLE}
   */
  public int check(Path config) {
    IngestorConfig c = read(config);
    if (c == null) {
      return EXIT_INVALID_CONFIG;
    }
    out.println("ok   " + config + ": valid, " + c.pipelines().size() + " pipeline(s), "
        + c.servers().size() + " server(s)"
        + c.ingest().map(i -> ", an ingest server for " + i.tables().size() + " table(s)")
            .orElse(""));
    List<String> problems;
    try (BufferAllocator root = new RootAllocator()) {
      problems = Connectivity.check(c, root, out);
    }
    if (!problems.isEmpty()) {
      err.println("Cannot use ingestor config " + config + ": " + problems.size()
          + (problems.size() == 1 ? " problem" : " problems"));
      problems.forEach(p -> err.println("  " + p));
      return EXIT_UNREACHABLE;
    }
    out.println("ok   everything answers");
    return EXIT_OK;
  }

  /**
   * Starts every pipeline of {@code config} and runs until all sources are complete (exit 0), a
   * pipeline fails (the others are stopped gracefully; exit 1), or {@code stop} is requested:
   * then every pipeline stops reading, writes and commits what it received, and closes (exit 0
   * unless one failed). Prints a line per commit.
   *
   * @return the exit code (see the class comment)
   */
  public int run(Path config, StopSignal stop) {
    Objects.requireNonNull(stop, "stop");
    IngestorConfig c = read(config);
    if (c == null) {
      return EXIT_INVALID_CONFIG;
    }
    CompositeMeterRegistry registry = new CompositeMeterRegistry();
    if (extraRegistry != null) {
      registry.add(extraRegistry);
    }
    LoggingMeterRegistry logging = c.metricsLogEvery().map(this::loggingRegistry).orElse(null);
    if (logging != null) {
      registry.add(logging);
    }
    PrometheusEndpoint endpoint = null;
    int code;
    try (BufferAllocator root = new RootAllocator()) {
      if (c.prometheus().isPresent()) {
        PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        registry.add(prometheus);
        endpoint = PrometheusEndpoint.start(c.prometheus().get(), prometheus);
        out.println("metrics " + endpoint.uri() + " (Prometheus; served until every pipeline"
            + " has stopped)");
      }
      code = runPipelines(c, root, registry, stop);
    } catch (IOException e) {
      err.println(IngestorConfig.Prometheus.PATH + ": " + e.getMessage());
      code = EXIT_FAILED;
    } catch (IllegalStateException e) {
      // The allocator found memory still held at close: a bug, but the commits are done.
      err.println("Cannot close the ingestor's allocator: " + e.getMessage());
      code = EXIT_FAILED;
    } finally {
      // After the final commits, so that a last scrape sees them.
      if (endpoint != null) {
        endpoint.close();
      }
      if (extraRegistry != null) {
        registry.remove(extraRegistry); // the caller's: closing the composite would close it
      }
      registry.close(); // closes the logging registry too, which publishes once more
    }
    return code;
  }

  /**
   * Replays the dead-letter directory of each pipeline in {@code pipelines} (every pipeline of
   * {@code config} with one if empty) into its table, exactly once per file (see {@link Replay}).
   * Prints a line per file read: rows committed, or rows rejected again and why.
   *
   * @return {@value #EXIT_OK}, {@value #EXIT_FAILED} if a replay failed, {@value #EXIT_USAGE} if a
   *     named pipeline does not exist or has no dead-letter directory, or {@value
   *     #EXIT_INVALID_CONFIG}
   */
  public int replay(Path config, List<String> pipelines, StopSignal stop) {
    Objects.requireNonNull(stop, "stop");
    IngestorConfig c = read(config);
    if (c == null) {
      return EXIT_INVALID_CONFIG;
    }
    try (BufferAllocator root = new RootAllocator()) {
      return new Replay(out, err).run(c, pipelines, root, stop);
    }
  }

  private int runPipelines(IngestorConfig c, BufferAllocator root, MeterRegistry registry,
      StopSignal stop) {
    Map<String, Pipeline> pipelines = new LinkedHashMap<>();
    FlightIngestServer ingest = null;
    int code = EXIT_OK;
    try {
      if (c.ingest().isPresent()) {
        ingest = Pipelines.ingestServer(c.ingest().get(), root);
        out.println("ingest " + ingest.uri() + " for tables " + ingest.tables());
        if (c.ingest().get().allowUnauthenticated()) {
          err.println("warn ingest.allowUnauthenticated: the ingest server at " + ingest.uri()
              + " accepts puts from anyone who can reach it (no user, bearer token or client"
              + " certificate is required)");
        }
      }
      for (PipelineConfig p : c.pipelines()) {
        IcebergSink sink = Pipelines.sink(p, c.catalog());
        Source source = Pipelines.source(p, c.flight(), root, ingest);
        Pipeline.Builder b = Pipeline.from(source).id(p.id()).batch(p.batch());
        p.bufferLimit().ifPresent(b::bufferLimit);
        p.deadLetter().ifPresent(b::deadLetter);
        Pipeline pipeline = b
            .listener(new Progress(p.id(), out, err))
            .listener(CrestMetrics.builder(registry).pipeline(source.pipelineId(p.id()))
                .table(sink.name()).build())
            .to(sink);
        pipelines.put(p.id(), pipeline);
        out.println("start " + p.id() + ": " + source.name() + " -> " + sink.name() + ", "
            + p.batch() + ", " + p.commit().name() + p.keyed() + ", schema "
            + p.evolution().name());
        pipeline.start();
      }
      out.println("running " + pipelines.size() + " pipeline(s); stop with SIGTERM or Ctrl-C");
      code = supervise(pipelines, stop);
    } catch (RuntimeException e) {
      err.println("Cannot start pipelines: " + e.getMessage());
      code = EXIT_FAILED;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("Cannot wait for the pipelines: interrupted; stopping them");
      code = EXIT_FAILED;
    }
    for (Pipeline p : pipelines.values()) {
      try {
        p.stop();
      } catch (PipelineFailedException e) {
        if (code == EXIT_OK) {
          err.println("pipeline " + p.id() + " failed: " + rootMessage(e));
        }
        code = EXIT_FAILED;
      } catch (RuntimeException e) {
        err.println("Cannot stop pipeline " + p.id() + ": " + e.getMessage());
        code = EXIT_FAILED;
      }
      PipelineStats s = p.stats();
      out.printf(Locale.ROOT, "done  %s: %s, %,d rows in %,d commits, %,d files, %.1f MiB%n",
          p.id(), p.state(), s.rowsCommitted(), s.commits(), s.filesCommitted(),
          s.bytesCommitted() / 1048576.0);
    }
    if (ingest != null) {
      try {
        ingest.close(); // after the pipelines reading it
      } catch (RuntimeException e) {
        err.println("Cannot close the ingest server: " + e.getMessage());
        code = EXIT_FAILED;
      }
    }
    return code;
  }

  /** Waits for the end: all idle, one failed, or a stop request. */
  private int supervise(Map<String, Pipeline> pipelines, StopSignal stop)
      throws InterruptedException {
    while (true) {
      if (stop.awaitRequest(POLL)) {
        out.println("stop requested: draining, flushing and committing");
        return EXIT_OK;
      }
      boolean allIdle = true;
      for (Pipeline p : pipelines.values()) {
        try {
          allIdle &= p.awaitIdle(Duration.ZERO);
        } catch (PipelineFailedException e) {
          err.println("pipeline " + p.id() + " failed: " + rootMessage(e)
              + "; stopping the others");
          return EXIT_FAILED;
        }
      }
      if (allIdle) {
        out.println("every source is complete and committed");
        return EXIT_OK;
      }
    }
  }

  private static String rootMessage(PipelineFailedException e) {
    return e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
  }

  private IngestorConfig read(Path config) {
    try {
      return new ConfigReader(env).read(config);
    } catch (ConfigException e) {
      err.println(e.getMessage());
      return null;
    }
  }

  private LoggingMeterRegistry loggingRegistry(Duration every) {
    LoggingRegistryConfig config = new LoggingRegistryConfig() {
      @Override
      public String get(String key) {
        return null;
      }

      @Override
      public Duration step() {
        return every;
      }
    };
    return LoggingMeterRegistry.builder(config).loggingSink(line -> out.println("meter " + line))
        .build();
  }

  /** The command line, as picocli parses it; {@code check} and {@code run} are its methods. */
  @Command(name = "crest-ingestor", mixinStandardHelpOptions = true,
      versionProvider = Version.class, sortOptions = false, usageHelpAutoWidth = true,
      description = "Ingests Arrow Flight streams into Apache Iceberg tables, as one YAML file"
          + " describes.",
      synopsisSubcommandLabel = "(check | run | replay)",
      exitCodeListHeading = "%nExit codes:%n",
      exitCodeList = {
          EXIT_OK + ":check found nothing wrong; run ended with every source complete and"
              + " committed, or stopped by SIGTERM/Ctrl-C after draining and committing",
          EXIT_FAILED + ":run: a pipeline could not start or failed (the others were stopped"
              + " gracefully); a restart resumes after the last commit",
          EXIT_USAGE + ":bad command line",
          EXIT_INVALID_CONFIG + ":the file cannot be read or is invalid (every problem is"
              + " printed with file, line and YAML path)",
          EXIT_UNREACHABLE + ":check: a Flight server, stream, the catalog or the metrics"
              + " address did not answer as configured"},
      footerHeading = "%nExample:%n",
      footer = {"  crest-ingestor check -config orders.yaml",
          "  crest-ingestor run -config orders.yaml",
          "  crest-ingestor replay -config orders.yaml -pipeline orders-ingest"})
  static final class Cli implements Callable<Integer> {
    private final Ingestor ingestor;
    private final StopSignal stop;
    @Spec private CommandSpec spec;

    Cli(Ingestor ingestor, StopSignal stop) {
      this.ingestor = ingestor;
      this.stop = stop;
    }

    /** No command given. */
    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      err.println("Cannot run crest-ingestor: missing command (check, run or replay)");
      spec.commandLine().usage(err);
      return EXIT_USAGE;
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
        description = "Validates the file, then reaches every Flight server, stream and the"
            + " catalog, and binds the ingest server's and the metrics address.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {EXIT_OK + ":everything is valid and answers",
            EXIT_USAGE + ":bad command line",
            EXIT_INVALID_CONFIG + ":the file is unreadable or invalid",
            EXIT_UNREACHABLE + ":something configured did not answer"})
    int check(@Option(names = {"-config", "--config"}, required = true,
        paramLabel = "<file.yaml>", description = "the ingestor's YAML file") Path config) {
      return ingestor.check(config);
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs the pipelines until their sources end, or SIGTERM or Ctrl-C (which"
            + " drain, flush and commit what was received; a second one exits at once).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {EXIT_OK + ":every source complete and committed, or stopped gracefully",
            EXIT_FAILED + ":a pipeline could not start or failed",
            EXIT_USAGE + ":bad command line",
            EXIT_INVALID_CONFIG + ":the file is unreadable or invalid"})
    int run(@Option(names = {"-config", "--config"}, required = true,
        paramLabel = "<file.yaml>", description = "the ingestor's YAML file") Path config) {
      return ingestor.run(config, stop);
    }

    @Command(name = "replay", mixinStandardHelpOptions = true,
        description = "Replays the dead-letter directory of each pipeline (or of those named)"
            + " into its table with the file's current settings, exactly once per file (as"
            + " pipeline <id>-replay); prints per file the rows committed or rejected again"
            + " (those go to <deadLetter>/replay-rejected/).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {EXIT_OK + ":every file replayed (rows rejected again are printed)",
            EXIT_FAILED + ":a replay failed; run it again after fixing the cause",
            EXIT_USAGE + ":bad command line, or a named pipeline has no dead-letter directory",
            EXIT_INVALID_CONFIG + ":the file is unreadable or invalid"})
    int replay(@Option(names = {"-config", "--config"}, required = true,
            paramLabel = "<file.yaml>", description = "the ingestor's YAML file") Path config,
        @Option(names = {"-pipeline", "--pipeline"}, paramLabel = "<id>",
            description = "a pipeline to replay (repeatable); default: every pipeline with a"
                + " deadLetter directory") List<String> pipelines) {
      return ingestor.replay(config, pipelines == null ? List.of() : pipelines, stop);
    }
  }

  /** {@code --version}: the version this jar was built as. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws IOException {
      Properties p = new Properties();
      try (InputStream in = Ingestor.class.getResourceAsStream("version.properties")) {
        if (in != null) {
          p.load(in);
        }
      }
      return new String[] {"crest-ingestor " + p.getProperty("version", "(unknown version)"),
          "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor")
              + ")"};
    }
  }

  /** Prints a line per commit and dead letter, and the failure. */
  private static final class Progress implements PipelineListener {
    private final String id;
    private final PrintStream out;
    private final PrintStream err;
    private final AtomicLong total = new AtomicLong();

    Progress(String id, PrintStream out, PrintStream err) {
      this.id = id;
      this.out = out;
      this.err = err;
    }

    @Override
    public void onCommit(CommitEvent e) {
      long sum = total.addAndGet(e.rows());
      out.printf(Locale.ROOT,
          "commit %s: %s, +%,d rows (%,d total), %d file(s), %.1f MiB, %d ms%n",
          id, e.reference(), e.rows(), sum, e.files(), e.bytes() / 1048576.0,
          e.latency().toMillis());
    }

    @Override
    public void onDeadLetter(DeadLetterEvent e) {
      err.printf(Locale.ROOT, "dead-letter %s: %,d rows of stream %s up to %s to %s: %s%n",
          id, e.rows(), e.stream(), e.positionAfter(), e.file(), e.reason());
    }

    @Override
    public void onFailure(Throwable error) {
      err.println("failed " + id + ": " + error.getMessage());
    }

    @Override
    public String toString() {
      return "progress of " + id;
    }
  }
}
