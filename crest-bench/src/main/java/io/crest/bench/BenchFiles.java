package io.crest.bench;

import io.crest.spi.FileOutput;
import io.crest.spi.FileOutputFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A scratch directory for benchmark output, on tmpfs ({@code /dev/shm}) where there is one so
 * that disks do not blur the comparison. Every file goes to the same few names and is deleted
 * after each operation. Not thread-safe.
 */
final class BenchFiles implements FileOutputFactory, AutoCloseable {
  final Path dir;
  private int next;

  BenchFiles(String prefix) {
    try {
      Path shm = Path.of("/dev/shm");
      dir = Files.isDirectory(shm) && Files.isWritable(shm)
          ? Files.createTempDirectory(shm, prefix) : Files.createTempDirectory(prefix);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create a benchmark scratch directory", e);
    }
  }

  Path file(String name) {
    return dir.resolve(name);
  }

  @Override
  public FileOutput newOutput() {
    Path path = dir.resolve("crest-" + (next++) + ".parquet");
    return new FileOutput() {
      @Override
      public String location() {
        return path.toString();
      }

      @Override
      public OutputStream create() {
        try {
          return Files.newOutputStream(path);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
  }

  /** Deletes everything written so far; returns the bytes it held. */
  long clear() {
    long bytes = 0;
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        if (!p.equals(dir)) {
          bytes += Files.isRegularFile(p) ? Files.size(p) : 0;
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot clear " + dir, e);
    }
    return bytes;
  }

  @Override
  public void close() {
    clear();
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot delete " + dir, e);
    }
  }
}
