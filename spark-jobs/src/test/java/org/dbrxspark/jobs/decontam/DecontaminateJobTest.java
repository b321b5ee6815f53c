package org.dbrxspark.jobs.decontam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * decontaminate end to end on real Delta tables: 100 benchmark passages planted into the bundled
 * sample corpus, found by both matching paths, checked against an oracle that compares word strings
 * instead of hashes.
 */
class DecontaminateJobTest {
  private static Plants plants;
  private final SparkSession spark = SharedSpark.get();

  @BeforeAll
  static void plant() throws IOException {
    plants = new Plants(120, 100);
  }

  /** Items 0-69 as JSONL, 70-119 as Parquet; returns "jsonl,parquet". */
  private String benchmarks(Path dir) throws IOException {
    String jsonl = Plants.writeBenchmark(dir.resolve("mcq.jsonl"), plants.items.subList(0, 70));
    List<Row> rows = new ArrayList<>();
    for (Plants.Item item : plants.items.subList(70, 120)) {
      rows.add(RowFactory.create(item.id(), item.question(), item.choices(), item.answer()));
    }
    String parquet = dir.resolve("qa.parquet").toString();
    spark
        .createDataFrame(
            rows,
            new StructType()
                .add("id", "string")
                .add("question", "string")
                .add("choices", DataTypes.createArrayType(DataTypes.StringType))
                .add("answer", "string"))
        .repartition(3)
        .write()
        .parquet(parquet);
    return jsonl + "," + parquet;
  }

  private static JobRunner.Result run(String... args) {
    List<String> all = new ArrayList<>(List.of("decontaminate"));
    Collections.addAll(all, args);
    return JobRunner.run(all.toArray(String[]::new));
  }

  /** The rejects' contamination by document id, as text. */
  private Map<String, String> contamination(String rejects) {
    Map<String, String> out = new TreeMap<>();
    for (Row r : DeltaTables.read(spark, rejects).collectAsList()) {
      Row c = r.getStruct(r.fieldIndex(DecontaminateJob.CONTAMINATION));
      out.put(
          r.getString(r.fieldIndex("id")),
          c == null
              ? "reasons " + r.getList(r.fieldIndex("reasons"))
              : c.getString(0)
                  + " | "
                  + c.getString(1)
                  + " | "
                  + c.getInt(2)
                  + " | "
                  + c.getInt(3)
                  + " | "
                  + c.getString(4));
    }
    return out;
  }

  private Set<String> ids(String table) {
    return new TreeSet<>(
        DeltaTables.read(spark, table)
            .select("id")
            .as(org.apache.spark.sql.Encoders.STRING())
            .collectAsList());
  }

