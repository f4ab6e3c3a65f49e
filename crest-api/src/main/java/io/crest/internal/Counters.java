package io.crest.internal;

import io.crest.PipelineStats;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pipeline's counters: what came in (writer thread) and what was committed (committer thread).
 * Thread-safe; each counter is exact, a snapshot of several is not atomic.
 */
final class Counters {
  final AtomicLong rowsIn = new AtomicLong();
  final AtomicLong batchesIn = new AtomicLong();
  final AtomicLong bytesIn = new AtomicLong();
  final AtomicLong rowsCommitted = new AtomicLong();
  final AtomicLong filesCommitted = new AtomicLong();
  final AtomicLong bytesCommitted = new AtomicLong();
  final AtomicLong commits = new AtomicLong();
  final AtomicLong lastCommitNanos = new AtomicLong();
  final AtomicLong deadLettered = new AtomicLong();
  final AtomicLong commitConflicts = new AtomicLong();
  final AtomicLong commitRetries = new AtomicLong();

  /** The counters now, with the errors and buffered bytes counted elsewhere. */
  PipelineStats snapshot(long errors, long bufferedBytes) {
    return new PipelineStats(
        rowsIn.get(),
        batchesIn.get(),
        bytesIn.get(),
        rowsCommitted.get(),
        filesCommitted.get(),
        bytesCommitted.get(),
        commits.get(),
        Duration.ofNanos(lastCommitNanos.get()),
        errors,
        deadLettered.get(),
        bufferedBytes,
        commitConflicts.get(),
        commitRetries.get());
  }
}
