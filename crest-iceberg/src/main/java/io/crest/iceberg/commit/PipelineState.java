package io.crest.iceberg.commit;

import io.crest.spi.CommittedState;
import io.crest.spi.SourcePosition;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.Table;
import org.apache.iceberg.util.JsonUtil;
import org.apache.iceberg.util.SnapshotUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a pipeline's exactly-once state lives in an Iceberg table and how it is read back: every
 * commit's snapshot summary carries the pipeline id, the commit id, the source instance and every
 * stream's position, and the table property {@code crest.state.<pipeline>} carries the same for
 * the pipeline's latest commit, written in the same transaction, so it survives snapshot expiry.
 *
 * <p>Stateless; the static methods are thread-safe as far as the {@link Table} passed in is.
 */
public final class PipelineState {
  /** Snapshot summary key of the pipeline id. */
  public static final String SUMMARY_PIPELINE_ID = "crest.pipeline-id";
  /** Snapshot summary key of the commit id. */
  public static final String SUMMARY_COMMIT_ID = "crest.commit-id";
  /** Snapshot summary key of the positions, a JSON object of stream id to position. */
  public static final String SUMMARY_POSITIONS = "crest.positions";
  /** Snapshot summary key of the source instance id. */
  public static final String SUMMARY_SOURCE_INSTANCE = "crest.source-instance";
  /**
   * Snapshot summary key set instead of {@link #SUMMARY_POSITIONS} when the positions are longer
   * than {@link #MAX_SUMMARY_POSITIONS}: they are then only in the state property.
   */
  public static final String SUMMARY_POSITIONS_IN_STATE = "crest.positions-in-state";
  /**
   * The longest positions text a snapshot summary carries (64 KiB). Every snapshot keeps its
   * summary in the table metadata, so a larger state would grow the metadata by that much per
   * commit; sources keep the state small by forgetting streams that ended ({@code
   * SourceContext.forget}).
   */
  public static final int MAX_SUMMARY_POSITIONS = 64 * 1024;
  /** Table property prefix holding each pipeline's latest state, which survives snapshot expiry. */
  public static final String STATE_PROPERTY_PREFIX = "crest.state.";
  /** Snapshot properties under this prefix are Crest's; commit strategies may not set them. */
  public static final String RESERVED_PREFIX = "crest.";

  private static final Logger LOG = LoggerFactory.getLogger(PipelineState.class);

  private PipelineState() {}