  @Test
  void plantedPassagesAreCaughtAlikeOnBothPathsAndAnyPartitioning(@TempDir Path dir)
      throws IOException {
    String corpus = plants.writeCorpus(dir);
    String bench = benchmarks(dir);
    String parquetCorpus = dir.resolve("corpus.parquet").toString();
    spark.read().json(corpus).repartition(7).write().parquet(parquetCorpus);

    String broadcast = dir.resolve("broadcast").toString();
    JobRunner.Result b = run("--input", corpus, "--benchmarks", bench, "--output", broadcast);
    assertEquals(0, b.code(), b.err() + b.out());
    assertTrue(
        b.out().contains("match  broadcast (") || b.out().contains("broadcast (n-gram table"),
        b.out());
    String joined = dir.resolve("joined").toString();
    JobRunner.Result j =
        run(
            "--input",
            corpus,
            "--benchmarks",
            bench,
            "--output",
            joined,
            "--broadcast-max-mb",
            "0");
    assertEquals(0, j.code(), j.err() + j.out());
    assertTrue(j.out().contains("join (n-gram table"), j.out());
    String repartitioned = dir.resolve("repartitioned").toString();
    JobRunner.Result p =
        run("--input", parquetCorpus, "--benchmarks", bench, "--output", repartitioned);
    assertEquals(0, p.code(), p.err() + p.out());

    Map<String, String> found = contamination(broadcast + "_rejects");
    assertEquals(
        found,
        contamination(joined + "_rejects"),
        "the join path finds what the broadcast path finds");
    assertEquals(
        found, contamination(repartitioned + "_rejects"), "the partitioning changes nothing");
    assertEquals(ids(broadcast), ids(joined));
    assertEquals(ids(broadcast), ids(repartitioned));
    int docs = plants.corpus.size();
    assertTrue(
        b.out()
            .contains(
                "input = kept + rejected: "
                    + docs
                    + " = "
                    + (docs - found.size())
                    + " + "
                    + found.size()
                    + "  [ok]"),
        b.out());

    Map<String, Map<String, Integer>> oracle = plants.contaminated(13, 1);
    assertEquals(
        oracle.keySet(),
        found.keySet(),
        "rejected exactly the documents sharing a 13-gram with an item");
    Set<String> plantedDocs = new TreeSet<>();
    for (Plants.Plant plant : plants.plants) {
      plantedDocs.add(plant.docId());
      boolean caught = found.containsKey(plant.docId());
      assertEquals(
          plant.kind() != Plants.Kind.EDITED_BREAKS_NGRAM,
          caught,
          plant.kind() + " " + plant.docId());
    }
    assertTrue(plantedDocs.containsAll(found.keySet()), "no clean document is rejected");
    assertEquals(75, found.size());

    for (Row r : DeltaTables.read(spark, broadcast + "_rejects").collectAsList()) {
      String id = r.getString(r.fieldIndex("id"));
      String text = r.getString(r.fieldIndex("text"));
      Row c = r.getStruct(r.fieldIndex(DecontaminateJob.CONTAMINATION));
      Plants.Plant plant =
          plants.plants.stream().filter(x -> x.docId().equals(id)).findFirst().orElseThrow();
      assertEquals(List.of(DecontaminateJob.CONTAMINATED), r.getList(r.fieldIndex("reasons")));
      assertEquals(plant.item().id(), c.getString(1), id);
      assertTrue(
          c.getString(0)
              .endsWith(plants.items.indexOf(plant.item()) < 70 ? "mcq.jsonl" : "qa.parquet"));
      assertEquals(oracle.get(id).get(plant.item().id()), c.getInt(2), "matched n-grams of " + id);
      assertEquals(oracle.get(id).size(), c.getInt(3));
      String span = c.getString(4);
      assertTrue(text.contains(span) && plant.passage().contains(span), span);
      assertEquals(1, Plants.ngrams(span, 13).size(), span);
      assertTrue(plant.item().ngrams(13).containsAll(Plants.ngrams(span, 13).keySet()), span);
      if (plant.kind() == Plants.Kind.VERBATIM) {
        assertTrue(
            plant.item().question().startsWith(span),
            "the first match starts the passage: " + span);
        assertEquals(Plants.ngrams(plant.item().question(), 13).size(), c.getInt(2));
      }
    }
  }

  @Test
  void minOverlapAndNGramLengthAreHonouredOnBothPaths(@TempDir Path dir) throws IOException {
    String corpus = plants.writeCorpus(dir);
    String bench = benchmarks(dir);
    String broadcast = dir.resolve("broadcast").toString();
    String joined = dir.resolve("joined").toString();
    assertEquals(
        0,
        run(
                "--input",
                corpus,
                "--benchmarks",
                bench,
                "--output",
                broadcast,
                "--ngram",
                "8",
                "--min-overlap",
                "25")
            .code());
    assertEquals(
        0,
        run(
                "--input",
                corpus,
                "--benchmarks",
                bench,
                "--output",
                joined,
                "--ngram",
                "8",
                "--min-overlap",
                "25",
                "--broadcast-max-mb",
                "0")
            .code());
    Map<String, String> found = contamination(broadcast + "_rejects");
    assertEquals(found, contamination(joined + "_rejects"));
    Map<String, Map<String, Integer>> oracle = plants.contaminated(8, 25);
    assertEquals(oracle.keySet(), found.keySet());
    assertFalse(found.isEmpty());
    assertTrue(
        found.size() < plants.contaminated(8, 1).size(), "a higher --min-overlap rejects fewer");
  }

