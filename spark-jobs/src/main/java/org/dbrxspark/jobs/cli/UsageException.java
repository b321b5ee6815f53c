package org.dbrxspark.jobs.cli;

/** A command line or pipeline file that cannot be run: the message says what to fix. */
public final class UsageException extends RuntimeException {
  public UsageException(String message) {
    super(message);
  }
}
