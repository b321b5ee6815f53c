package org.dbrxspark.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every job that reads documents, over every kind of odd document a user's files hold (empty, a 1
 * MB word, a 3 MB document, CJK, mixed scripts, special-token text, bytes that are not UTF-8): each
 * job finishes, and each document is in its output or its rejects exactly once. A duplicated id
 * stops each job before it writes, naming the id.
 */
class HostileInputTest {
  private static final Set<String> IDS = new TreeSet<>(BadInput.HOSTILE.keySet());
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void ids() {
    IDS.add(BadInput.SEVERAL_MB);
    IDS.add(BadInput.INVALID_UTF8);
  }

  // generate reads its prompts as these jobs read documents; GenerateJobTest tries it on lines that
  // are not rows.
  @ParameterizedTest
  @ValueSource(strings = {"curate", "dedup", "tokenize", "mix", "score"})
  void everyDocumentIsWrittenOrRejectedOnce(String job, @TempDir Path dir) throws Exception {
    String input = BadInput.writeEveryKind(dir, false);
    String out = dir.resolve("out").toString();
    JobRunner.Result run = JobRunner.run(args(job, input, out));
    assertEquals(0, run.code(), run.err() + run.out());
    List<String> ids = ids(out, "id");
    if (DeltaTables.exists(spark, out + "_rejects")) {
      ids.addAll(ids(out + "_rejects", "id"));
    }
    if (job.equals("dedup")) {
      ids.addAll(ids(out + "_duplicates", "id"));
    }
    assertEquals(IDS.size(), ids.size(), "each document once: " + ids);
    assertEquals(IDS, new TreeSet<>(ids));
  }

  /**
   * rag-index embeds every token, which takes minutes for the 1 and 3 MB documents on the tiny
   * model: here they are over {@code --max-document-bytes}, so the reader rejects them, which is
   * the path a user's oversized line takes.
   */
  @Test
  void everyDocumentIsIndexedOrRejected(@TempDir Path dir) throws Exception {
    String index = dir.resolve("index").toString();
    JobRunner.Result run =
        JobRunner.run(
            "rag-index",
            "--input",
            BadInput.writeEveryKind(dir, false),
            "--index",
            index,
            "--model",
            TestCheckpoints.tiny(),
            "--threads",
            "2",
            "--max-document-bytes",
            "100000");
    assertEquals(0, run.code(), run.err() + run.out());
    Set<String> indexed = new TreeSet<>(ids(index + "/chunks", "source_id"));
    Map<String, String> rejected = new TreeMap<>();
    for (Row r : DeltaTables.read(spark, index + "/rejects").collectAsList()) {
      rejected.put(r.getAs("source_id"), r.getAs("reason"));
    }
    // An oversized line is not parsed, so its reject carries an id derived from its content.
    Set<String> tooLarge = new TreeSet<>();
    rejected.forEach(
        (id, reason) -> {
          if (reason.startsWith("too-large: ")) {
            tooLarge.add(id);
          }
        });
    assertEquals(2, tooLarge.size(), rejected.toString());
    Set<String> all = new TreeSet<>(indexed);
    all.addAll(rejected.keySet());
    all.removeAll(tooLarge);
    Set<String> expected = new TreeSet<>(IDS);
    expected.removeAll(Set.of(BadInput.SEVERAL_MB, "million-char-word"));
    assertEquals(expected, all);
    assertTrue(
        indexed.containsAll(Set.of("cjk", "mixed-scripts", BadInput.INVALID_UTF8)),
        indexed.toString());
  }

  @ParameterizedTest
  @ValueSource(strings = {"curate", "dedup", "tokenize", "mix", "score", "rag-index"})
  void aDuplicatedIdStopsTheJobBeforeItWrites(String job, @TempDir Path dir) throws Exception {
    String input = BadInput.writeEveryKind(dir, true);
    String out = dir.resolve("out").toString();
    String[] args =
        job.equals("rag-index")
            ? new String[] {
              "rag-index", "--input", input, "--index", out, "--model", TestCheckpoints.tiny()
            }
            : args(job, input, out);
    JobRunner.Result run = JobRunner.run(args);
    assertNotEquals(0, run.code(), run.out());
    assertTrue(run.err().contains("cjk") && run.err().contains("--on-duplicate-id"), run.err());
    assertFalse(Files.exists(Path.of(out)), "nothing written");
  }

  private static String[] args(String job, String input, String out) {
    List<String> args = new ArrayList<>(List.of(job, "--input", input, "--output", out));
    switch (job) {
      case "mix" ->
          args.addAll(
              List.of(
                  "--weights",
                  "every-kind=1",
                  "--budget",
                  Integer.toString(IDS.size()),
                  "--budget-unit",
                  "documents"));
      case "score" ->
          args.addAll(
              List.of(
                  "--model",
                  TestCheckpoints.tiny(),
                  "--threads",
                  "2",
                  "--max-perplexity",
                  "1e300"));
      case "generate" ->
          args.addAll(
              List.of(
                  "--model",
                  TestCheckpoints.tiny(),
                  "--threads",
                  "2",
                  "--prompt-col",
                  "text",
                  "--max-new-tokens",
                  "2"));
      default -> {}
    }
    return args.toArray(String[]::new);
  }

  private List<String> ids(String table, String column) {
    List<String> out = new ArrayList<>();
    for (Row r : DeltaTables.read(spark, table).select(column).collectAsList()) {
      out.add(r.getString(0));
    }
    return out;
  }
}