  /**
   * What {@code pipelineId} last committed to {@code table}: the newest snapshot of the pipeline in
   * the branch's history, which is authoritative (a rollback takes the rolled-back commits with it,
   * and their rows are read again). When the history was cut by snapshot expiry before any such
   * snapshot, the state property written in the same transaction as the pipeline's last commit is
   * used instead, so expiry never makes a pipeline ingest again.
   *
   * @param branch the branch the pipeline commits to, {@code null} for the main branch
   */
  public static CommittedState find(Table table, String branch, String pipelineId) {
    Snapshot current = head(table, branch);
    if (current == null) {
      return CommittedState.empty();
    }
    Snapshot oldest = current;
    for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
      Map<String, String> summary = snapshot.summary();
      if (pipelineId.equals(summary.get(SUMMARY_PIPELINE_ID))) {
        if (summary.containsKey(SUMMARY_POSITIONS_IN_STATE)) {
          return fromProperty(table, pipelineId, summary.get(SUMMARY_COMMIT_ID));
        }
        return CommittedState.of(
            summary.get(SUMMARY_COMMIT_ID),
            decodePositions(summary.get(SUMMARY_POSITIONS)),
            summary.get(SUMMARY_SOURCE_INSTANCE));
      }
      oldest = snapshot;
    }
    String property = table.properties().get(STATE_PROPERTY_PREFIX + pipelineId);
    if (property == null) {
      return CommittedState.empty();
    }
    if (oldest.parentId() == null) {
      LOG.warn("Table {} has no snapshot of pipeline {} in its history although its state property"
          + " says it committed: the table was rolled back before its commits, which are read"
          + " again", table.name(), pipelineId);
      return CommittedState.empty();
    }
    LOG.info("The snapshots of pipeline {} in {} expired; resuming from its state property",
        pipelineId, table.name());
    return decodeState(property);
  }

  /**
   * The last committed state of every pipeline whose id starts with {@code prefix}, newest commit
   * first: pipelines in the order of their newest snapshot in the branch's history, then those
   * known only by their state property (history expired), in id order. Each state is what {@link
   * #find} returns for that pipeline.
   *
   * @param branch the branch, {@code null} for the main branch
   */
  public static Map<String, CommittedState> findAll(Table table, String branch, String prefix) {
    java.util.LinkedHashSet<String> ids = new java.util.LinkedHashSet<>();
    Snapshot current = head(table, branch);
    if (current != null) {
      for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
        String id = snapshot.summary().get(SUMMARY_PIPELINE_ID);
        if (id != null && id.startsWith(prefix)) {
          ids.add(id);
        }
      }
    }
    new TreeMap<>(table.properties()).keySet().stream()
        .filter(k -> k.startsWith(STATE_PROPERTY_PREFIX + prefix))
        .forEach(k -> ids.add(k.substring(STATE_PROPERTY_PREFIX.length())));
    Map<String, CommittedState> states = new java.util.LinkedHashMap<>();
    for (String id : ids) {
      CommittedState state = find(table, branch, id);
      if (state.commitId().isPresent()) {
        states.put(id, state);
      }
    }
    return states;
  }

  /**
   * The state of a commit whose positions were too long for its snapshot summary: the state
   * property, which must still be that commit's.
   *
   * @throws io.crest.errors.ValidationException if the property holds another commit's state (the
   *     table was rolled back past the pipeline's last commit)
   */
  private static CommittedState fromProperty(Table table, String pipelineId, String commitId) {
    String property = table.properties().get(STATE_PROPERTY_PREFIX + pipelineId);
    CommittedState state = property == null ? null : decodeState(property);
    if (state == null || !state.commitId().orElse("").equals(commitId)) {
      throw new io.crest.errors.ValidationException(
          "Cannot resume pipeline " + pipelineId + " from table " + table.name() + ": its last"
              + " commit in the history, " + commitId + ", kept its positions (over "
              + MAX_SUMMARY_POSITIONS + " characters) only in table property "
              + STATE_PROPERTY_PREFIX + pipelineId + ", which now holds "
              + (state == null ? "nothing" : "commit " + state.commitId().orElse("?"))
              + " (the table was rolled back past it; resume under a new pipeline id, or set the"
              + " property back to that commit's state)");
    }
    return state;
  }

  /**
   * The snapshot of the branch's history whose summary carries {@code commitId}, or {@code null}.
   *
   * @param branch the branch, {@code null} for the main branch
   */
  public static Snapshot findCommit(Table table, String branch, String commitId) {
    Snapshot current = head(table, branch);
    if (current == null) {
      return null;
    }
    for (Snapshot snapshot : SnapshotUtil.ancestorsOf(current.snapshotId(), table::snapshot)) {
      if (commitId.equals(snapshot.summary().get(SUMMARY_COMMIT_ID))) {
        return snapshot;
      }
    }
    return null;
  }

  /**
   * The head of {@code branch}; for a branch that does not exist yet, the main branch's head, from
   * which the first commit will fork it (so its history is main's).
   */
  public static Snapshot head(Table table, String branch) {
    Snapshot head = branch == null ? null : table.snapshot(branch);
    return head != null ? head : table.currentSnapshot();
  }

  /** The state property's value for a commit. */
  public static String encodeState(String commitId, String positionsJson, String sourceInstance) {
    return JsonUtil.generate(
        gen -> {
          gen.writeStartObject();
          gen.writeStringField("commit-id", commitId);
          if (sourceInstance != null) {
            gen.writeStringField("source-instance", sourceInstance);
          }
          gen.writeFieldName("positions");
          gen.writeRawValue(positionsJson);
          gen.writeEndObject();
        },
        false);
  }

  /** Reads a state property's value. */
  public static CommittedState decodeState(String json) {
    return JsonUtil.parse(
        json,
        node -> CommittedState.of(
            JsonUtil.getString("commit-id", node),
            decodePositions(node.get("positions").toString()),
            JsonUtil.getStringOrNull("source-instance", node)));
  }

  /** The positions as a JSON object, streams in order. */
  public static String encodePositions(Map<String, SourcePosition> positions) {
    return JsonUtil.generate(
        gen -> {
          gen.writeStartObject();
          for (Map.Entry<String, SourcePosition> e : new TreeMap<>(positions).entrySet()) {
            gen.writeStringField(e.getKey(), e.getValue().value());
          }
          gen.writeEndObject();
        },
        false);
  }

  /** Reads positions written by {@link #encodePositions}; empty for {@code null} or empty text. */
  public static Map<String, SourcePosition> decodePositions(String json) {
    if (json == null || json.isEmpty()) {
      return Map.of();
    }
    return JsonUtil.parse(
        json,
        node -> {
          Map<String, SourcePosition> positions = new TreeMap<>();
          Iterator<String> names = node.fieldNames();
          while (names.hasNext()) {
            String name = names.next();
            positions.put(name, SourcePosition.of(node.get(name).asText()));
          }
          return positions;
        });
  }
}
