package io.crest.flight;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.crest.errors.SourceException;
import io.crest.spi.SourcePosition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks of {@link FlightSqlSource.Builder} and of resume positions, no server needed. */
class FlightSqlSourceBuilderTest {
  private final BufferAllocator allocator = new RootAllocator();

  @AfterEach
  void closeAllocator() {
    allocator.close();
  }

  private FlightSqlSource.Builder builder() {
    return FlightSqlSource.builder(allocator, "grpc://127.0.0.1:1");
  }

  @Test
  void uri_withAnotherScheme_isRejected() {
    assertThatThrownBy(() -> FlightSqlSource.builder(allocator, "http://127.0.0.1:1"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scheme http");
  }

  @Test
  void build_withoutQuery_isRejected() {
    assertThatThrownBy(() -> builder().build()).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no query");
  }

  @Test
  void watch_withoutWatermark_isRejected() {
    assertThatThrownBy(() -> builder().query("q", "SELECT 1").watch(Duration.ofSeconds(1)).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("needs a watermark");
  }

  @Test
  void secondQueryOrWatermark_isRejected_namingTheFirst() {
    assertThatThrownBy(() -> builder().query("a", "SELECT 1").query("b", "SELECT 2"))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("query a");
    assertThatThrownBy(() -> builder().watermark("ts", 0).watermark("id", 0))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("already ts");
  }

  @Test
  void tlsOptions_onAPlainServer_areRejected(@TempDir Path dir) throws Exception {
    TestCertificates certs = TestCertificates.generate(dir, "sql");
    assertThatThrownBy(() -> builder().query("q", "SELECT 1")
            .trustedCertificates(certs.caCertificate).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("grpc+tls");
  }

  @Test
  void secondCredentials_areRejected_andToStringHidesTheToken() {
    FlightSqlSource.Builder b = builder().query("q", "SELECT 1").bearerToken("s3cret");
    assertThatThrownBy(() -> b.basicAuth("u", "p")).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("bearer token is already set");
    assertThat(b.toString()).doesNotContain("s3cret");
  }

  @Test
  void watermarkPosition_roundTrips_andAnOffsetIsRejected() {
    SqlWatermark.Mark mark = SqlWatermark.parse("q", SourcePosition.of("-5/3"));
    assertThat(mark.value).isEqualTo(-5);
    assertThat(mark.rowsAtValue).isEqualTo(3);
    assertThat(mark.position()).isEqualTo(SourcePosition.of("-5/3"));
    assertThatThrownBy(() -> SqlWatermark.parse("q", SourcePosition.ofOffset(12)))
        .isInstanceOf(SourceException.class).hasMessageContaining("new pipeline id");
  }

  @Test
  void start_atAnOffsetPositionInWatermarkMode_failsBeforeReading() {
    FlightSqlSource source = builder().query("q", "SELECT ?").watermark("ts", 0).build();
    try (source) {
      assertThatThrownBy(() -> source.start(CollectingSourceContext.resumingAt(
              Map.of("q", SourcePosition.ofOffset(7)))))
          .isInstanceOf(SourceException.class).hasMessageContaining("'7'");
    }
  }
}
