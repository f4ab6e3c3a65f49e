package io.crest.ingestor;

import java.util.List;

/**
 * An ingestor configuration file that cannot be used, with every problem found, each starting
 * with its YAML path ({@code pipelines[0].batch.rows: ...}). Messages never hold the value of an
 * environment variable.
 */
final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient List<String> problems;

  ConfigException(String file, List<String> problems) {
    super("Cannot use ingestor config " + file + ": " + problems.size()
        + (problems.size() == 1 ? " problem" : " problems") + "\n  "
        + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Every problem, as {@code <yaml path>: <what is wrong> (<what is allowed>)}. */
  List<String> problems() {
    return problems;
  }
}
