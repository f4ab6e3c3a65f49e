package io.crest.flight;

import io.crest.spi.CommittedState;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a sharded {@link FlightSource} picks its streams and their positions: the streams its
 * {@link Shard} owns, each resumed from the newest position that any shard of the same pipeline
 * (of any shard count) committed, and the positions it must forget so that its commits carry only
 * what it reads. Stateless.
 */
final class ShardPositions {
  private static final Logger LOG = LoggerFactory.getLogger(FlightSource.class);

  private ShardPositions() {}

  /**
   * Every stream's newest position over the last commits of all pipelines {@code
   * <base>-shard-*}, the newest commit winning; {@code null} when the sink cannot list them.
   */
  static Map<String, SourcePosition> newest(SourceContext context, Shard shard, String source) {
    String id = context.pipelineId();
    String base = id.endsWith(shard.idSuffix())
        ? id.substring(0, id.length() - shard.idSuffix().length()) : id;
    String prefix = base + "-shard-";
    Map<String, CommittedState> states;
    try {
      states = context.committedStates(prefix);
    } catch (UnsupportedOperationException e) {
      LOG.warn("Source {} cannot read the positions other shards committed ({}): if the shard"
          + " count changed, streams that moved to {} are read from their start", source,
          e.getMessage(), shard);
      return null;
    }
    Map<String, SourcePosition> newest = new HashMap<>();
    for (Map.Entry<String, CommittedState> e : states.entrySet()) { // newest commit first
      for (Map.Entry<String, SourcePosition> p : e.getValue().positions().entrySet()) {
        newest.putIfAbsent(p.getKey(), p.getValue());
      }
    }
    Set<String> others = new TreeSet<>(states.keySet());
    others.remove(id);
    if (!others.isEmpty()) {
      LOG.info("Source {} ({} of pipeline {}) resumes each stream from the newest position of"
          + " pipelines {} and {}", source, shard, base, id, others);
    }
    return newest;
  }

  /** The streams of discovery {@code discoveryId} that {@code shard} reads, in found order. */
  static List<StreamSpec> owned(Shard shard, String discoveryId, List<StreamSpec> found) {
    List<StreamSpec> owned = new ArrayList<>();
    for (StreamSpec stream : found) {
      if (shard.owns(stream.id().substring(discoveryId.length() + 1))) {
        owned.add(stream);
      }
    }
    return owned;
  }

  /**
   * Forgets, in this pipeline's state, the streams whose entry is stale because another shard
   * (of another count) read them since, so the next commits carry the position this run reads
   * from instead. (A stream in this pipeline's own state is always its own: the pipeline id
   * carries the count, and the same count gives the same assignment.)
   */
  static void forgetStale(SourceContext context, String discoveryId, Set<String> rehomed) {
    if (!rehomed.isEmpty()) {
      LOG.info("Discovery {}: streams {} resume from a newer position another shard committed"
          + " (the shard count changed since this shard's last commit)", discoveryId, rehomed);
      context.forget(rehomed);
    }
  }
}