  @Test
  void rowsThatAreNotDocumentsAreRejectedAndItemsWithoutIdsAreNamedByContent(@TempDir Path dir)
      throws Exception {
    String bench =
        Files.writeString(
                dir.resolve("rivers.jsonl"),
                "{\"question\": \"The first good document talks about rivers\", \"answer\": [\"yes\", \"no\"]}\n")
            .toString();
    String out = dir.resolve("out").toString();
    Path stats = dir.resolve("stats.json");
    JobRunner.Result run =
        run(
            "--input",
            BadInput.write(dir),
            "--benchmarks",
            bench,
            "--output",
            out,
            "--ngram",
            "5",
            "--stats-output",
            stats.toString());
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(run.out().contains("input = kept + rejected: 10 = 2 + 8  [ok]"), run.out());
    JsonNode json = new ObjectMapper().readTree(stats.toFile());
    assertEquals(10, json.at("/entries/input documents").asLong());
    assertEquals(1, json.at("/entries/  contaminated").asLong());
    assertEquals("input = kept + rejected", json.at("/checks/0/equation").asText());
    assertEquals("[2,8]", json.at("/checks/0/parts").toString());
    assertTrue(json.get("balanced").asBoolean());
    assertEquals(Set.of("good-2", "good-3"), ids(out));
    Map<String, String> rejects = contamination(out + "_rejects");
    assertEquals(8, rejects.size());
    // JSONL columns come in alphabetical order: answer's texts, then question's.
    String id =
        HexFormat.of()
            .formatHex(
                MessageDigest.getInstance("SHA-256")
                    .digest(
                        "yes\nno\nThe first good document talks about rivers"
                            .getBytes(StandardCharsets.UTF_8)))
            .substring(0, 16);
    assertEquals(
        bench + " | " + id + " | 3 | 1 | The first good document talks", rejects.get("good-1"));
    assertEquals("reasons [null-text]", rejects.get("text-null"));
    assertEquals(
        "reasons [text-not-a-string: a number" + BadInput.at(dir, 7) + "]",
        rejects.get("text-number"));
  }

  @Test
  void badBenchmarkSetsAreRefusedByName(@TempDir Path dir) throws IOException {
    String corpus = BadInput.write(dir);
    String out = dir.resolve("out").toString();
    String good = Plants.writeBenchmark(dir.resolve("good.jsonl"), plants.items.subList(0, 3));
    String missing = dir.resolve("nowhere.jsonl").toString();
    String empty = Files.writeString(dir.resolve("empty.jsonl"), "").toString();
    String numbers =
        Files.writeString(dir.resolve("numbers.jsonl"), "{\"id\": \"a\", \"score\": 3}\n")
            .toString();
    String shortItems =
        Files.writeString(dir.resolve("short.jsonl"), "{\"question\": \"Too short?\"}\n")
            .toString();
    Path hostile = dir.resolve("hostile.jsonl");
    try (OutputStream stream = Files.newOutputStream(hostile)) {
      stream.write("{\"id\": \"q1\", \"question\": \"caf".getBytes(StandardCharsets.UTF_8));
      stream.write(0xE9); // é in Latin-1: not UTF-8, repaired
      stream.write(
          (" au lait is a drink of coffee and milk served hot\"}\n"
                  + "{\"id\": \"q2\", \"question\": \"no closing quote}\n")
              .getBytes(StandardCharsets.UTF_8));
    }
    Map<String[], String> cases =
        Map.of(
            new String[] {"--benchmarks", hostile.toString()},
            "--benchmarks "
                + hostile
                + ": cannot read an item: malformed-json: Unexpected end-of-input",
            new String[] {"--benchmarks", hostile.toString()},
            " at file://" + hostile.toUri().getPath() + " line 2",
            new String[] {"--benchmarks", good + "," + missing},
            "--benchmarks " + missing + ": no such file or folder",
            new String[] {"--benchmarks", empty},
            "--benchmarks " + empty + " is empty",
            new String[] {"--benchmarks", numbers},
            "--benchmarks " + numbers + " has no text column",
            new String[] {"--benchmarks", good, "--benchmark-cols", "question,rationale"},
            "--benchmarks " + good + " has no column 'rationale' named by --benchmark-cols",
            new String[] {"--benchmarks", good, "--benchmark-cols", "difficulty"},
            "column 'difficulty' named by --benchmark-cols is bigint",
            new String[] {"--benchmarks", good + "," + shortItems},
            "--benchmarks " + shortItems + ": no item has a text of --ngram 13 words");
    cases.forEach(
        (args, message) -> {
          List<String> all = new ArrayList<>(List.of("--input", corpus, "--output", out));
          Collections.addAll(all, args);
          JobRunner.Result run = run(all.toArray(String[]::new));
          assertEquals(2, run.code(), run.out());
          assertTrue(run.err().contains(message), message + " in: " + run.err());
          assertFalse(DeltaTables.exists(spark, out), "nothing is written");
        });
  }
}
