package io.crest.spi;

import java.util.Map;

/**
 * Closed files that a {@link SinkWriter} prepared, waiting to be committed as one unit. Made by
 * one sink writer and understood only by it. Immutable once prepared; safe to pass between
 * threads.
 */
public interface Committable {

  /** A fresh id chosen before the first commit attempt, by which an unclear outcome is resolved. */
  String commitId();

  /** The number of rows the committable adds. */
  long rowCount();

  /** The number of files the committable adds. */
  int fileCount();

  /** The bytes of the files the committable adds. */
  long byteCount();

  /** Every stream's position after the last row this committable covers. Immutable. */
  Map<String, SourcePosition> positions();
}
