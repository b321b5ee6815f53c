package org.dbrxspark.runtime.backend;

/**
 * A {@code [rows, cols]} float32 matrix of activations, a row per token, held by a {@link Backend}
 * in its own memory (the Java heap for the CPU, device memory for a GPU). Only its backend reads or
 * writes it; callers move values in and out with {@link Backend#upload} and {@link
 * Backend#download}.
 */
public interface Activations {
  int rows();

  int cols();
}
