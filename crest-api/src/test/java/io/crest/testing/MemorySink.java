package io.crest.testing;

import io.crest.errors.CommitFailedException;
import io.crest.spi.CommitResult;
import io.crest.spi.Committable;
import io.crest.spi.CommittedState;
import io.crest.spi.Sink;
import io.crest.spi.SinkContext;
import io.crest.spi.SinkWriter;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * A sink that keeps committed ids in memory, surviving pipeline runs like a table would, with
 * hooks to slow or fail writes and commits. Thread-safe as {@link SinkWriter} requires.
 */
public final class MemorySink implements Sink {
  /** One commit as the sink saw it. */
  public record Commit(String commitId, List<Long> ids, Map<String, SourcePosition> positions) {}

  private final List<Commit> commits = new CopyOnWriteArrayList<>();
  private final List<String> aborted = new CopyOnWriteArrayList<>();
  private final AtomicInteger failCommits = new AtomicInteger();
  private volatile Consumer<SourceBatch> writeHook = b -> {};
  private volatile Semaphore commitGate;

  @Override
  public String name() {
    return "memory";
  }

  /** Runs {@code hook} before each write, for example to block or throw. */
  public MemorySink onWrite(Consumer<SourceBatch> hook) {
    this.writeHook = hook;
    return this;
  }

  /** Makes the next {@code n} commits fail definitely. */
  public MemorySink failNextCommits(int n) {
    failCommits.set(n);
    return this;
  }

  /** Makes each commit take a permit of {@code gate} first. */
  public MemorySink gateCommits(Semaphore gate) {
    this.commitGate = gate;
    return this;
  }

  /** Commits that landed, in order. */
  public List<Commit> commits() {
    return List.copyOf(commits);
  }

  /** Ids of aborted commits. */
  public List<String> aborted() {
    return List.copyOf(aborted);
  }

  /** Every committed id, in commit order. */
  public List<Long> committedIds() {
    List<Long> all = new ArrayList<>();
    commits.forEach(c -> all.addAll(c.ids()));
    return all;
  }

  @Override
  public SinkWriter open(SinkContext context) {
    return new SinkWriter() {
      private final List<Long> pending = new ArrayList<>();

      @Override
      public CommittedState restoredState() {
        if (commits.isEmpty()) {
          return CommittedState.empty();
        }
        Commit last = commits.get(commits.size() - 1);
        return CommittedState.of(last.commitId(), last.positions());
      }

      @Override
      public void write(SourceBatch batch) {
        writeHook.accept(batch);
        pending.addAll(TestBatches.ids(batch.root()));
      }

      @Override
      public Committable prepareCommit(Map<String, SourcePosition> positions) {
        // Without pending ids this is a commit that only records the moved positions.
        List<Long> ids = List.copyOf(pending);
        pending.clear();
        return new Pending(UUID.randomUUID().toString(), ids, positions);
      }

      @Override
      public CommitResult commit(Committable committable) {
        Semaphore gate = commitGate;
        if (gate != null) {
          gate.acquireUninterruptibly();
        }
        if (failCommits.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
          throw new CommitFailedException(
              "Cannot commit " + committable.commitId() + " to memory: injected failure", null);
        }
        Pending p = (Pending) committable;
        commits.add(new Commit(p.commitId(), p.ids(), p.positions()));
        return CommitResult.of("commit " + commits.size());
      }

      @Override
      public void abort(Committable committable) {
        aborted.add(committable.commitId());
      }

      @Override
      public void close() {}
    };
  }

  /**
   * The committable of test sinks that keep ids: the ids written since the last commit (none for a
   * commit that only moves positions), with the positions after them. Immutable.
   */
  public record Pending(String commitId, List<Long> ids, Map<String, SourcePosition> positions)
      implements Committable {
    @Override
    public long rowCount() {
      return ids.size();
    }

    @Override
    public int fileCount() {
      return ids.isEmpty() ? 0 : 1;
    }

    @Override
    public long byteCount() {
      return ids.size() * 8L;
    }
  }
}
