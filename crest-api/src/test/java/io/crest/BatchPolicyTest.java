package io.crest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BatchPolicyTest {

  @Test
  void allLimits_combine() {
    BatchPolicy p =
        BatchPolicy.rows(100_000).orBytes(DataSize.mib(64)).orEvery(Duration.ofSeconds(2));
    assertThat(p.maxRows()).hasValue(100_000);
    assertThat(p.maxBytes()).contains(DataSize.mib(64));
    assertThat(p.maxInterval()).contains(Duration.ofSeconds(2));
    assertThat(p).hasToString("BatchPolicy[rows=100000, bytes=64 MiB, every=PT2S]");
    assertThat(p).isEqualTo(
        BatchPolicy.every(Duration.ofSeconds(2)).orRows(100_000).orBytes(DataSize.mib(64)));
  }

  @Test
  void rows_notPositive_isRejected() {
    assertThatThrownBy(() -> BatchPolicy.rows(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set batch row limit: 0 is not positive");
  }

  @Test
  void bytes_zero_isRejected() {
    assertThatThrownBy(() -> BatchPolicy.bytes(DataSize.bytes(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set batch byte limit: 0 B is not positive");
  }

  @Test
  void every_negativeOrZero_isRejected() {
    assertThatThrownBy(() -> BatchPolicy.every(Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot set batch interval: PT-1S is not positive");
    assertThatThrownBy(() -> BatchPolicy.every(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void sameLimitTwice_isRejectedNamingTheEarlierValue() {
    assertThatThrownBy(() -> BatchPolicy.rows(10).orRows(20))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set batch row limit to 20: already set to 10");
    assertThatThrownBy(() -> BatchPolicy.bytes(DataSize.kib(1)).orBytes(DataSize.kib(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set batch byte limit to 2 KiB: already set to 1 KiB");
    assertThatThrownBy(() -> BatchPolicy.every(Duration.ofSeconds(1)).orEvery(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot set batch interval to PT2S: already set to PT1S");
  }

  @Test
  void defaults_haveAllThreeLimits() {
    assertThat(BatchPolicy.defaults().maxRows()).isPresent();
    assertThat(BatchPolicy.defaults().maxBytes()).isPresent();
    assertThat(BatchPolicy.defaults().maxInterval()).isPresent();
  }
}
