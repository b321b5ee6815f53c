package org.dbrxspark.runtime.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

/** The texts a command works on: repeated {@code --NAME} values and/or lines of {@code --input}. */
final class TextInputs {
  private TextInputs() {}

  static List<Option> options(String name, String help) {
    return List.of(
        Option.repeated(name, help + " (repeatable)"),
        Option.value("input", null, "file with one " + name + " per line (blank lines skipped)"));
  }

  static List<String> read(Args args, String name) throws IOException {
    List<String> texts = new ArrayList<>(args.all(name));
    if (args.has("input")) {
      for (String line : Files.readAllLines(args.path("input"))) {
        if (!line.isBlank()) {
          texts.add(line);
        }
      }
    }
    if (texts.isEmpty()) {
      throw new InvalidCommandLineException("give at least one --" + name + " or an --input file");
    }
    return texts;
  }
}
