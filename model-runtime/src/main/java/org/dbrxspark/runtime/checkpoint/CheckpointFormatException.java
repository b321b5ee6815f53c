package org.dbrxspark.runtime.checkpoint;

import java.io.IOException;

/**
 * A checkpoint file is malformed or does not match its {@code config.json}. The message names the
 * file and, where one is involved, the tensor.
 */
public class CheckpointFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public CheckpointFormatException(String message) {
    super(message);
  }

  public CheckpointFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
