package io.crest.iceberg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.iceberg.Table;
import org.apache.iceberg.catalog.TableIdentifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM to an application that stops its pipeline from a shutdown hook: the final commit must
 * land, although Iceberg shuts its own shared thread pool down in a shutdown hook of its own.
 */
class ShutdownHookStopTest {
  @TempDir Path dir;

  @Test
  void sigterm_stopFromAShutdownHook_drainsAndCommits() throws Exception {
    Path log = dir.resolve("child.log");
    Process child = new ProcessBuilder(List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "-Xmx512m",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-cp", System.getProperty("java.class.path"),
            ShutdownHookChild.class.getName(), dir.resolve("warehouse").toString()))
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    await().atMost(Duration.ofMinutes(1)).until(() -> !child.isAlive()
        || Files.readString(log).contains("READY"));
    child.destroy(); // SIGTERM
    assertThat(child.waitFor(1, TimeUnit.MINUTES)).isTrue();
    String output = Files.readString(log);
    assertThat(output).as(output).contains("STOPPED rowsCommitted=").doesNotContain("Exception");

    try (OpenCatalog c = new OpenCatalog(IcebergCatalogs.open(
        IcebergCatalogs.DEFAULT_NAME, IcebergCatalogs.localWarehouse(dir.resolve("warehouse"))))) {
      Table t = c.loadTable(TableIdentifier.of("app", "events"));
      long rows = Long.parseLong(t.currentSnapshot().summary().get("total-records"));
      assertThat(rows).isGreaterThanOrEqualTo(20_000);
      assertThat(t.currentSnapshot().summary().get("crest.positions"))
          .isEqualTo("{\"s\":\"" + rows + "\"}");
      assertThat(output).contains("STOPPED rowsCommitted=" + rows);
    }
  }
}
