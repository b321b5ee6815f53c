package org.dbrxspark.runtime.backend;

import java.util.Locale;

/**
 * How the KV cache stores keys and values. Attention always widens them back to f32; f16 and bf16
 * halve the cache at the cost of rounding each stored element (relative error 2^-11 and 2^-8).
 */
public enum KvDType {
  F32(4),
  F16(2),
  BF16(2);

  private final int bytes;

  KvDType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per stored element. */
  public int bytes() {
    return bytes;
  }

  /** The name the command line uses: {@code f32}, {@code f16} or {@code bf16}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a {@link #label()}. */
  public static KvDType parse(String label) {
    for (KvDType t : values()) {
      if (t.label().equals(label)) {
        return t;
      }
    }
    throw new IllegalArgumentException(
        "unknown KV cache dtype '" + label + "' (known: f32, f16, bf16)");
  }
}
