package org.dbrxspark.jobs.tokenize;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.core.SeededHash;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.dbrxspark.runtime.tokenizer.SpecialTokens;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tokenize end to end through the entry point: real tokenizer, real Delta tables on disk. */
class TokenizeJobTest {
  private static final DbrxTokenizer TOKENIZER = DbrxTokenizer.shared();

  @TempDir static Path dir;

  /** Input texts by id; null for a row whose text is null. */
  private static final Map<String, String> TEXTS = new TreeMap<>();

  private static String oneFile;
  private static String sevenFiles;

  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void writeInputs() throws Exception {
    String[] words = {
      "river", "Straße", "東京", "naïve", "code()", "  indented", "42", "emoji 😀", "\n\n"
    };
    for (int i = 0; i < 40; i++) {
      StringBuilder sb = new StringBuilder("Document " + i + ".");
      for (int w = 0; w < (i * 7) % 23; w++) {
        sb.append(' ').append(words[(i + w) % words.length]);
      }
      TEXTS.put(String.format("doc-%02d", i), sb.toString());
    }
    TEXTS.put("special", "Plain text that mentions <|endoftext|> and <|pad|> and <|im_start|>.");
    TEXTS.put("long", "A long document. ".repeat(60));
    TEXTS.put("spaces", "   ");
    TEXTS.put("empty", "");
    TEXTS.put("null", null);
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, String> e : TEXTS.entrySet()) {
      Map<String, Object> row = new HashMap<>();
      row.put("id", e.getKey());
      row.put("text", e.getValue());
      row.put("url", "u/" + e.getKey());
      lines.add(json.writeValueAsString(row));
    }
    oneFile = dir.resolve("docs.jsonl").toString();
    Files.write(Path.of(oneFile), lines);
    // The same rows in another order, over seven files.
    Path seven = Files.createDirectories(dir.resolve("seven"));
    Collections.reverse(lines);
    for (int f = 0; f < 7; f++) {
      List<String> part = new ArrayList<>();
      for (int i = f; i < lines.size(); i += 7) {
        part.add(lines.get(i));
      }
      Files.write(seven.resolve("part-" + f + ".jsonl"), part);
    }
    sevenFiles = seven.toString();
  }

  private static List<Integer> encode(String text) {
    return Arrays.stream(TOKENIZER.encode(text)).boxed().collect(Collectors.toList());
  }

  private static Map<String, Row> byId(Dataset<Row> rows) {
    Map<String, Row> out = new TreeMap<>();
    rows.collectAsList().forEach(r -> out.put(r.getAs("id"), r));
    return out;
  }

  @Test
  void idsAreTheTokenizersAndRejectsAndCountsReconcile() {
    String out = dir.resolve("unpacked").toString();
    JobRunner.Result run =
        JobRunner.run(
            "tokenize",
            "--input",
            oneFile,
            "--output",
            out,
            "--source",
            "test",
            "--validation-fraction",
            "0.25");
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = tokenized + rejected: 45 = 43 + 2  [ok]"), run.out());
    assertTrue(run.out().contains("written tokens = document tokens"), run.out());

    Map<String, Row> rows = byId(DeltaTables.read(spark, out));
    assertEquals(43, rows.size());
    long validation = 0;
    for (Row r : rows.values()) {
      String id = r.getAs("id");
      List<Integer> ids = r.getList(r.fieldIndex(TokenizeJob.INPUT_IDS));
      assertEquals(encode(TEXTS.get(id)), ids, id);
      assertEquals(ids.size(), (int) r.<Integer>getAs(TokenizeJob.NUM_TOKENS), id);
      assertEquals("u/" + id, r.getAs("url"), "input columns are carried");
      assertEquals("test", r.getAs("source"));
      validation += r.getAs(TokenizeJob.SPLIT).equals(TokenizeJob.VALIDATION) ? 1 : 0;
    }
    assertFalse(Arrays.asList(DeltaTables.read(spark, out).columns()).contains("text"));
    assertFalse(
        rows.get("special")
            .getList(rows.get("special").fieldIndex(TokenizeJob.INPUT_IDS))
            .contains(SpecialTokens.ENDOFTEXT),
        "special-token strings in text are plain text");
    assertTrue(validation > 3 && validation < 20, "about a quarter in validation: " + validation);

    Map<String, Row> rejected = byId(DeltaTables.read(spark, out + "_rejects"));
    assertEquals(Set.of("empty", "null"), rejected.keySet());
    assertEquals(
        List.of("empty-text"),
        rejected.get("empty").getList(rejected.get("empty").fieldIndex("reasons")));
    assertEquals(
        List.of("null-text"),
        rejected.get("null").getList(rejected.get("null").fieldIndex("reasons")));
    assertEquals("u/null", rejected.get("null").getAs("url"), "a rejected row keeps its columns");

    JobRunner.Result eos =
        JobRunner.run("tokenize", "--input", oneFile, "--output", out, "--append-eos", "true");
    assertEquals(0, eos.code(), eos.err() + eos.out());
    Row doc = byId(DeltaTables.read(spark, out)).get("doc-03");
    List<Integer> withEos = new ArrayList<>(encode(TEXTS.get("doc-03")));
    withEos.add(SpecialTokens.ENDOFTEXT);
    assertEquals(withEos, doc.getList(doc.fieldIndex(TokenizeJob.INPUT_IDS)));
    assertEquals(withEos.size(), (int) doc.<Integer>getAs(TokenizeJob.NUM_TOKENS));
    assertEquals(
        43,
        DeltaTables.read(spark, out)
            .where(col(TokenizeJob.SPLIT).equalTo(TokenizeJob.TRAIN))
            .count(),
        "the default validation fraction is 0");
  }

  @Test
  void packedSequencesRebuildEveryDocumentWhateverThePartitioning() {
    String out = dir.resolve("packed").toString();
    String[] args = {
      "tokenize",
      "--input",
      oneFile,
      "--output",
      out,
      "--pack",
      "64",
      "--validation-fraction",
      "0.25",
      "--seed",
      "3"
    };
    JobRunner.Result run = JobRunner.run(args);
    assertEquals(0, run.code(), run.err() + run.out());
    for (String check :
        List.of(
            "input = tokenized + rejected: 45 = 43 + 2  [ok]",
            "packed tokens = document tokens + EOS per document",
            "tokenized = documents starting in a sequence: 43")) {
      assertTrue(run.out().contains(check), run.out());
    }
    List<Row> packed = PackedSequences.ordered(DeltaTables.read(spark, out));
    Map<String, Map<String, List<List<Integer>>>> rebuilt = PackedSequences.documents(packed, 64);
    Set<String> train = rebuilt.get(TokenizeJob.TRAIN).keySet();
    Set<String> validation = rebuilt.get(TokenizeJob.VALIDATION).keySet();
    assertTrue(validation.size() > 3 && validation.size() < 20, "validation: " + validation);
    assertTrue(train.stream().noneMatch(validation::contains), "no document in both splits");
    assertEquals(43, train.size() + validation.size());
    rebuilt
        .values()
        .forEach(
            docs ->
                docs.forEach(
                    (id, copies) -> {
                      List<Integer> expected = new ArrayList<>(encode(TEXTS.get(id)));
                      expected.add(SpecialTokens.ENDOFTEXT);
                      assertEquals(List.of(expected), copies, id);
                    }));
    assertTrue(
        packed.stream().anyMatch(r -> r.getList(r.fieldIndex(SequencePacker.DOC_IDS)).size() > 3),
        "short documents share sequences");

    Dataset<Row> ids =
        spark.createDataFrame(
            TEXTS.keySet().stream().map(RowFactory::create).collect(Collectors.toList()),
            new StructType().add("id", DataTypes.StringType));
    assertEquals(
        new TreeSet<>(validation),
        ids
            .where(TokenizeJob.split(3, 0.25).equalTo(TokenizeJob.VALIDATION))
            .collectAsList()
            .stream()
            .map(r -> r.getString(0))
            .filter(rebuilt.get(TokenizeJob.VALIDATION)::containsKey)
            .collect(Collectors.toCollection(TreeSet::new)),
        "the split is the seeded hash of the id");

    List<String> first = packed.stream().map(Row::toString).collect(Collectors.toList());
    args[2] = sevenFiles;
    assertEquals(0, JobRunner.run(args).code());
    List<String> again =
        PackedSequences.ordered(DeltaTables.read(spark, out)).stream()
            .map(Row::toString)
            .collect(Collectors.toList());
    assertEquals(first, again, "same table from 1 or 7 input files, and on a re-run");
  }

  @Test
  void linesThatAreNotDocumentsAreRejectedWithTheReadersReason() throws Exception {
    String out = dir.resolve("bad-tokens").toString();
    JobRunner.Result run =
        JobRunner.run("tokenize", "--input", BadInput.write(dir), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = tokenized + rejected: 10 = 3 + 7  [ok]"), run.out());
    Map<String, Row> rejected = byId(DeltaTables.read(spark, out + "_rejects"));
    assertEquals(
        List.of("text-not-a-string: an array" + BadInput.at(dir, 10)),
        rejected
            .get("text-array")
            .getList(rejected.get("text-array").fieldIndex(TokenizeJob.REASONS)));
    assertEquals(
        List.of("null-text"),
        rejected
            .get("text-missing")
            .getList(rejected.get("text-missing").fieldIndex(TokenizeJob.REASONS)));
  }

  @Test
  void hostileDocumentsAreTokenizedAsPlainText() throws Exception {
    String out = dir.resolve("hostile-tokens").toString();
    JobRunner.Result run =
        JobRunner.run("tokenize", "--input", BadInput.writeHostile(dir), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = tokenized + rejected: 5 = 4 + 1  [ok]"), run.out());
    Map<String, Row> rows = byId(DeltaTables.read(spark, out));
    for (String id : List.of("special-tokens", "million-char-word", "mixed-scripts", "cjk")) {
      assertEquals(
          encode(BadInput.HOSTILE.get(id)),
          rows.get(id).getList(rows.get(id).fieldIndex(TokenizeJob.INPUT_IDS)),
          id);
    }
  }

  @Test
  void duplicateIdsStopTheJobUnlessTheOptionSaysWhatToDo() throws Exception {
    Path input =
        Files.writeString(
            dir.resolve("twice.jsonl"),
            "{\"id\": \"x\", \"text\": \"one\"}\n"
                + "{\"id\": \"x\", \"text\": \"two\"}\n{\"id\": \"y\", \"text\": \"three\"}\n");
    String out = dir.resolve("twice-tokens").toString();
    JobRunner.Result fail = JobRunner.run("tokenize", "--input", input.toString(), "--output", out);
    assertEquals(2, fail.code(), fail.out());
    assertTrue(fail.err().contains("ids on more than one row: 1 (first: x)"), fail.err());
    JobRunner.Result renamed =
        JobRunner.run(
            "tokenize",
            "--input",
            input.toString(),
            "--output",
            out,
            "--on-duplicate-id",
            "rename");
    assertEquals(0, renamed.code(), renamed.err() + renamed.out());
    assertTrue(
        renamed.out().contains("duplicate ids")
            && renamed
                .out()
                .contains(
                    "repeated ids: 1, later rows "
                        + "renamed: 1 (--on-duplicate-id rename; first ids: x)"),
        renamed.out());
    assertEquals(Set.of("x", "x-2", "y"), byId(DeltaTables.read(spark, out)).keySet());
  }

  @Test
  void sameRejectsPathIsAUsageError() {
    JobRunner.Result run =
        JobRunner.run("tokenize", "--input", oneFile, "--output", "x", "--rejects-output", "x");
    assertEquals(2, run.code());
    assertTrue(run.err().contains("must differ"), run.err());
  }

  @Test
  void splitFractionIsHonouredOnManyIds() {
    Dataset<Row> ids = spark.range(20000).select(col("id").cast("string").as("id"));
    long validation = ids.where(TokenizeJob.split(9, 0.1).equalTo(TokenizeJob.VALIDATION)).count();
    assertTrue(Math.abs(validation - 2000) < 150, "10% of 20000 within 3.5 sigma: " + validation);
    long inBoth =
        ids.where(TokenizeJob.split(9, 0.1).equalTo(TokenizeJob.VALIDATION))
            .where(TokenizeJob.split(10, 0.1).equalTo(TokenizeJob.VALIDATION))
            .count();
    assertTrue(
        inBoth < 300,
        "another seed draws another split: " + inBoth + " of " + validation + " shared");
    long sampledByMix = ids.where(SeededHash.uniform(9, col("id")).lt(0.2)).count();
    long sampledAndValidation =
        ids.where(SeededHash.uniform(9, col("id")).lt(0.2))
            .where(TokenizeJob.split(9, 0.1).equalTo(TokenizeJob.VALIDATION))
            .count();
    assertEquals(
        0.1,
        sampledAndValidation / (double) sampledByMix,
        0.025,
        "the split is independent of mix's sampling hash with the same seed");
  }
}
