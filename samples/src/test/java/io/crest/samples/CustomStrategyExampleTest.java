package io.crest.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.CommitStrategy;
import io.crest.testing.CommitStrategyContract;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CustomStrategyExampleTest {
  @TempDir Path warehouse;

  @Test
  void everySnapshot_carriesTheAuditTrail_andTheRowsAddUp() throws Exception {
    List<Map<String, String>> summaries = CustomStrategyExample.run(warehouse, 50_000);
    assertThat(summaries).hasSizeGreaterThanOrEqualTo(3);
    long rows = 0;
    for (Map<String, String> s : summaries) {
      assertThat(s).containsEntry("audit.job", "orders-audit-example")
          .containsKey("audit.first-position")
          .containsEntry("crest.pipeline-id", "audited-orders");
      assertThat(s.get("audit.rows")).isEqualTo(s.get("added-records"));
      rows += Long.parseLong(s.get("audit.rows"));
    }
    assertThat(rows).isEqualTo(50_000);
  }

  @Nested
  class Contract extends CommitStrategyContract {
    @Override
    protected CommitStrategy strategy() {
      return new AuditTrailStrategy("job", CommitStrategy.upsert("order_id"));
    }
  }
}
