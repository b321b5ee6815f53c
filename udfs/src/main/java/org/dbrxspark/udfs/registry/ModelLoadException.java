package org.dbrxspark.udfs.registry;

/**
 * A model could not be made available on this executor: the checkpoint is missing or invalid,
 * fetching it failed, or the configured batching budget does not fit the executor's memory. The
 * message names the location and the cause. It fails the task (once, at its first use of the
 * model), not single rows.
 */
public class ModelLoadException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ModelLoadException(String message, Throwable cause) {
    super(message, cause);
  }

  public ModelLoadException(String message) {
    super(message);
  }
}
