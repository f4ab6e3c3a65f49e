package io.crest.spi;

import java.util.List;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * Encodes Arrow batches into files of one format (Parquet, Arrow IPC), starting a new file when the
 * current one reaches its target size, and describes the files it finished.
 *
 * <p>Lifecycle:
 *
 * <ol>
 *   <li>{@link #write} any number of batches; the first write after a {@link #finish} (or after
 *       creation) opens a new file through the writer's {@link FileOutputFactory}.
 *   <li>{@link #roll} to end the open file early, without returning it yet.
 *   <li>{@link #finish} to end the open file and take the descriptions of every file finished
 *       since the last call; the writer stays usable.
 *   <li>{@link #close} once: releases buffers and closes the stream of a file that was not
 *       finished (that file is incomplete and belongs to whoever handed out its output).
 * </ol>
 *
 * <p>Not thread-safe: one thread drives a writer. The writer never keeps a reference to a batch's
 * vectors after {@link #write} returns; the caller owns and closes the batch.
 */
public interface FileWriter extends AutoCloseable {

  /**
   * Encodes the rows of {@code batch}. Columns are matched to the writer's schema by name; a
   * nullable column that the batch lacks is written as nulls.
   *
   * @throws io.crest.errors.ValidationException if the batch does not fit the writer's schema (an
   *     unknown column, an incompatible type, a null in a required column); rows of the batch may
   *     have been encoded into the open file, which should then be discarded
   * @throws java.io.UncheckedIOException if the file cannot be written
   * @throws IllegalStateException if the writer is closed
   */
  void write(VectorSchemaRoot batch);

  /** Ends the open file, if any, so that the next write starts a new one. */
  void roll();

  /**
   * Ends the open file, if any, and returns every file finished since the last call, oldest first.
   * Returns an empty list when nothing was written.
   */
  List<WrittenFile> finish();

  /**
   * The bytes written and buffered for the open file so far, an estimate of its size if it were
   * finished now; 0 when no file is open.
   */
  long openFileBytes();

  /** Releases buffers and closes the open file's stream, unfinished. Safe to call twice. */
  @Override
  void close();
}
