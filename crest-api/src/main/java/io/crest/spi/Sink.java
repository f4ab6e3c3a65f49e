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

  /**
   * Whether this sink records the source positions of each commit under the pipeline's id and
   * hands them back to the next run with the same id ({@link SinkWriter#restoredState()}), so that
   * a restart resumes where the last commit ended. A pipeline to such a sink must be given its
   * durable identity with {@link io.crest.Pipeline.Builder#id}; a sink that returns {@code false}
   * always restores {@link CommittedState#empty()}, every run starts from the source's beginning,
   * and its pipelines may be built without an id.
   *
   * <p>Defaults to {@code true}; override it only in a sink that keeps no positions at all.
   */
  default boolean keepsPositions() {
    return true;
  }
}
