package org.dbrxspark.jobs.io;

import java.util.Arrays;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/** The input formats the document reader understands. */
public enum InputFormat {
  AUTO,
  JSONL,
  PARQUET,
  TEXT,
  CSV,
  DELTA;

  /** Option values, lower case, for {@code --input-format}. */
  public static String[] names() {
    return Arrays.stream(values())
        .map(f -> f.name().toLowerCase(Locale.ROOT))
        .toArray(String[]::new);
  }

  public static InputFormat of(String name) {
    return valueOf(name.toUpperCase(Locale.ROOT));
  }

  /**
   * Guesses the format of a file, folder or glob: a folder with {@code _delta_log} is Delta,
   * otherwise the extension of the path (or of the first file in the folder or glob, by path, at
   * any depth: see {@link InputFiles}) decides, ignoring a compression suffix.
   */
  public static InputFormat detect(String input, Configuration hadoop) {
    return detect(input, hadoop, "--input", "--input-format");
  }

  /**
   * {@link #detect(String, Configuration)} for the path given by {@code option}; its errors name
   * that option, and {@code formatOption} as the way to say the format.
   */
  public static InputFormat detect(
      String input, Configuration hadoop, String option, String formatOption) {
    return detect(InputFiles.of(input, hadoop, option), option, formatOption);
  }

  /** The format of files already listed, as {@link #detect(String, Configuration)} tells it. */
  static InputFormat detect(InputFiles files) {
    return detect(files, "--input", "--input-format");
  }

  private static InputFormat detect(InputFiles files, String option, String formatOption) {
    InputFiles.First first = files.first();
    String input = files.input();
    if (!first.matched()) {
      throw new IllegalArgumentException(option + " matches nothing: " + input);
    }
    if (first.delta()) {
      return DELTA;
    }
    if (first.name() == null) {
      throw new IllegalArgumentException(option + " folder has no data files: " + input);
    }
    return byName(first.name(), input, formatOption);
  }

  /** Whether {@code fileName} names a file of a format this reader knows (compressed or not). */
  static boolean isDataFileName(String fileName) {
    return ofName(fileName) != null;
  }

  private static InputFormat byName(String fileName, String input, String formatOption) {
    InputFormat format = ofName(fileName);
    if (format == null) {
      throw new IllegalArgumentException(
          "cannot tell the format of " + input + " from '" + fileName + "': pass " + formatOption);
    }
    return format;
  }

  /** The format a file's extension names, or null. */
  private static InputFormat ofName(String fileName) {
    String name =
        fileName.toLowerCase(Locale.ROOT).replaceFirst("\\.(gz|bz2|zst|lz4|snappy|deflate)$", "");
    if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson")) {
      return JSONL;
    }
    if (name.endsWith(".parquet")) {
      return PARQUET;
    }
    if (name.endsWith(".csv")) {
      return CSV;
    }
    if (name.endsWith(".txt") || name.endsWith(".md") || name.endsWith(".text")) {
      return TEXT;
    }
    return null;
  }
}
