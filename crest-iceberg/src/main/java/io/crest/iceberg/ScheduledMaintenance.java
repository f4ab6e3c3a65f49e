package io.crest.iceberg;

import io.crest.CommitEvent;
import io.crest.PipelineListener;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.iceberg.Table;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs table maintenance from a pipeline: registered as a listener, it starts a maintenance task
 * on its own background thread after every {@code n} commits, one run at a time (a run still going
 * when the next is due is not doubled), so commits never wait for it.
 *
 * <pre>{@code
 * ScheduledMaintenance maintenance = ScheduledMaintenance.everyCommits(50,
 *     () -> catalog.loadTable(id), m -> { m.compact(10); m.expireSnapshots(Duration.ofDays(1), 20); });
 * Pipeline.from(source).id("orders").listener(maintenance).to(sink);   // close maintenance after the pipeline
 * }</pre>
 *
 * <p>Thread-safe. A failing run is logged and counted, and the next one is tried as scheduled.
 * {@link #close} waits for a run in progress and stops the thread; the caller closes it.
 */
public final class ScheduledMaintenance implements PipelineListener, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScheduledMaintenance.class);

  private final int everyCommits;
  private final Supplier<Table> table;
  private final Consumer<TableMaintenance> task;
  private final ExecutorService executor;
  private final AtomicLong commits = new AtomicLong();
  private final AtomicBoolean running = new AtomicBoolean();
  private final AtomicLong runs = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  private ScheduledMaintenance(int everyCommits, Supplier<Table> table, Consumer<TableMaintenance> task) {
    this.everyCommits = everyCommits;
    this.table = table;
    this.task = task;
    this.executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "crest-maintenance");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Runs {@code task} on the table {@code table} supplies (loaded afresh for each run) after every
   * {@code everyCommits} commits.
   *
   * @throws IllegalArgumentException if {@code everyCommits} is not positive
   */
  public static ScheduledMaintenance everyCommits(
      int everyCommits, Supplier<Table> table, Consumer<TableMaintenance> task) {
    if (everyCommits < 1) {
      throw new IllegalArgumentException(
          "Cannot schedule maintenance every " + everyCommits + " commits: it must be at least 1");
    }
    return new ScheduledMaintenance(
        everyCommits, Objects.requireNonNull(table, "table"), Objects.requireNonNull(task, "task"));
  }

  @Override
  public void onCommit(CommitEvent event) {
    if (commits.incrementAndGet() % everyCommits == 0 && running.compareAndSet(false, true)) {
      executor.execute(this::run);
    }
  }

  private void run() {
    try {
      task.accept(TableMaintenance.of(table.get()));
      runs.incrementAndGet();
    } catch (RuntimeException e) {
      failures.incrementAndGet();
      LOG.warn("Scheduled maintenance failed; it runs again after {} more commits", everyCommits, e);
    } finally {
      running.set(false);
    }
  }

  /** Runs that completed. */
  public long completedRuns() {
    return runs.get();
  }

  /** Runs that failed. */
  public long failedRuns() {
    return failures.get();
  }

  @Override
  public void close() {
    executor.shutdown();
    try {
      if (!executor.awaitTermination(5, TimeUnit.MINUTES)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
