package org.dbrxspark.jobs.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/** Input that is not all documents, as a new user's files can be, for the jobs' tests. */
public final class BadInput {
  /** Three document rows, then the seven kinds of line that are not one, by id (or line number). */
  public static final String JSONL =
      """
        {"id": "good-1", "text": "The first good document talks about rivers and the sea."}
        {"id": "good-2", "text": "The second good document talks about mountains and snow."}
        {"id": "good-3", "text": "The third good document talks about cities and their streets."}
        {"id": "unterminated", "text": "no closing quote
        [{"id": "in-an-array", "text": "an array of one object"}]
        "a bare string"
        {"id": "text-number", "text": 42}
        {"id": "text-null", "text": null}
        {"id": "text-missing", "body": "no text field"}
        {"id": "text-array", "text": ["an", "array"]}
        """;

  /** Documents that are odd but valid, by id: each must stay a document of its own. */
  public static final Map<String, String> HOSTILE =
      Map.of(
          "empty", "",
          "special-tokens", "Plain text that mentions <|endoftext|>, <|pad|> and <|im_start|>user.",
          "million-char-word", "abcdefghij".repeat(100_000),
          "mixed-scripts", "Hello мир, 世界 and مرحبا: one line, four scripts, 😀 included.",
          "cjk", "数据准备是训练大型语言模型的第一步。日本語の文章も含まれています。한국어 문장도 있습니다。");

  /** The id of a document of several MB, in {@link #writeEveryKind}. */
  public static final String SEVERAL_MB = "several-mb";

  /** The id of a line with bytes that are not UTF-8, in {@link #writeEveryKind}. */
  public static final String INVALID_UTF8 = "invalid-utf8";

  private BadInput() {}

  /** Writes {@link #HOSTILE} as JSONL to {@code dir/hostile.jsonl} and returns its path. */
  public static String writeHostile(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, String> e : new TreeMap<>(HOSTILE).entrySet()) {
      lines.add(json.writeValueAsString(Map.of("id", e.getKey(), "text", e.getValue())));
    }
    return Files.write(dir.resolve("hostile.jsonl"), lines).toString();
  }

  /**
   * Writes {@link #HOSTILE}, a 3 MB document of prose ({@link #SEVERAL_MB}) and a line whose text
   * holds bytes that are not UTF-8 ({@link #INVALID_UTF8}) to {@code dir/every-kind.jsonl}; with
   * {@code duplicateId}, the line of {@code cjk} comes twice.
   */
  public static String writeEveryKind(Path dir, boolean duplicateId) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (String line : Files.readAllLines(Path.of(writeHostile(dir)))) {
      bytes.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      if (duplicateId && line.contains("\"cjk\"")) {
        bytes.write((line + "\n").getBytes(StandardCharsets.UTF_8));
      }
    }
    String prose =
        "The river runs past the mill, under the old bridge and on to the sea. ".repeat(42_000);
    bytes.write(
        (json.writeValueAsString(Map.of("id", SEVERAL_MB, "text", prose)) + "\n")
            .getBytes(StandardCharsets.UTF_8));
    bytes.write(
        ("{\"id\": \"" + INVALID_UTF8 + "\", \"text\": \"caf").getBytes(StandardCharsets.UTF_8));
    bytes.write(new byte[] {(byte) 0xC3, ' ', (byte) 0xFF, (byte) 0xFE});
    bytes.write(
        " au lait, a line with bytes that are not UTF-8.\"}\n".getBytes(StandardCharsets.UTF_8));
    return Files.write(dir.resolve("every-kind.jsonl"), bytes.toByteArray()).toString();
  }

  /**
   * How a read error ends for line {@code line} of the file {@link #write} wrote in {@code dir}:
   * {@code " at file:///.../bad.jsonl line 7"}.
   */
  public static String at(Path dir, int line) {
    return " at file://" + dir.resolve("bad.jsonl").toUri().getPath() + " line " + line;
  }

  /**
   * Writes {@code lines} to {@code file}, each ending in a newline, in UTF-8 but for U+0000, which
   * is written as the byte 0xE9 (é in Latin-1): not UTF-8.
   */
  public static Path writeLines(Path file, String... lines) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    for (String line : lines) {
      for (byte b : (line + "\n").getBytes(StandardCharsets.UTF_8)) {
        bytes.write(b == 0 ? 0xE9 : b);
      }
    }
    return Files.write(file, bytes.toByteArray());
  }

  /** A rejects table's reasons (joined by "; ") by id. */
  public static Map<String, String> reasonsById(Dataset<Row> rejects) {
    Map<String, String> reasons = new TreeMap<>();
    for (Row r : rejects.collectAsList()) {
      reasons.put(
          String.valueOf(r.<Object>getAs("id")),
          String.join("; ", r.<String>getList(r.fieldIndex("reasons"))));
    }
    return reasons;
  }

  /** Writes {@link #JSONL} to {@code dir/bad.jsonl} and returns its path. */
  public static String write(Path dir) throws IOException {
    return Files.writeString(dir.resolve("bad.jsonl"), JSONL).toString();
  }
}
