package io.crest.sources;

import io.crest.spi.Source;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import org.apache.arrow.memory.BufferAllocator;

/**
 * A {@link Source} that reads Arrow IPC files from a local directory or any other {@link
 * FileLocation} (an object-store prefix through {@code crest-iceberg}'s {@code
 * IcebergFileLocation}), one stream per file.
 *
 * <p>What it reads: the regular files directly in the location whose names match a glob ({@code
 * *.arrow} by default), in name order, each in the IPC file format ({@code ARROW1} magic) or the
 * IPC stream format, told apart by the first bytes. LZ4-frame and ZSTD buffer compression is read
 * when {@code org.apache.arrow:arrow-compression} is on the classpath; without it a compressed
 * file fails the source with an error naming the file. Dictionary-encoded columns are not
 * decoded.
 *
 * <p>Streams and positions: the stream id of a file is its file name; the position after a batch
 * is the number of record batches read from that file so far ({@link
 * io.crest.spi.SourcePosition#ofOffset}). A restarted pipeline skips the batches of each file
 * before its committed position, so nothing is read twice; a file whose committed position is its
 * last batch contributes nothing. Files must appear in the directory complete (written elsewhere,
 * then renamed into it): a file that grows after it was read is not read again.
 *
 * <p>Completed files: with {@link Builder#deleteCompleted} or {@link Builder#moveCompleted}, a
 * file is removed from the directory once a commit covers its last batch, and the source {@link
 * io.crest.spi.SourceContext#forget forgets} its stream, so its position leaves the committed
 * state. A removed file is never read again; a file of the same name added later is a new file
 * and is read from its beginning. Without either option files stay and keep their positions.
 *
 * <p>End: without {@link Builder#watch} the source completes after the last file it found at
 * start; with it, it looks for new files every poll interval and never completes, until the
 * pipeline stops. A file that cannot be read fails the source with a {@link
 * io.crest.errors.SourceException} naming the file.
 *
 * <p>Threads and memory: one reader thread per source; every batch owns its buffers (moved out of
 * the IPC reader's reused root), allocated from a child of the allocator given to {@link
 * #builder}, which the source closes in {@link Source#close}.
 */
public final class ArrowFileSource {
  private ArrowFileSource() {}

  /**
   * Starts building a source reading {@code directory}.
   *
   * @param directory the directory to read files from; it must exist when the source starts
   * @param allocator the parent of the source's allocator; borrowed, the caller closes it after
   *     the pipeline
   */
  public static Builder builder(Path directory, BufferAllocator allocator) {
    return new Builder(FileLocation.local(Objects.requireNonNull(directory, "directory")),
        allocator);
  }

  /**
   * Starts building a source reading the files of {@code location}. The source closes the
   * location when it closes.
   *
   * @param allocator the parent of the source's allocator; borrowed, the caller closes it after
   *     the pipeline
   */
  public static Builder builder(FileLocation location, BufferAllocator allocator) {
    return new Builder(location, allocator);
  }

  /** Builds an Arrow file source. Setters check their argument at once. Not thread-safe. */
  public static final class Builder {
    private final FileLocation location;
    private final BufferAllocator allocator;
    private String glob;
    private Duration pollInterval;
    private Removal removal = Removal.KEEP;
    private String doneDirectory;
    private String metadataKey;
    private String metadataValue;

    private Builder(FileLocation location, BufferAllocator allocator) {
      this.location = Objects.requireNonNull(location, "location");
      this.allocator = Objects.requireNonNull(allocator, "allocator");
    }

    /**
     * Reads only files whose names match {@code glob} ({@link
     * java.nio.file.FileSystem#getPathMatcher} glob syntax); {@code *.arrow} by default.
     *
     * @throws IllegalArgumentException if {@code glob} is empty
     * @throws IllegalStateException if a glob was set before
     */
    public Builder glob(String glob) {
      Objects.requireNonNull(glob, "glob");
      if (glob.isEmpty()) {
        throw new IllegalArgumentException("Cannot set glob: empty pattern");
      }
      if (this.glob != null) {
        throw new IllegalStateException("Cannot set glob '" + glob + "': already '" + this.glob + "'");
      }
      this.glob = glob;
      return this;
    }

    /**
     * Keeps looking for new files every {@code pollInterval} after the last one is read; the source
     * then never completes, and stops with the pipeline.
     *
     * @throws IllegalArgumentException if {@code pollInterval} is not positive
     * @throws IllegalStateException if watch was set before
     */
    public Builder watch(Duration pollInterval) {
      Objects.requireNonNull(pollInterval, "pollInterval");
      if (pollInterval.isNegative() || pollInterval.isZero()) {
        throw new IllegalArgumentException(
            "Cannot watch with poll interval " + pollInterval + ": must be positive");
      }
      if (this.pollInterval != null) {
        throw new IllegalStateException(
            "Cannot watch every " + pollInterval + ": already every " + this.pollInterval);
      }
      this.pollInterval = pollInterval;
      return this;
    }

    /**
     * Deletes each file once a commit covers its last batch.
     *
     * @throws IllegalStateException if completed files are already moved
     */
    public Builder deleteCompleted() {
      if (removal == Removal.MOVE) {
        throw new IllegalStateException(
            "Cannot delete completed files: already moved to " + doneDirectory);
      }
      removal = Removal.DELETE;
      return this;
    }

    /**
     * Moves each file into the {@code done} subdirectory of the location once a commit covers its
     * last batch (replacing a file of the same name there).
     *
     * @throws IllegalStateException if completed files are already deleted or moved
     */
    public Builder moveCompleted() {
      return moveCompletedTo(location.defaultDoneTarget());
    }

    /**
     * Moves each file into {@code target} once a commit covers its last batch (replacing a file of
     * the same name there); the directory is created when needed.
     *
     * @throws IllegalStateException if completed files are already deleted or moved
     */
    public Builder moveCompletedTo(Path target) {
      return moveCompletedTo(Objects.requireNonNull(target, "target").toString());
    }

    /**
     * Moves each file into {@code target}, a directory or prefix in the location's own syntax
     * (for example {@code s3://bucket/done}), once a commit covers its last batch.
     *
     * @throws IllegalStateException if completed files are already deleted or moved
     */
    public Builder moveCompletedTo(String target) {
      Objects.requireNonNull(target, "target");
      if (removal == Removal.DELETE) {
        throw new IllegalStateException("Cannot move completed files to " + target
            + ": already deleted");
      }
      if (removal == Removal.MOVE) {
        throw new IllegalStateException("Cannot move completed files to " + target
            + ": already moved to " + doneDirectory);
      }
      removal = Removal.MOVE;
      doneDirectory = target;
      return this;
    }

    /**
     * Reads only IPC files (file format) whose footer metadata maps {@code key} to {@code value};
     * other files, and stream-format files, which have no footer, are skipped.
     *
     * @throws IllegalStateException if a metadata filter was set before
     */
    public Builder footerMetadata(String key, String value) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(value, "value");
      if (metadataKey != null) {
        throw new IllegalStateException("Cannot filter on footer metadata " + key + "=" + value
            + ": already " + metadataKey + "=" + metadataValue);
      }
      metadataKey = key;
      metadataValue = value;
      return this;
    }

    /** Returns the source; each call returns a new one (a source belongs to one pipeline run). */
    public Source build() {
      return new DirectorySource(location, glob == null ? "*.arrow" : glob, pollInterval,
          removal, doneDirectory, metadataKey, metadataValue, allocator);
    }
  }

  /** What happens to a file once it is committed. */
  enum Removal {
    KEEP,
    DELETE,
    MOVE
  }
}
