package org.dbrxspark.runtime.cli;

/** A command line the CLI cannot run: reported on stderr with exit code 2. */
final class InvalidCommandLineException extends RuntimeException {
  InvalidCommandLineException(String message) {
    super(message);
  }
}
