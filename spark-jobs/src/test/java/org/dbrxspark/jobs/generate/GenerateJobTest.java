package org.dbrxspark.jobs.generate;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.struct;
import static org.apache.spark.sql.functions.udf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.delta.tables.DeltaTable;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.types.DataTypes;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.TestCheckpoints;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.udfs.ml.DbrxGenerator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateJobTest {
  private static final int ROWS = 16;
  private static SparkSession spark;
  private static String model;
  private static String input;

  /** id -> generated text of the plain udfs transformer on the same rows and settings. */
  private static Map<Long, String> expected;

  /** First attempts that the injected failure hit; static because tasks run in this JVM. */
  private static final AtomicInteger INJECTED = new AtomicInteger();

  private static final Map<Long, AtomicInteger> ROWS_PER_ATTEMPT = new ConcurrentHashMap<>();

  @TempDir static Path dir;

  @BeforeAll
  static void setUp() throws IOException {
    spark = SharedSpark.get();
    model = TestCheckpoints.tiny();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < ROWS; i++) {
      // Prompts repeat, so only the id tells rows apart for their seeds.
      lines.add(
          "{\"id\": "
              + i
              + ", \"prompt\": \"Tell me about topic "
              + (i % 4)
              + "\", \"note\": \"n"
              + i
              + "\"}");
    }
    input = Files.write(dir.resolve("prompts.jsonl"), lines).toString();
    expected = texts(transformer().transform(spark.read().json(input)));
  }

  /** The plain udfs transformer with the settings of {@link #args}. */
  private static DbrxGenerator transformer() {
    return new DbrxGenerator()
        .setModelLocation(model)
        .setThreads(2)
        .setIdCol("id")
        .setSeed(7)
        .setTemperature(0.8)
        .setTopK(40)
        .setMaxNewTokens(6);
  }

  private static String[] args(String output, String... more) {
    List<String> all =
        new ArrayList<>(
            List.of(
                "generate",
                "--input",
                input,
                "--output",
                output,
                "--model",
                model,
                "--threads",
                "2",
                "--seed",
                "7",
                "--temperature",
                "0.8",
                "--top-k",
                "40",
                "--max-new-tokens",
                "6",
                "--commit-every",
                "8",
                "--partitions",
                "2"));
    all.addAll(List.of(more));
    return all.toArray(String[]::new);
  }

  /** Runs generate with the settings of {@link #args} on {@code input}; it must succeed. */
  private static JobRunner.Result runOn(Path input, String output, String... more) {
    String[] argv = args(output, more);
    argv[2] = input.toString();
    JobRunner.Result run = JobRunner.run(argv);
    assertEquals(0, run.code(), run.err() + run.out());
    return run;
  }

  /** Runs a job with a write hook; {@code args} as for the entry point. */
  private static JobSummary runWith(GenerateJob job, String... args) {
    String[] rest = java.util.Arrays.copyOfRange(args, 1, args.length);
    ParsedOptions options = new DbrxSparkJobs().optionSet(job).parse(rest);
    job.validate(options);
    return job.run(spark, options);
  }

  private static Map<Long, String> texts(Dataset<Row> generated) {
    Map<Long, String> out = new TreeMap<>();
    for (Row r : generated.select("id", "generation.text", "generation.error").collectAsList()) {
      assertNull(r.get(2), "row error");
      assertNull(out.put(r.getLong(0), r.getString(1)), "id " + r.getLong(0) + " twice");
    }
    return out;
  }

  /** The value of a summary line. */
  private static String value(String summary, String label) {
    for (String line : summary.split("\n")) {
      if (line.startsWith("  " + label + " ")) {
        return line.substring(label.length() + 2).trim();
      }
    }
    throw new AssertionError("no line '" + label + "' in\n" + summary);
  }

  private static String causes(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      sb.append(c).append('\n');
    }
    return sb.toString();
  }

  private static long commits(String output) {
    return DeltaTable.forPath(spark, output).history().count();
  }

  @Test
  void stoppedAndKilledRunsResumeToTheOneShotTable() {
    String output = dir.resolve("resumed").toString();
    JobRunner.Result first = JobRunner.run(args(output, "--max-chunks", "1"));
    assertEquals(0, first.code(), first.err() + first.out());
    assertTrue(first.out().contains("run again to generate the rest"), first.out());
    long afterFirst = DeltaTables.read(spark, output).count();
    assertTrue(afterFirst > 0 && afterFirst < ROWS, "one chunk of about 8 rows: " + afterFirst);
    assertEquals(2, commits(output), "the empty table, then one commit for the chunk");

    // Killed in the middle of writing the next chunk: every attempt of its tasks fails.
    GenerateJob killed =
        new GenerateJob((chunk, rows) -> rows.where(failAfterOneRow(true).apply(col("id"))));
    SparkException kill = assertThrows(SparkException.class, () -> runWith(killed, args(output)));
    assertTrue(causes(kill).contains("injected failure"), causes(kill));
    assertEquals(
        afterFirst,
        DeltaTables.read(spark, output).count(),
        "nothing of the killed chunk committed");
    assertEquals(2, commits(output));

    JobRunner.Result rest = JobRunner.run(args(output));
    assertEquals(0, rest.code(), rest.err() + rest.out());
    assertEquals(Long.toString(afterFirst), value(rest.out(), "already in the output"));
    assertTrue(rest.out().contains("output rows = distinct ids: 16 = 16  [ok]"), rest.out());
    assertEquals(
        expected,
        texts(DeltaTables.read(spark, output)),
        "same rows and texts as the transformer alone");
    List<String> columns = List.of(DeltaTables.read(spark, output).columns());
    assertEquals(
        List.of("id", "note", "prompt", "generation"), columns, "input columns, then the result");

    assertTrue(
        value(rest.out(), "prefix cache").endsWith("computed, 0 evicted (blocks of 16 tokens)"),
        rest.out());
    long versions = commits(output);

    // Prefix caching changes no result, so it is not a recorded setting.
    JobRunner.Result again = JobRunner.run(args(output, "--prefix-caching", "false"));
    assertEquals(0, again.code(), again.err());
    assertEquals("0", value(again.out(), "generated now"));
    assertEquals("off (--prefix-caching false)", value(again.out(), "prefix cache"));
    assertEquals(versions, commits(output), "a finished table gets no commit");

    JobRunner.Result changed = JobRunner.run(args(output, "--temperature", "0.5"));
    assertEquals(2, changed.code());
    assertTrue(
        changed.err().contains("--temperature 0.8 (table) vs 0.5 (this run)"), changed.err());
    JobRunner.Result over =
        JobRunner.run(args(output, "--temperature", "0.5", "--commit-every", "100", "--overwrite"));
    assertEquals(0, over.code(), over.err());
    assertEquals("16", value(over.out(), "generated now"));
    assertEquals(ROWS, DeltaTables.read(spark, output).count());
    assertNotEquals(
        expected, texts(DeltaTables.read(spark, output)), "another temperature, other samples");
    JobRunner.Result resumed = JobRunner.run(args(output, "--temperature", "0.5"));
    assertEquals(0, resumed.code(), "the table now records the new settings: " + resumed.err());
  }

  @Test
  void aRetriedWriteTaskLeavesEveryRowOnce() {
    String output = dir.resolve("retried").toString();
    INJECTED.set(0);
    GenerateJob flaky =
        new GenerateJob((chunk, rows) -> rows.where(failAfterOneRow(false).apply(col("id"))));
    JobSummary summary = runWith(flaky, args(output));
    assertTrue(summary.balanced(), summary.toString());
    assertTrue(INJECTED.get() >= 2, "a first attempt failed in every chunk: " + INJECTED.get());
    assertEquals(expected, texts(DeltaTables.read(spark, output)));
    assertEquals(ROWS, DeltaTables.read(spark, output).count());
    assertEquals(
        1 + 2, commits(output), "16 rows in chunks of about 8: two commits after the empty table");
  }

  /**
   * A filter that passes every row but fails its task after the task passed one row on: only in a
   * task's first attempt, or ({@code always}) in every attempt.
   */
  private static UserDefinedFunction failAfterOneRow(boolean always) {
    return udf(
            (UDF1<Long, Boolean>)
                id -> {
                  TaskContext task = TaskContext.get();
                  if (always || task.attemptNumber() == 0) {
                    int seen =
                        ROWS_PER_ATTEMPT
                            .computeIfAbsent(task.taskAttemptId(), k -> new AtomicInteger())
                            .getAndIncrement();
                    if (seen == 1) {
                      INJECTED.incrementAndGet();
                      throw new IllegalStateException("injected failure after one written row");
                    }
                  }
                  return true;
                },
            DataTypes.BooleanType)
        .asNondeterministic();
  }

  @Test
  void chatTemplateWrapsPromptsAsUserMessages() {
    String output = dir.resolve("chat").toString();
    JobRunner.Result run =
        JobRunner.run(
            args(
                output,
                "--chat-template",
                "true",
                "--system-prompt",
                "none",
                "--commit-every",
                "100",
                "--output-col",
                "reply"));
    assertEquals(0, run.code(), run.err() + run.out());
    Dataset<Row> chats =
        spark
            .read()
            .json(input)
            .withColumn(
                "messages", array(struct(lit("user").as("role"), col("prompt").as("content"))));
    DbrxGenerator generator = transformer().setMessagesCol("messages").setSystemPrompt("");
    Map<Long, String> viaMessages = texts(generator.transform(chats));
    Map<Long, String> viaJob =
        texts(DeltaTables.read(spark, output).withColumnRenamed("reply", "generation"));
    assertEquals(viaMessages, viaJob);
    Row tokens =
        DeltaTables.read(spark, output).where("id = 0").select("reply.prompt_tokens").first();
    assertTrue(
        tokens.getInt(0) > 6, "the template adds its tokens around the 5-token prompt: " + tokens);
  }

  @Test
  void aMessagesValueThatIsNotAChatFailsOnlyItsRow() throws IOException {
    String topic0 = "{\"id\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"Topic 0?\"}]}";
    String topic5 =
        "{\"id\": 5, \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
            + "{\"role\": \"user\", \"content\": \"Topic 5?\", \"name\": \"ann\"}]}";
    Path file =
        BadInput.writeLines(
            dir.resolve("chats.jsonl"),
            topic0,
            "{\"id\": 1, \"messages\": \"Topic 1?\"}",
            "{\"id\": 2, \"messages\": [{\"role\": \"user\", \"content\": 5}]}",
            "{\"id\": 3, \"messages\": [{\"role\": \"user\"}]}",
            "{\"id\": 4, \"messages\": {\"role\": \"user\", \"content\": \"Topic 4?\"}}",
            topic5);
    String output = dir.resolve("chats-out").toString();
    JobRunner.Result run = runOn(file, output, "--messages-col", "messages");
    assertTrue(run.out().contains(": 6 = 0 + 0 + 6 + 0  [ok]"), run.out());
    assertEquals("4", value(run.out(), "rows with an error"));

    Dataset<Row> generated = DeltaTables.read(spark, output);
    Map<Long, String> errors = new TreeMap<>();
    for (Row r :
        generated
            .where("generation.error is not null")
            .select("id", "generation.error")
            .collectAsList()) {
      errors.put(r.getLong(0), r.getString(1));
    }
    String at = " at file://" + file.toUri().getPath() + " line ";
    assertEquals(
        Map.of(
            1L, "messages-not-a-chat: a string" + at + 2,
            2L, "messages-not-a-chat: message 0 has a content that is a number" + at + 3,
            3L, "messages-not-a-chat: message 0 has no content" + at + 4,
            4L, "messages-not-a-chat: an object" + at + 5),
        errors);
    String clean =
        Files.write(dir.resolve("clean-chats.jsonl"), List.of(topic0, topic5)).toString();
    Map<Long, String> alone =
        texts(transformer().setMessagesCol("messages").transform(spark.read().json(clean)));
    assertEquals(alone, texts(generated.where("id in (0, 5)")), "the chats generate as alone");
  }

  @Test
  void aResponseFormatFromAFileOrInlineConstrainsEveryRow() throws IOException {
    String format = "{\"type\": \"regex\", \"regex\": \"(yes|no), [0-9]{1,2}\"}";
    String file = Files.writeString(dir.resolve("format.json"), format).toString();
    for (String given : List.of(file, format)) {
      String output = dir.resolve("structured-" + given.length()).toString();
      JobRunner.Result run =
          JobRunner.run(
              args(
                  output,
                  "--response-format",
                  given,
                  "--max-new-tokens",
                  "12",
                  "--commit-every",
                  "100"));
      assertEquals(0, run.code(), run.err() + run.out());
      assertTrue(run.out().contains("rows incomplete"), run.out());
      for (Row row :
          DeltaTables.read(spark, output)
              .select("generation.text", "generation.incomplete")
              .collectAsList()) {
        assertTrue(row.getString(0).matches("(yes|no), [0-9]{1,2}"), row.getString(0));
        assertEquals(false, row.getBoolean(1));
      }
    }
  }

  @Test
  void nSamplesKeepOneRowPerIdWhoseFirstSampleIsTheSingleOutput() {
    String output = dir.resolve("samples").toString();
    String[] more = {"--n", "3", "--top-logprobs", "2", "--commit-every", "8"};
    JobRunner.Result first = JobRunner.run(args(output, concat(more, "--max-chunks", "1")));
    assertEquals(0, first.code(), first.err() + first.out());
    JobRunner.Result rest = JobRunner.run(args(output, more));
    assertEquals(0, rest.code(), rest.err() + rest.out());
    List<Row> rows =
        DeltaTables.read(spark, output)
            .selectExpr(
                "id",
                "generation.samples",
                "generation.text",
                "size(generation.top_logprobs[0])",
                "generation.completion_tokens")
            .orderBy("id")
            .collectAsList();
    assertEquals(ROWS, rows.size(), "one row per id");
    long tokens = 0;
    for (Row row : rows) {
      List<Row> samples = row.getList(1);
      assertEquals(3, samples.size());
      String single = expected.get(row.getLong(0));
      assertEquals(single, row.getString(2), "sample 0 is the n = 1 output, id " + row.get(0));
      assertEquals(single, samples.get(0).getAs("text"));
      assertEquals(2, row.getInt(3));
      for (Row sample : samples) {
        tokens += sample.<Integer>getAs("completion_tokens");
      }
    }
    long summarised =
        Long.parseLong(value(first.out(), "generated tokens"))
            + Long.parseLong(value(rest.out(), "generated tokens"));
    assertEquals(tokens, summarised, "the summary counts every sample's tokens");
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void aBadResponseFormatIsRefusedBeforeAnyRow() {
    String output = dir.resolve("bad-format").toString();
    JobRunner.Result run =
        JobRunner.run(
            args(
                output,
                "--response-format",
                "{\"type\": \"json_schema\", \"json_schema\": {\"schema\": {\"type\": \"object\", \"properties\":"
                    + " {\"id\": {\"type\": \"string\", \"pattern\": \"^a\"}}}}}"));
    assertEquals(2, run.code());
    assertTrue(
        run.err()
            .contains("response_format schema at /properties/id: unsupported keyword 'pattern'"),
        run.err());
    assertTrue(!DeltaTables.exists(spark, output), "nothing written");
  }

  @Test
  void duplicateOrMissingIdsAreRefused() throws IOException {
    String dup =
        Files.write(
                dir.resolve("dup.jsonl"),
                List.of(
                    "{\"id\": \"a\", \"prompt\": \"x\"}",
                    "{\"id\": \"b\", \"prompt\": \"y\"}",
                    "{\"id\": \"a\", \"prompt\": \"z\"}"))
            .toString();
    String output = dir.resolve("dup-out").toString();
    JobRunner.Result run =
        JobRunner.run("generate", "--input", dup, "--output", output, "--model", model);
    assertEquals(2, run.code());
    assertTrue(
        run.err()
            .contains("--id-col 'id' is not unique: 1 extra rows share an id, e.g. a (2 rows)"),
        run.err());
    JobRunner.Result noColumn =
        JobRunner.run(
            "generate",
            "--input",
            dup,
            "--output",
            output,
            "--model",
            model,
            "--prompt-col",
            "question");
    assertEquals(2, noColumn.code());
    assertTrue(
        noColumn.err().contains("input has no column 'question' (--prompt-col)"), noColumn.err());
    assertTrue(!DeltaTables.exists(spark, output), "nothing written");
  }

  @Test
  void linesThatAreNotRowsAreRejectedAndAPromptNotAStringIsItsRowsError() throws IOException {
    Path file = dir.resolve("hostile-prompts.jsonl");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.writeBytes(
        String.join(
                "\n",
                "{\"id\": 0, \"prompt\": \"Tell me about topic 0\", \"note\": \"n0\"}",
                "",
                "{\"id\": 1, \"prompt\": \"Tell me about topic 1\", \"note\": \"n1\"}",
                "{\"id\": 100, \"note\": \"latin-1\", \"prompt\": \"caf")
            .getBytes(StandardCharsets.UTF_8));
    bytes.write(0xE9); // é in Latin-1: not UTF-8
    bytes.writeBytes(
        String.join(
                "\n",
                " au lait\"}",
                "{\"id\": 101, \"prompt\": \"no closing quote}",
                "{\"id\": 102, \"prompt\": 42, \"note\": \"n102\"}",
                "[\"not\", \"an object\"]",
                "{\"id\": 2, \"prompt\": \"Tell me about topic 2\", \"note\": \"n2\"}",
                "")
            .getBytes(StandardCharsets.UTF_8));
    Files.write(file, bytes.toByteArray());
    String output = dir.resolve("hostile-out").toString();
    String[] argv = args(output);
    argv[2] = file.toString();

    JobRunner.Result run = JobRunner.run(argv);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out()
            .contains(
                "input = unreadable + already done + generated now + left: "
                    + "7 = 2 + 0 + 5 + 0  [ok]"),
        run.out());
    assertEquals("2 (in " + output + "_rejects)", value(run.out(), "unreadable rows"));
    assertEquals("1", value(run.out(), "rows with an error"));

    Map<Long, String> alone = new TreeMap<>();
    for (long id = 0; id < 3; id++) {
      alone.put(id, expected.get(id));
    }
    String repaired = "caf\uFFFD au lait";
    String clean =
        Files.writeString(
                dir.resolve("repaired.jsonl"), "{\"id\": 100, \"prompt\": \"" + repaired + "\"}\n")
            .toString();
    alone.putAll(texts(transformer().transform(spark.read().json(clean))));
    Dataset<Row> generated = DeltaTables.read(spark, output);
    assertEquals(
        alone,
        texts(generated.where("id != 102")),
        "the readable rows, as the transformer makes them alone");
    String at = " at file://" + file.toUri().getPath() + " line ";
    Row failed = generated.where("id = 102").first();
    assertEquals(
        "prompt-not-a-string: a number" + at + 6,
        failed.<Row>getAs("generation").getAs("error"),
        "a prompt that is not a string fails its own row, named by file and line");
    assertNull(failed.<Row>getAs("generation").getAs("text"), "nothing is generated for it");
    assertEquals("{\"id\": 102, \"prompt\": 42, \"note\": \"n102\"}", failed.getAs("prompt"));
    assertEquals("n102", failed.getAs("note"), "its other columns are read");
    assertEquals(
        repaired,
        generated.where("id = 100").select("prompt").first().getString(0),
        "invalid UTF-8 is repaired and the row keeps its id");

    // line -> id: reason, the reason ending with the file and line
    Map<String, String> rejects = new TreeMap<>();
    for (Row r : DeltaTables.read(spark, output + "_rejects").collectAsList()) {
      List<String> why = r.getList(r.fieldIndex("reasons"));
      assertEquals(1, why.size(), why.toString());
      String reason = why.get(0);
      int line = reason.lastIndexOf(at);
      assertTrue(line > 0, reason);
      rejects.put(
          reason.substring(line + at.length()),
          r.<Object>getAs("id") + ": " + reason.substring(0, line));
    }
    assertEquals(List.of("5", "7"), List.copyOf(rejects.keySet()), rejects.toString());
    assertTrue(
        rejects.get("5").startsWith("null: malformed-json: Unexpected end-of-input"),
        rejects.get("5"));
    assertEquals("null: not-an-object: an array", rejects.get("7"));

    // Resumed: nothing is generated again, and the rejects are the same.
    JobRunner.Result again = JobRunner.run(argv);
    assertEquals(0, again.code(), again.err());
    assertTrue(
        again
            .out()
            .contains(
                "input = unreadable + already done + generated now + left: "
                    + "7 = 2 + 5 + 0 + 0  [ok]"),
        again.out());
    assertEquals(2, DeltaTables.read(spark, output + "_rejects").count());
  }
}
