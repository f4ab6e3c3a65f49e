package io.crest.sources;

import io.crest.errors.SourceException;
import io.crest.spi.Source;
import io.crest.spi.SourceBatch;
import io.crest.spi.SourceContext;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.compression.CompressionCodec;
import org.apache.arrow.vector.compression.NoCompressionCodec;
import org.apache.arrow.vector.ipc.ArrowFileReader;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.message.ArrowBlock;

/**
 * The source behind {@link ArrowFileSource}: one reader thread reading a {@link FileLocation}'s
 * files in name order. Completed files are removed on the committer thread ({@link #committed}) or, for
 * files a previous run fully committed, on the reader thread; both under {@link #lock}.
 */
final class DirectorySource implements Source {
  private static final byte[] FILE_MAGIC = "ARROW1".getBytes(StandardCharsets.US_ASCII);
  private static final String COMPRESSION_FACTORY =
      "org.apache.arrow.compression.CommonsCompressionFactory";

  private final FileLocation location;
  private final String glob;
  private final Duration pollInterval;
  private final ArrowFileSource.Removal removal;
  private final String doneDirectory;
  private final String metadataKey;
  private final String metadataValue;
  private final BufferAllocator allocator;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final Object lock = new Object();
  /** Files read to their end and not removed yet: stream id -> batches in the file. */
  private final Map<String, Long> finished = new HashMap<>();
  private Map<String, SourcePosition> lastCommitted = Map.of();
  /** Files read (or being read) in this run; a removed file leaves it, so a new one is read. */
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  /** Streams forgotten in this run: their resume positions no longer apply. */
  private final Set<String> forgotten = ConcurrentHashMap.newKeySet();
  private volatile SourceContext context;
  private Thread reader;
  private boolean closed;

  DirectorySource(FileLocation location, String glob, Duration pollInterval,
      ArrowFileSource.Removal removal, String doneDirectory, String metadataKey,
      String metadataValue, BufferAllocator parent) {
    this.location = location;
    this.glob = glob;
    this.pollInterval = pollInterval;
    this.removal = removal;
    this.doneDirectory = doneDirectory;
    this.metadataKey = metadataKey;
    this.metadataValue = metadataValue;
    this.allocator = parent.newChildAllocator("arrow-file-source", 0, Long.MAX_VALUE);
  }

  @Override
  public String name() {
    String base = location.description();
    return "arrow-files[" + base + (base.endsWith("/") ? "" : "/") + glob + "]";
  }

  @Override
  public synchronized void start(SourceContext context) {
    if (this.context != null) {
      throw new IllegalStateException("Cannot start " + name() + ": already started");
    }
    if (closed) {
      throw new IllegalStateException("Cannot start " + name() + ": closed");
    }
    this.context = context;
    if (location instanceof LocalFiles && !Files.isDirectory(((LocalFiles) location).directory)) {
      throw new SourceException("Cannot start " + name() + ": " + location.description()
          + " is not a directory (create it first)", null, null, null);
    }
    reader = new Thread(this::run, "arrow-file-source-" + threadSuffix());
    reader.start();
  }

