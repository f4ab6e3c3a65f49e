package io.crest;

import io.crest.sources.ArrowFileSource;
import io.crest.spi.Source;
import java.nio.file.Path;
import java.util.Objects;
import org.apache.arrow.memory.BufferAllocator;

/**
 * Replays a dead-letter directory ({@link Pipeline.Builder#deadLetter}) into a sink, once the
 * table or the schema policy that rejected its batches was fixed:
 *
 * <pre>{@code
 * Pipeline.from(DeadLetters.replay(dir, allocator)).id("orders-replay").to(fixedSink)
 * }</pre>
 *
 * <p>The replay reads every dead-letter file ({@code *.arrow}, Arrow IPC file format) as an
 * {@link ArrowFileSource}: one stream per file, named by the file, in name order, and completes
 * after the last. Each file's position is recorded in the replay pipeline's commits, so a second
 * run of the same pipeline id skips the files already committed: each file is replayed exactly
 * once. The files are left in place (delete them once the replay is committed). A batch the sink
 * rejects again goes to the replay pipeline's own dead-letter directory if it has one, which must
 * not be {@code dir}. Temporary files ({@code .*.tmp}) are not read.
 */
public final class DeadLetters {
  /** The footer metadata key holding the id of the pipeline that dead-lettered a batch. */
  public static final String PIPELINE_ID_KEY = "crest.pipeline-id";

  private DeadLetters() {}

  /**
   * A source replaying every dead-letter file in {@code directory}.
   *
   * @param allocator the parent of the source's allocator; borrowed
   */
  public static Source replay(Path directory, BufferAllocator allocator) {
    return ArrowFileSource.builder(directory, allocator).build();
  }

  /**
   * A source replaying the dead-letter files in {@code directory} that the pipeline {@code
   * pipelineId} wrote (by the {@code crest.pipeline-id} footer metadata); others are skipped.
   *
   * @param allocator the parent of the source's allocator; borrowed
   */
  public static Source replay(Path directory, BufferAllocator allocator, String pipelineId) {
    Objects.requireNonNull(pipelineId, "pipelineId");
    return ArrowFileSource.builder(directory, allocator)
        .footerMetadata(PIPELINE_ID_KEY, pipelineId)
        .build();
  }
}
