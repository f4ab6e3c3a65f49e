package io.crest.flight;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * One instance's share of the discovered endpoints when several instances read one descriptor:
 * shard {@code index} of {@code count} owns the streams whose key ranks it highest
 * (rendezvous, or highest-random-weight, hashing: for every shard {@code j} a weight is the first
 * 8 bytes of SHA-256 over the key's UTF-8 bytes and {@code j}; the owner is the shard of the
 * largest weight). The key is what names the stream's position ({@link Discovery#key}: the ticket
 * text, a digest of the ticket, or an incremental ticket's view), so the assignment is stable
 * across restarts, JVMs and the order the server lists its endpoints in. Adding endpoints moves
 * none of the others; going from {@code n} to {@code n + 1} shards moves about {@code 1/(n + 1)}
 * of the streams, each to the new shard.
 *
 * <p>Immutable and thread-safe.
 */
final class Shard {
  private final int index;
  private final int count;

  /**
   * @throws IllegalArgumentException if {@code count} is below 1 or {@code index} is not in
   *     {@code [0, count)}
   */
  Shard(int index, int count) {
    if (count < 1 || index < 0 || index >= count) {
      throw new IllegalArgumentException(
          "Cannot read shard " + index + " of " + count + ": the count must be at least 1 and"
              + " the index from 0 to count - 1");
    }
    this.index = index;
    this.count = count;
  }

  int index() {
    return index;
  }

  int count() {
    return count;
  }

  /** What the pipeline id of this shard adds to the configured id. */
  String idSuffix() {
    return "-shard-" + index + "-of-" + count;
  }

  /** Whether this shard reads the stream of key {@code key}. */
  boolean owns(String key) {
    return owner(key, count) == index;
  }

  /** The shard of {@code count} that reads the stream of key {@code key}. */
  static int owner(String key, int count) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    int best = 0;
    long bestWeight = 0;
    for (int j = 0; j < count; j++) {
      long weight = weight(bytes, j);
      if (j == 0 || Long.compareUnsigned(weight, bestWeight) > 0) {
        best = j;
        bestWeight = weight;
      }
    }
    return best;
  }

  private static long weight(byte[] key, int shard) {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Cannot assign streams to shards: no SHA-256 in this JVM", e);
    }
    digest.update(key);
    digest.update(ByteBuffer.allocate(4).putInt(shard).array());
    return ByteBuffer.wrap(digest.digest()).getLong();
  }

  @Override
  public String toString() {
    return "shard " + index + " of " + count;
  }
}