  private void run() {
    SourceContext ctx = context;
    try {
      if (removal != ArrowFileSource.Removal.KEEP) {
        forgetRemovedFiles(ctx);
      }
      while (true) {
        for (String stream : listFiles()) {
          if (stopping(ctx)) {
            return;
          }
          if (seen.add(stream) && !readFile(ctx, stream)) {
            return;
          }
        }
        if (pollInterval == null) {
          ctx.complete();
          return;
        }
        if (stop.await(pollInterval.toNanos(), TimeUnit.NANOSECONDS) || ctx.isStopping()) {
          return;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SourceException e) {
      ctx.fail(e);
    } catch (IOException | RuntimeException e) {
      ctx.fail(new SourceException(
          "Cannot list Arrow IPC files in " + location.description() + ": " + e, null, null, e));
    }
  }

  private boolean stopping(SourceContext ctx) {
    return stop.getCount() == 0 || ctx.isStopping();
  }

  /**
   * Forgets the positions of files a previous run recorded that are no longer in the directory:
   * they were removed once committed (the removal happened, its forget was not committed).
   */
  private void forgetRemovedFiles(SourceContext ctx) throws IOException {
    List<String> gone = new ArrayList<>();
    for (String stream : ctx.resumePositions().keySet()) {
      if (!location.exists(stream)) {
        gone.add(stream);
      }
    }
    if (!gone.isEmpty()) {
      forgotten.addAll(gone);
      ctx.forget(gone);
    }
  }

  private List<String> listFiles() throws IOException {
    PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + glob);
    List<String> files = new ArrayList<>();
    for (String name : location.list()) {
      if (matcher.matches(Path.of(name))) {
        files.add(name);
      }
    }
    files.sort(null);
    return files;
  }

  private String threadSuffix() {
    String base = location.description();
    if (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    return base.substring(base.lastIndexOf('/') + 1);
  }

  /** The file's full name, for messages. */
  private String file(String stream) {
    String base = location.description();
    return base + (base.endsWith("/") ? "" : "/") + stream;
  }

  /**
   * Emits the batches of {@code file} after its resume position.
   *
   * @return {@code false} if the pipeline is stopping
   */
  private boolean readFile(SourceContext ctx, String stream)
      throws InterruptedException {
    String file = file(stream);
    SourcePosition resume =
        forgotten.contains(stream) ? null : ctx.resumePositions().get(stream);
    long skip;
    try {
      skip = resume == null ? 0 : resume.asOffset();
    } catch (IllegalArgumentException e) {
      throw new SourceException("Cannot resume Arrow IPC file " + file + ": " + e.getMessage()
          + " (was the position recorded by another source?)", stream, null, e);
    }
    long batches = 0;
    try (SeekableByteChannel channel = location.open(stream)) {
      boolean fileFormat = hasFileMagic(channel);
      channel.position(0);
      if (metadataKey != null && !fileFormat) {
        return true;
      }
      try (ArrowReader in = fileFormat
          ? new ArrowFileReader(channel, allocator, compressionFactory())
          : new ArrowStreamReader(channel, allocator, compressionFactory())) {
        if (fileFormat) {
          ArrowFileReader fileReader = (ArrowFileReader) in;
          // Reads the footer; getMetaData() alone does not.
          List<ArrowBlock> blocks = fileReader.getRecordBlocks();
          if (metadataKey != null
              && !metadataValue.equals(fileReader.getMetaData().get(metadataKey))) {
            return true;
          }
          for (batches = skip; batches < blocks.size(); ) {
            fileReader.loadRecordBatch(blocks.get((int) batches));
            batches++;
            if (!emit(ctx, stream, in.getVectorSchemaRoot(), batches)) {
              return false;
            }
          }
          batches = blocks.size(); // below skip if the file has fewer batches than committed
        } else {
          while (in.loadNextBatch()) {
            batches++;
            if (batches > skip && !emit(ctx, stream, in.getVectorSchemaRoot(), batches)) {
              return false;
            }
          }
        }
      }
    } catch (NoSuchFileException e) {
      // Removed by someone else between listing and reading: nothing to read.
      return true;
    } catch (IOException | RuntimeException e) {
      throw new SourceException("Cannot read Arrow IPC file " + file + ": " + e.getMessage()
          + hint(e), stream, null, e);
    }
    if (batches < skip) {
      throw new SourceException("Cannot resume Arrow IPC file " + file + " at batch " + skip
          + ": it has only " + batches + " batches (was it replaced?)", stream, null, null);
    }
    fileDone(ctx, stream, batches, batches == skip);
    return true;
  }

  /** Moves the reader's reused root into a root the batch owns, and emits it. */
  private boolean emit(SourceContext ctx, String stream, VectorSchemaRoot reused, long batches)
      throws InterruptedException {
    List<FieldVector> owned = new ArrayList<>(reused.getFieldVectors().size());
    for (FieldVector vector : reused.getFieldVectors()) {
      var pair = vector.getTransferPair(allocator);
      pair.transfer();
      owned.add((FieldVector) pair.getTo());
    }
    VectorSchemaRoot root = new VectorSchemaRoot(reused.getSchema(), owned, reused.getRowCount());
    return ctx.emit(SourceBatch.of(stream, root, SourcePosition.ofOffset(batches)));
  }

  /**
   * Records that {@code stream} was read to its end; removes it now if a commit (this run's or,
   * when {@code alreadyCommitted}, a previous run's) already covers its last batch.
   */
  private void fileDone(SourceContext ctx, String stream, long batches, boolean alreadyCommitted) {
    if (removal == ArrowFileSource.Removal.KEEP) {
      return;
    }
    synchronized (lock) {
      // A file without batches has nothing to commit.
      if (alreadyCommitted || batches == 0
          || SourcePosition.ofOffset(batches).equals(lastCommitted.get(stream))) {
        try {
          remove(ctx, stream);
        } catch (IOException e) {
          throw new SourceException("Cannot remove completed Arrow IPC file "
              + file(stream) + ": " + e, stream, null, e);
        }
      } else {
        finished.put(stream, batches);
      }
    }
  }

  @Override
  public void committed(Map<String, SourcePosition> positions) {
    SourceContext ctx = context;
    if (removal == ArrowFileSource.Removal.KEEP || ctx == null) {
      return;
    }
    synchronized (lock) {
      lastCommitted = positions;
      var it = finished.entrySet().iterator();
      while (it.hasNext()) {
        var entry = it.next();
        if (SourcePosition.ofOffset(entry.getValue()).equals(positions.get(entry.getKey()))) {
          it.remove();
          try {
            remove(ctx, entry.getKey());
          } catch (IOException e) {
            throw new SourceException("Cannot remove completed Arrow IPC file "
                + file(entry.getKey()) + ": " + e, entry.getKey(), null, e);
          }
        }
      }
    }
  }

  private void remove(SourceContext ctx, String stream) throws IOException {
    if (removal == ArrowFileSource.Removal.DELETE) {
      location.delete(stream);
    } else {
      location.move(stream, doneDirectory);
    }
    forgotten.add(stream);
    seen.remove(stream);
    ctx.forget(List.of(stream));
  }

  private static boolean hasFileMagic(SeekableByteChannel channel) throws IOException {
    ByteBuffer head = ByteBuffer.allocate(FILE_MAGIC.length);
    while (head.hasRemaining() && channel.read(head) >= 0) {
      // read until full or end of file
    }
    return !head.hasRemaining() && java.util.Arrays.equals(head.array(), FILE_MAGIC);
  }

  /** Arrow's LZ4/ZSTD codecs when arrow-compression is on the classpath, else none. */
  private static CompressionCodec.Factory compressionFactory() {
    try {
      Class<?> type = Class.forName(COMPRESSION_FACTORY, true, DirectorySource.class.getClassLoader());
      return (CompressionCodec.Factory) type.getField("INSTANCE").get(null);
    } catch (ReflectiveOperationException | LinkageError e) {
      return NoCompressionCodec.Factory.INSTANCE;
    }
  }

  private static String hint(Exception e) {
    String message = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
    if (message.contains("compression") && compressionFactory() == NoCompressionCodec.Factory.INSTANCE) {
      return " (the file is compressed: add org.apache.arrow:arrow-compression to the classpath)";
    }
    return "";
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stop.countDown();
    if (reader != null) {
      reader.interrupt();
      boolean interrupted = false;
      while (reader.isAlive()) {
        try {
          reader.join();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      allocator.close();
    } finally {
      location.close();
    }
  }
}
