package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;

/** JSON results on stdout, human notes on stderr. */
final class CliOutput {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final PrintStream out;
  private final PrintStream err;

  CliOutput(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  ObjectNode object() {
    return JSON.createObjectNode();
  }

  /** Writes one JSON document as a line. */
  void json(Object value) throws Exception {
    out.println(JSON.writeValueAsString(value));
    out.flush();
  }

  /** Writes raw text to stdout (streamed chat replies). */
  void text(String text) {
    out.print(text);
    out.flush();
  }

  void note(String message) {
    err.println(message);
  }
}
