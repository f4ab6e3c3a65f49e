package io.crest.samples.files;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs the file examples and checks the tables they leave, read back through Iceberg. */
class FileExamplesTest {
  @TempDir Path dir;

  @Test
  void arrowFilesExample_readsEveryFileOnce_andMovesThemToDone() throws Exception {
    List<Long> ids = ArrowFilesExample.run(dir, 3, 1_000);
    assertThat(ids).containsExactlyInAnyOrderElementsOf(
        LongStream.range(0, 3_000).boxed().toList());
    assertThat(ArrowFilesExample.fileNames(dir.resolve("incoming"))).isEmpty();
    assertThat(ArrowFilesExample.fileNames(dir.resolve("incoming/done")))
        .containsExactly("orders-0.arrow", "orders-1.arrow", "orders-2.arrow");
  }

  @Test
  void deadLetterReplayExample_bringsTheRejectedFileBack_once() throws Exception {
    List<List<Long>> ids = DeadLetterReplayExample.run(dir);
    assertThat(ids.get(0)).containsExactlyInAnyOrderElementsOf(
        LongStream.range(0, 1_000).boxed().toList());
    assertThat(ids.get(1)).containsExactlyInAnyOrderElementsOf(
        LongStream.range(0, 2_000).boxed().toList());
    // one dead-letter file per rejected batch: the file with the coupon has two
    assertThat(ArrowFilesExample.fileNames(dir.resolve("dead-letters"))).hasSize(2);
  }
}
