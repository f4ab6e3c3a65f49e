package io.crest.iceberg;

import io.crest.sources.FileLocation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.CatalogUtil;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.FileInfo;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.PositionOutputStream;
import org.apache.iceberg.io.SeekableInputStream;
import org.apache.iceberg.io.SupportsPrefixOperations;

/**
 * A {@link FileLocation} on an Iceberg {@link FileIO}: the files directly under a prefix such as
 * {@code s3://bucket/incoming/}, for {@link io.crest.sources.ArrowFileSource}:
 *
 * <pre>{@code
 * ArrowFileSource.builder(IcebergFileLocation.open(s3Properties, "s3://bucket/incoming/"), allocator)
 *     .deleteCompleted().watch(Duration.ofSeconds(10)).build();
 * }</pre>
 *
 * <p>Listing uses {@link SupportsPrefixOperations#listPrefix} (S3FileIO, GCSFileIO, ADLSFileIO,
 * HadoopFileIO and ResolvingFileIO have it) and keeps only the objects directly under the prefix,
 * so a {@code done/} prefix below it is not read. Files are read through {@link
 * SeekableInputStream}s. A move is a copy then a delete (object stores have no rename): a crash
 * between the two leaves the file in both places, and the next run, whose committed position
 * covers it, moves it again.
 *
 * <p>Thread-safe as the {@code FileIO} is (Iceberg's are). A location made by {@link #open} owns
 * its {@code FileIO} and closes it in {@link #close} (the source reading it does so when it
 * closes); one made by {@link #of} borrows it.
 */
public final class IcebergFileLocation implements FileLocation {
  private final FileIO io;
  private final String prefix;
  private final boolean owned;

  private IcebergFileLocation(FileIO io, String location, boolean owned) {
    this.io = Objects.requireNonNull(io, "io");
    Objects.requireNonNull(location, "location");
    if (location.isBlank()) {
      throw new IllegalArgumentException("Cannot read files at '" + location + "': blank location");
    }
    if (!(io instanceof SupportsPrefixOperations)) {
      throw new IllegalArgumentException("Cannot read files at " + location + ": "
          + io.getClass().getName() + " cannot list a prefix (use a FileIO that implements"
          + " SupportsPrefixOperations, such as S3FileIO or HadoopFileIO)");
    }
    this.prefix = location.endsWith("/") ? location : location + "/";
    this.owned = owned;
  }

  /**
   * The files under {@code location} through {@code io}, which stays the caller's to close.
   *
   * @throws IllegalArgumentException if {@code io} cannot list a prefix or the location is blank
   */
  public static IcebergFileLocation of(FileIO io, String location) {
    return new IcebergFileLocation(io, location, false);
  }

  /**
   * The files under {@code location} through a {@code FileIO} made from Iceberg catalog-style
   * {@code properties} ({@code io-impl}, default {@code org.apache.iceberg.io.ResolvingFileIO},
   * which picks by scheme; {@code s3.endpoint}, {@code s3.access-key-id}, ...). The location owns
   * it and closes it.
   *
   * @throws IllegalArgumentException if the FileIO cannot list a prefix or the location is blank
   */
  public static IcebergFileLocation open(Map<String, String> properties, String location) {
    Objects.requireNonNull(properties, "properties");
    String impl = properties.getOrDefault(
        CatalogProperties.FILE_IO_IMPL, "org.apache.iceberg.io.ResolvingFileIO");
    FileIO io = CatalogUtil.loadFileIO(impl, properties, new Configuration());
    try {
      return new IcebergFileLocation(io, location, true);
    } catch (RuntimeException e) {
      io.close();
      throw e;
    }
  }

  @Override
  public String description() {
    return prefix;
  }

  @Override
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    try {
      for (FileInfo file : ((SupportsPrefixOperations) io).listPrefix(prefix)) {
        String location = file.location();
        if (location.startsWith(prefix)) {
          String name = location.substring(prefix.length());
          if (!name.isEmpty() && name.indexOf('/') < 0) {
            names.add(name);
          }
        }
      }
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
    }
    return names;
  }

  @Override
  public SeekableByteChannel open(String name) throws IOException {
    InputFile file = io.newInputFile(prefix + name);
    try {
      return new StreamChannel(file.newStream(), file);
    } catch (NotFoundException e) {
      NoSuchFileException missing = new NoSuchFileException(prefix + name);
      missing.initCause(e);
      throw missing;
    }
  }

  @Override
  public boolean exists(String name) {
    return io.newInputFile(prefix + name).exists();
  }

  @Override
  public void delete(String name) {
    io.deleteFile(prefix + name);
  }

  @Override
  public void move(String name, String target) throws IOException {
    String to = (target.endsWith("/") ? target : target + "/") + name;
    try (InputStream in = io.newInputFile(prefix + name).newStream();
        PositionOutputStream out = io.newOutputFile(to).createOrOverwrite()) {
      in.transferTo(out);
    } catch (NotFoundException e) {
      NoSuchFileException missing = new NoSuchFileException(prefix + name);
      missing.initCause(e);
      throw missing;
    }
    io.deleteFile(prefix + name);
  }

  @Override
  public String defaultDoneTarget() {
    return prefix + "done/";
  }

  /** Closes the FileIO if this location made it; safe to call twice. */
  @Override
  public void close() {
    if (owned) {
      io.close();
    }
  }

  @Override
  public String toString() {
    return "IcebergFileLocation[" + prefix + ", " + io.getClass().getSimpleName() + "]";
  }

  /** A read-only channel over a seekable stream; the length is asked once, when needed. */
  private static final class StreamChannel implements SeekableByteChannel {
    private final SeekableInputStream in;
    private final InputFile file;
    private long size = -1;
    private boolean open = true;

    StreamChannel(SeekableInputStream in, InputFile file) {
      this.in = in;
      this.file = file;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
      checkOpen();
      int wanted = dst.remaining();
      if (wanted == 0) {
        return 0;
      }
      int n;
      if (dst.hasArray()) {
        n = in.read(dst.array(), dst.arrayOffset() + dst.position(), wanted);
        if (n > 0) {
          dst.position(dst.position() + n);
        }
      } else {
        byte[] chunk = new byte[Math.min(wanted, 1 << 16)];
        n = in.read(chunk, 0, chunk.length);
        if (n > 0) {
          dst.put(chunk, 0, n);
        }
      }
      return n;
    }

    @Override
    public long position() throws IOException {
      checkOpen();
      return in.getPos();
    }

    @Override
    public SeekableByteChannel position(long newPosition) throws IOException {
      checkOpen();
      in.seek(newPosition);
      return this;
    }

    @Override
    public long size() throws IOException {
      checkOpen();
      if (size < 0) {
        size = file.getLength();
      }
      return size;
    }

    @Override
    public int write(ByteBuffer src) {
      throw new NonWritableChannelException();
    }

    @Override
    public SeekableByteChannel truncate(long newSize) {
      throw new NonWritableChannelException();
    }

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public void close() throws IOException {
      if (open) {
        open = false;
        in.close();
      }
    }

    private void checkOpen() throws ClosedChannelException {
      if (!open) {
        throw new ClosedChannelException();
      }
    }
  }
}
