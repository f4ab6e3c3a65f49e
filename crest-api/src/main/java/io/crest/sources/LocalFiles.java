package io.crest.sources;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** {@link FileLocation#local}: the regular files of one local directory. Immutable. */
final class LocalFiles implements FileLocation {
  final Path directory;

  LocalFiles(Path directory) {
    this.directory = Objects.requireNonNull(directory, "directory");
  }

  @Override
  public String description() {
    return directory.toString();
  }

  @Override
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
      for (Path entry : entries) {
        if (Files.isRegularFile(entry)) {
          names.add(entry.getFileName().toString());
        }
      }
    }
    return names;
  }

  @Override
  public SeekableByteChannel open(String name) throws IOException {
    return FileChannel.open(directory.resolve(name), StandardOpenOption.READ);
  }

  @Override
  public boolean exists(String name) {
    return Files.isRegularFile(directory.resolve(name));
  }

  @Override
  public void delete(String name) throws IOException {
    Files.deleteIfExists(directory.resolve(name));
  }

  @Override
  public void move(String name, String target) throws IOException {
    Path done = Path.of(target);
    Files.createDirectories(done);
    Files.move(directory.resolve(name), done.resolve(name), StandardCopyOption.REPLACE_EXISTING);
  }

  @Override
  public String defaultDoneTarget() {
    return directory.resolve("done").toString();
  }

  @Override
  public String toString() {
    return "local[" + directory + "]";
  }
}
