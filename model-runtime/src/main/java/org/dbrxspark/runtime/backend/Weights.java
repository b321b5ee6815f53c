package org.dbrxspark.runtime.backend;

import org.dbrxspark.runtime.checkpoint.DType;

/**
 * A {@code [rows, cols]} weight matrix in its stored type, as a {@link Backend} holds it: mapped
 * from the checkpoint on the CPU, uploaded once on a GPU. A norm weight is one row.
 */
public interface Weights {
  int rows();

  int cols();

  DType dtype();

  /** Bytes the weights occupy in their stored type. */
  long byteSize();
}
