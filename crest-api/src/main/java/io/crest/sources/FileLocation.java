package io.crest.sources;

import java.io.IOException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * Where the files of an {@link ArrowFileSource} live: one flat location (a local directory, an
 * object-store prefix) whose files are listed, opened, deleted and moved by name. {@link
 * #local(Path)} is the built-in one; {@code crest-iceberg}'s {@code IcebergFileLocation} reads any
 * Iceberg {@code FileIO} location (S3, GCS, ADLS, HDFS).
 *
 * <p>Names are the files' names directly in the location, without any directory part; files in
 * nested directories are not listed. Implementations must be thread-safe: the source lists and
 * opens files on its reader thread and deletes or moves them on the pipeline's committer thread.
 * The source that reads a location closes it when it closes ({@link #close}); whether that
 * releases anything (a {@code FileIO} the location made itself) is the implementation's business.
 */
public interface FileLocation extends AutoCloseable {

  /** The location as a user wrote it, for names, logs and errors (a path or a URI prefix). */
  String description();

  /**
   * The names of the files directly in the location, in any order.
   *
   * @throws IOException if the location cannot be listed (missing directory, no access)
   */
  List<String> list() throws IOException;

  /**
   * Opens file {@code name} for reading; the caller closes the channel. It must support {@code
   * position(long)} and {@code size()} (the IPC file format reads its footer first).
   *
   * @throws java.nio.file.NoSuchFileException if the file is gone
   * @throws IOException if it cannot be opened
   */
  SeekableByteChannel open(String name) throws IOException;

  /** Whether file {@code name} is in the location now. */
  boolean exists(String name) throws IOException;

  /** Deletes file {@code name}; a file already gone is not an error. */
  void delete(String name) throws IOException;

  /**
   * Moves file {@code name} into {@code target} (a directory or prefix in the same syntax as
   * {@link #description}), replacing a file of that name there. Object stores copy, then delete.
   *
   * @throws UnsupportedOperationException if this location cannot move files (the default)
   */
  default void move(String name, String target) throws IOException {
    throw new UnsupportedOperationException("Cannot move " + name + " from " + description()
        + " to " + target + ": this location cannot move files (delete them instead)");
  }

  /** Where {@code moveCompleted()} moves files by default: the {@code done} subdirectory. */
  default String defaultDoneTarget() {
    String base = description();
    return base.endsWith("/") ? base + "done" : base + "/done";
  }

  /** Releases what the location holds; the default holds nothing. Safe to call twice. */
  @Override
  default void close() {}

  /**
   * The regular files of a local directory.
   *
   * @param directory the directory; it must exist when a source starts reading it
   */
  static FileLocation local(Path directory) {
    return new LocalFiles(directory);
  }
}
