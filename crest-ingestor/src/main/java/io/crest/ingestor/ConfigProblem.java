package io.crest.ingestor;

/**
 * One problem of a configuration file.
 *
 * @param path the YAML path it is about, such as {@code pipelines[0].batch.rows}, or {@code
 *     (file)}
 * @param line the line in the file, 1-based, or 0 when unknown
 * @param column the column in the line, 1-based, or 0 when unknown
 * @param message what is wrong, and what is allowed; never the value of an environment variable
 */
record ConfigProblem(String path, int line, int column, String message) {
  /** The path of a problem with the whole file. */
  static final String FILE = "(file)";

  /** {@code <line>:<column>: <path>: <message>}, without the position when it is unknown. */
  @Override
  public String toString() {
    return (line > 0 ? line + ":" + column + ": " : "") + path + ": " + message;
  }
}
