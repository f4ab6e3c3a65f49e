package io.crest.samples.flight;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs {@link FlightSqlExample} and checks the table it leaves, read back through Iceberg. */
class FlightSqlExampleTest {
  @TempDir Path warehouse;

  @Test
  void everyOrderButTheNewest_isCommittedOnce() throws Exception {
    List<Long> ids = FlightSqlExample.run(warehouse, 5, 1_000);
    // The newest order waits for a greater watermark: it is read by the next run.
    assertThat(ids).containsExactlyInAnyOrderElementsOf(
        LongStream.range(0, 4_999).boxed().toList());
  }
}
