package io.crest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class DataSizeTest {

  @Test
  void units_areBinary() {
    assertThat(DataSize.kib(1).toBytes()).isEqualTo(1024);
    assertThat(DataSize.mib(64).toBytes()).isEqualTo(64L << 20);
    assertThat(DataSize.gib(2).toBytes()).isEqualTo(2L << 30);
  }

  @Test
  void parse_acceptsCommonSpellings() {
    assertThat(DataSize.parse("512")).isEqualTo(DataSize.bytes(512));
    assertThat(DataSize.parse("64MiB")).isEqualTo(DataSize.mib(64));
    assertThat(DataSize.parse(" 64 mb ")).isEqualTo(DataSize.mib(64));
    assertThat(DataSize.parse("2g")).isEqualTo(DataSize.gib(2));
    assertThat(DataSize.parse(DataSize.kib(3).toString())).isEqualTo(DataSize.kib(3));
  }

  @Test
  void parse_garbage_isRejected() {
    assertThatThrownBy(() -> DataSize.parse("lots"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot parse data size 'lots' (expected a whole number with B, KiB, MiB or GiB)");
  }

  @Test
  void negativeOrOverflowing_isRejected() {
    assertThatThrownBy(() -> DataSize.bytes(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("Cannot create DataSize: negative size -1");
    assertThatThrownBy(() -> DataSize.gib(Long.MAX_VALUE / 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("overflows");
  }

  @Test
  void toString_usesTheLargestWholeUnit() {
    assertThat(DataSize.bytes(1000)).hasToString("1000 B");
    assertThat(DataSize.kib(1536)).hasToString("1536 KiB");
    assertThat(DataSize.mib(2048)).hasToString("2 GiB");
  }
}
