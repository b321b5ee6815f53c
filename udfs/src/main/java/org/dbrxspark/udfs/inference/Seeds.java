package org.dbrxspark.udfs.inference;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Per-row seeds that do not depend on partitioning, task attempt or batch: a re-executed task draws
 * the same tokens.
 */
public final class Seeds {
  private Seeds() {}

  /**
   * The first 8 bytes (big-endian) of SHA-256 over the 8 big-endian bytes of {@code globalSeed}
   * followed by the UTF-8 bytes of {@code rowId}.
   */
  public static long forRow(String rowId, long globalSeed) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update(ByteBuffer.allocate(Long.BYTES).putLong(globalSeed).array());
      sha.update(rowId.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(sha.digest()).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
