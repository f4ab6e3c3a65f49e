package io.crest.internal;

import io.crest.spi.SourceBatch;
import io.crest.spi.SourcePosition;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.arrow.vector.ipc.ArrowFileWriter;

/**
 * Writes rejected batches as Arrow IPC files, durably: written to a temporary name, forced to disk,
 * then renamed, and the directory forced, so a file with the final name is always complete and
 * survives a crash once {@link #write} returned.
 *
 * <p>The file name depends only on the pipeline id, the stream and the position after the batch
 * (see {@link #fileName}), so a batch dead-lettered again after a restart (its position was not
 * committed before a crash) replaces its earlier file instead of adding a second one, and removes
 * the temporary files a run killed while writing it left behind. Used by the writer thread only.
 */
final class DeadLetterWriter {
  static final String REASON = "crest.reason";
  static final String STREAM = "crest.stream";
  static final String POSITION = "crest.position";
  static final String PIPELINE_ID = "crest.pipeline-id";
  static final String SINK = "crest.sink";
  private static final boolean WINDOWS =
      System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).startsWith("windows");

  private final Path directory;
  private final String pipelineId;
  private final String sink;

  DeadLetterWriter(Path directory, String pipelineId, String sink) {
    this.directory = directory;
    this.pipelineId = pipelineId;
    this.sink = sink;
  }

  /** Writes {@code batch} with {@code reason}; returns the file. The caller still owns the batch. */
  Path write(SourceBatch batch, String reason) {
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put(REASON, reason);
    meta.put(STREAM, batch.stream());
    meta.put(POSITION, batch.positionAfter().value());
    meta.put(PIPELINE_ID, pipelineId);
    meta.put(SINK, sink);
    String name = fileName(pipelineId, batch.stream(), batch.positionAfter());
    Path target = directory.resolve(name);
    // A random temporary name: two copies of a pipeline (a zombie) never write into one file.
    Path temp = directory.resolve(
        "." + name + "." + UUID.randomUUID().toString().substring(0, 8) + ".tmp");
    try {
      Files.createDirectories(directory);
      deleteStaleTemporaries(name);
      try (FileChannel channel =
              FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
          ArrowFileWriter writer = new ArrowFileWriter(batch.root(), null, channel, meta)) {
        writer.start();
        writer.writeBatch();
        writer.end();
        channel.force(true);
      }
      try {
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      forceDirectory();
      return target;
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp); // a half-written file must not stay behind
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw new UncheckedIOException(
          "Cannot write dead-letter file " + target + " for stream " + batch.stream()
              + " at position " + batch.positionAfter() + ": " + e.getMessage(), e);
    }
  }

  /**
   * Deletes temporary files of the same dead-letter file that an earlier run left when it was
   * killed half-way through writing it: the batch is written again now, under the same name, so
   * they can only be leftovers (or a fenced zombie's, whose rename then fails).
   */
  private void deleteStaleTemporaries(String name) throws IOException {
    try (java.nio.file.DirectoryStream<Path> stale =
        Files.newDirectoryStream(directory, "." + name + ".*.tmp")) {
      for (Path file : stale) {
        Files.deleteIfExists(file);
      }
    }
  }

  /**
   * Forces the directory entry of the renamed file to disk, so the file survives a power loss
   * once {@link #write} returned. Windows cannot open a directory as a channel; there the rename
   * is as durable as NTFS makes it.
   */
  private void forceDirectory() throws IOException {
    if (WINDOWS) {
      return;
    }
    try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
      channel.force(true);
    }
  }

  /**
   * The name of the dead-letter file of a batch: a readable prefix (stream and position, with
   * every character outside {@code A-Z a-z 0-9 . _ = -} replaced by {@code _}, each cut to 40
   * characters) and the first 16 hex digits of the SHA-256 of the exact (pipeline id, stream,
   * position) triple, then {@code .arrow}. The same triple always gives the same name; names are
   * at most 105 characters and safe on every file system.
   */
  static String fileName(String pipelineId, String stream, SourcePosition position) {
    String triple = pipelineId + "\n" + stream + "\n" + position.value();
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(triple.getBytes(StandardCharsets.UTF_8));
      return safe(stream) + "-" + safe(position.value()) + "-"
          + HexFormat.of().formatHex(digest, 0, 8) + ".arrow";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot name a dead-letter file: no SHA-256 in this JVM", e);
    }
  }

  private static String safe(String text) {
    String s = text.replaceAll("[^A-Za-z0-9._=-]", "_");
    return s.length() > 40 ? s.substring(0, 40) : s;
  }
}
