package io.crest.samples.flight;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.apache.iceberg.FileContent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the changelog example and checks the table it leaves, read back through Iceberg. */
class ChangelogExampleTest {
  @TempDir Path dir;

  @Test
  void aChangelogKeyedByTwoStrings_leavesTheTableEqualToTheView_withPositionDeletesOnly()
      throws Exception {
    ChangelogExample.Result r = ChangelogExample.run(dir, 12, 400);
    assertThat(r.view()).hasSizeGreaterThan(500);
    assertThat(r.table()).isEqualTo(r.view());
    assertThat(r.deleteFiles()).containsKey(FileContent.POSITION_DELETES)
        .doesNotContainKey(FileContent.EQUALITY_DELETES);
  }
}
