package io.crest.samples;

import io.crest.CommitInfo;
import io.crest.CommitStrategy;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A user-defined {@link CommitStrategy}: commits the way another strategy does, and stamps every
 * snapshot with an audit trail ({@code audit.job}, {@code audit.rows}, {@code audit.files},
 * {@code audit.first-position}) that shows up in the table's history for anyone who reads it.
 *
 * <pre>{@code
 * IcebergSink.builder()
 *     .localWarehouse(Path.of("warehouse"))
 *     .table("shop.orders")
 *     .commitStrategy(new AuditTrailStrategy("nightly-orders", CommitStrategy.append()))
 *     .build();
 * }</pre>
 *
 * <p>Immutable and thread-safe, as the interface requires.
 */
public final class AuditTrailStrategy implements CommitStrategy {
  private final String job;
  private final CommitStrategy base;

  /** Audits commits of {@code base} under the job name {@code job}. */
  public AuditTrailStrategy(String job, CommitStrategy base) {
    this.job = Objects.requireNonNull(job, "job");
    this.base = Objects.requireNonNull(base, "base");
  }

  @Override
  public String name() {
    return "audited " + base.name();
  }

  @Override
  public Mode mode() {
    return base.mode();
  }

  @Override
  public List<String> keyColumns() {
    return base.keyColumns();
  }

  @Override
  public Optional<String> opColumn() {
    return base.opColumn();
  }

  @Override
  public Map<String, String> snapshotProperties(CommitInfo commit) {
    Map<String, String> props = new LinkedHashMap<>(base.snapshotProperties(commit));
    props.put("audit.job", job);
    props.put("audit.rows", Long.toString(commit.rows()));
    props.put("audit.files", Integer.toString(commit.files()));
    commit.positions().entrySet().stream().findFirst()
        .ifPresent(e -> props.put("audit.first-position", e.getKey() + "@" + e.getValue()));
    return props;
  }
}
