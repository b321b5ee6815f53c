package org.dbrxspark.jobs.io;

import java.util.List;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;

/**
 * Where and how a job reads its documents.
 *
 * @param input a file, folder or glob
 * @param format the input format, or {@link InputFormat#AUTO}
 * @param textCol the column holding the text (ignored for plain-text files)
 * @param idCol the id column; when the input lacks it, ids are derived from source and text
 * @param source a fixed source name, or empty to use {@code sourceCol} or the input's file name
 * @param sourceCol the column naming each row's source, used when present
 * @param maxDocumentBytes the longest JSONL line read; a longer one is rejected as too large
 * @param onDuplicateId what to do with rows whose id an earlier row has: {@code fail}, {@code
 *     keep-first} or {@code rename}
 */
public record ReaderOptions(
    String input,
    InputFormat format,
    String textCol,
    String idCol,
    String source,
    String sourceCol,
    long maxDocumentBytes,
    String onDuplicateId) {
  public static final OptionSpec<String> INPUT =
      OptionSpec.path(
          "input",
          null,
          "Input documents: a file, folder (every file below it, at any depth) or glob");
  public static final OptionSpec<String> INPUT_FORMAT =
      OptionSpec.choice(
          "input-format",
          "auto",
          "Input format; auto guesses from a _delta_log folder or the file extension",
          InputFormat.names());
  public static final OptionSpec<String> TEXT_COL =
      OptionSpec.string("text-col", Columns.TEXT, "Column holding the document text");
  public static final OptionSpec<String> ID_COL =
      OptionSpec.string(
          "id-col",
          Columns.ID,
          "Column holding the document id; when absent, a stable id is derived from source and text "
              + "(plain-text input: the file path)");
  public static final OptionSpec<String> SOURCE =
      OptionSpec.string(
          "source",
          "",
          "Fixed source name for every row; default: the --source-col column, else the input's file name");
  public static final OptionSpec<String> SOURCE_COL =
      OptionSpec.string(
          "source-col",
          Columns.SOURCE,
          "Column naming each row's source, used when present and --source is not given");
  public static final OptionSpec<Long> MAX_DOCUMENT_BYTES =
      OptionSpec.longValue(
          "max-document-bytes",
          "268435456",
          1,
          "Longest JSONL line (one document) read; a longer one is rejected as 'too-large: N bytes > limit'. The "
              + "limit bounds the memory one row can take; no line can exceed 2 GB (one Java array) in any case");
  public static final OptionSpec<String> ON_DUPLICATE_ID =
      OptionSpec.choice(
          "on-duplicate-id",
          "fail",
          "Rows whose id an earlier row has (input order: file, then position in the file); the id is the key of "
              + "every later join: fail stops the job naming the first ids, keep-first drops the later rows, rename "
              + "gives them id-2, id-3, ...",
          "fail",
          "keep-first",
          "rename");

  /** The reader options, for a job's option list. */
  public static List<OptionSpec<?>> specs() {
    return List.of(
        INPUT,
        INPUT_FORMAT,
        TEXT_COL,
        ID_COL,
        SOURCE,
        SOURCE_COL,
        MAX_DOCUMENT_BYTES,
        ON_DUPLICATE_ID);
  }

  public static ReaderOptions from(ParsedOptions o) {
    return new ReaderOptions(
        o.get(INPUT),
        InputFormat.of(o.get(INPUT_FORMAT)),
        o.get(TEXT_COL),
        o.get(ID_COL),
        o.get(SOURCE),
        o.get(SOURCE_COL),
        o.get(MAX_DOCUMENT_BYTES),
        o.get(ON_DUPLICATE_ID));
  }

  /** Defaults for reading {@code input} in {@code format}. */
  public static ReaderOptions of(String input, InputFormat format) {
    return new ReaderOptions(input, format, Columns.TEXT, Columns.ID, "", Columns.SOURCE);
  }

  /** {@code input} read with the given columns, and the defaults of the other options. */
  public ReaderOptions(
      String input,
      InputFormat format,
      String textCol,
      String idCol,
      String source,
      String sourceCol) {
    this(
        input,
        format,
        textCol,
        idCol,
        source,
        sourceCol,
        Long.parseLong(MAX_DOCUMENT_BYTES.defaultText()),
        ON_DUPLICATE_ID.defaultText());
  }

  public ReaderOptions withSource(String fixedSource) {
    return new ReaderOptions(
        input, format, textCol, idCol, fixedSource, sourceCol, maxDocumentBytes, onDuplicateId);
  }
}
