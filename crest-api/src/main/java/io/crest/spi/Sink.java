package io.crest.spi;

/**
 * Where a pipeline's data goes: a description of a target (a table, a directory) that opens a
 * {@link SinkWriter} for one pipeline run.
 *
 * <p>A sink holds configuration only, is immutable and thread-safe, and needs no closing; the
 * writers it opens hold the resources and are closed by the pipeline.
 */
public interface Sink {

  /** A short, stable description of the target, such as a table name, for logs and errors. */
  String name();

  /**
   * Opens a writer for one run of the pipeline described by {@code context}: connects to the
   * target and reads back what the pipeline last committed there, without writing anything.
   *
   * @throws io.crest.errors.CrestException if the target cannot be reached or read
   */
  SinkWriter open(SinkContext context);
}
