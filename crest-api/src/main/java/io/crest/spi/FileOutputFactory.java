package io.crest.spi;

/**
 * Hands a {@link FileWriter} a fresh {@link FileOutput} each time it starts a file (the first one,
 * and every one after a roll). Called from the writer's thread only.
 */
@FunctionalInterface
public interface FileOutputFactory {

  /** A new output at a location that no other output of this factory used. */
  FileOutput newOutput();
}
