package io.crest.ingestor;

import java.util.List;

/**
 * An ingestor configuration file that cannot be used, with every problem found, one per line as
 * {@code <file>:<line>:<column>: <yaml path>: <what is wrong> (<what is allowed>)}. Messages
 * never hold the value of an environment variable.
 */
final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient List<ConfigProblem> problems;

  ConfigException(String file, List<ConfigProblem> problems) {
    super("Cannot use ingestor config " + file + ": " + problems.size()
        + (problems.size() == 1 ? " problem" : " problems") + "\n  "
        + String.join("\n  ", problems.stream().map(p -> line(file, p)).toList()));
    this.problems = List.copyOf(problems);
  }

  /** {@code <file>:<line>:<column>: <path>: <message>}, leaving out what is unknown. */
  private static String line(String file, ConfigProblem p) {
    return file + (p.line() > 0 ? ":" + p.line() + ":" + p.column() : "") + ": "
        + (p.path().equals(ConfigProblem.FILE) ? "" : p.path() + ": ") + p.message();
  }

  /** Every problem, in the order of the file. */
  List<ConfigProblem> problems() {
    return problems;
  }
}
