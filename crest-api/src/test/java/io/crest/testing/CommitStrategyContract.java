package io.crest.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.crest.CommitInfo;
import io.crest.CommitStrategy;
import io.crest.spi.SourcePosition;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What every {@link CommitStrategy} must do. Extend it with {@link #strategy()} returning the
 * implementation under test.
 */
public abstract class CommitStrategyContract {

  /** The strategy under test. */
  protected abstract CommitStrategy strategy();

  private static CommitInfo commit() {
    return new CommitInfo("pipeline", "db.table", "commit-1", 10, 1,
        Map.of("s", SourcePosition.ofOffset(10)));
  }

  @Test
  void nameAndMode_areGiven() {
    assertThat(strategy().name()).isNotBlank();
    assertThat(strategy().mode()).isNotNull();
  }

  @Test
  void keys_areGivenExactlyForUpserts() {
    if (strategy().mode() == CommitStrategy.Mode.UPSERT) {
      assertThat(strategy().keyColumns()).isNotEmpty().doesNotHaveDuplicates();
    } else {
      assertThat(strategy().keyColumns()).isEmpty();
      assertThat(strategy().opColumn()).isEmpty();
    }
    strategy().opColumn().ifPresent(op -> assertThat(strategy().keyColumns()).doesNotContain(op));
  }

  @Test
  void snapshotProperties_areNotNull_andLeaveCrestsKeysAlone() {
    Map<String, String> props = strategy().snapshotProperties(commit());
    assertThat(props).isNotNull();
    assertThat(props.keySet()).allSatisfy(k -> assertThat(k).doesNotStartWith("crest."));
  }
}
