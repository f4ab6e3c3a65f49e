package io.crest.iceberg.commit;

import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * An executor that runs each task on the thread that submits it, for Iceberg's manifest work in
 * a commit. Iceberg's {@code Tasks} and {@code ParallelIterable} wait for tasks given to an
 * executor by polling every 10 ms; a commit has about five such stages (filtering and merging
 * manifests, writing data and delete manifests, the manifest list), so a thread pool added some
 * 50-75 ms of sleeping to every keyed commit. Run here, each task is done before it is waited on.
 * Like a pool of our own, it is not Iceberg's shared worker pool, which Iceberg's JVM shutdown hook
 * shuts down: a pipeline stopped from a shutdown hook can still commit.
 *
 * <p>Thread-safe; it holds no thread, so {@link #shutdown} only refuses further tasks.
 */
final class CallerRunsExecutor extends AbstractExecutorService {
  private volatile boolean shutdown;

  @Override
  public void execute(Runnable command) {
    if (shutdown) {
      throw new java.util.concurrent.RejectedExecutionException(
          "Cannot run a manifest task: the committer is closed");
    }
    command.run();
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  @Override
  public List<Runnable> shutdownNow() {
    shutdown = true;
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return shutdown;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return shutdown;
  }
}
