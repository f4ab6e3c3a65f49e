package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IcebergSinkBuilderTest {

  @Test
  void build_withoutCatalog_isRejected() {
    assertThatThrownBy(() -> IcebergSink.builder().table("shop.orders").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(
            "Cannot build IcebergSink for table shop.orders: no catalog (call catalog(Map) with"
                + " catalog properties, catalog(Catalog) with a catalog you own, or"
                + " localWarehouse(dir) for the embedded local warehouse in a directory)");
  }

  @Test
  void build_withoutTable_namesTheTableFirst() {
    assertThatThrownBy(() -> IcebergSink.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("Cannot build IcebergSink: no table (call table(\"ns.name\"))");
  }

  @Test
  void build_withLocalWarehouse_buildsWithoutTouchingTheDirectory(@TempDir Path dir) {
    Path warehouse = dir.resolve("warehouse");
    IcebergSink sink = IcebergSink.builder().localWarehouse(warehouse).table("shop.orders").build();
    assertThat(sink.name()).isEqualTo("shop.orders");
    assertThat(sink.toString()).contains("local warehouse " + warehouse);
    assertThat(Files.exists(warehouse)).isFalse();
  }
}
