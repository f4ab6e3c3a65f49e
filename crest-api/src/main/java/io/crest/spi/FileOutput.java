package io.crest.spi;

import java.io.OutputStream;

/**
 * One new file that a {@link FileWriter} may create, at a location chosen by its owner (for
 * example a path inside an Iceberg table's data directory).
 *
 * <p>Implementations need not be thread-safe: a writer uses each output from one thread. The
 * writer closes the stream that {@link #create()} returns; deleting a file that was abandoned is
 * the job of whoever handed out the output.
 */
public interface FileOutput {

  /** Where the file is created, for example {@code file:/warehouse/db/t/data/00000-0-x.parquet}. */
  String location();

  /**
   * Creates the file and returns a stream that writes it from its first byte. Called at most once.
   *
   * @throws java.io.UncheckedIOException if the file cannot be created
   */
  OutputStream create();
}
