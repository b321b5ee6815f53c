package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.BadInput;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.runtime.checkpoint.CheckpointWriter;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * rag-index and rag-query end to end: real Spark, Delta tables, Lucene shards and a tiny DBRX
 * checkpoint. The index is built once; the incremental test changes it and so runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RagJobsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PLANTED =
      "The quokka zephyrine protocol requires every visitor to whistle twice "
          + "before opening the copper gate of the northern observatory.";
  static final StructType SOURCE =
      new StructType()
          .add("id", DataTypes.StringType)
          .add("category", DataTypes.StringType)
          .add("text", DataTypes.StringType);

  /** The tiny preset cut to one layer of width 32 and four experts: retrieval needs no quality. */
  static final DbrxConfig SMALLER_THAN_TINY =
      new DbrxConfig(
          32,
          4,
          1,
          1024,
          100352,
          2,
          8.0,
          500000.0,
          48,
          4,
          2,
          1.0,
          DbrxConfig.Activation.SILU,
          "bfloat16");

  @TempDir static Path dir;
  private static String model;
  private static String source;
  private static String index;
  private static final Map<String, String> TEXTS = new HashMap<>();
  private final SparkSession spark = SharedSpark.get();

  /** A tiny checkpoint, a source table with its change feed on, and the index built from it. */
  @BeforeAll
  static void buildIndex() throws Exception {
    Path checkpoint = dir.resolve("tiny");
    CheckpointWriter.writeRandom(checkpoint, SMALLER_THAN_TINY, 7, DType.BF16, 1);
    model = checkpoint.toString();
    source = dir.resolve("docs").toString();
    index = dir.resolve("index").toString();
    List<Row> docs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      docs.add(RowFactory.create("d" + i, i % 2 == 0 ? "weather" : "cooking", filler(i)));
    }
    docs.add(
        RowFactory.create("planted", "animals", filler(7) + "\n\n" + PLANTED + "\n\n" + filler(8)));
    docs.add(RowFactory.create("empty", "weather", null));
    docs.forEach(r -> TEXTS.put(r.getString(0), r.getString(2)));
    SparkSession spark = SharedSpark.get();
    DeltaTables.overwrite(spark.createDataFrame(docs, SOURCE), source);
    spark.sql(
        "ALTER TABLE delta.`" + source + "` SET TBLPROPERTIES (delta.enableChangeDataFeed = true)");

    JobRunner.Result built =
        JobRunner.run(
            "rag-index",
            "--input",
            source,
            "--index",
            index,
            "--model",
            model,
            "--chunk-size",
            "48",
            "--chunk-overlap",
            "8",
            "--shards",
            "2");
    assertEquals(0, built.code(), built.err() + built.out());
    assertTrue(
        built.out().contains("documents = chunked + rejected: 8 = 7 + 1  [ok]"), built.out());
  }

  @Test
  @Order(1)
  void buildWritesChunksShardsAndManifest() {
    IndexManifest manifest = manifest(index);
    assertEquals(1, manifest.version());
    assertEquals(1L, manifest.source().version());
    assertEquals(32, manifest.model().dimension());
    assertEquals(List.of("source", "category"), manifest.metadataColumns());
    Dataset<Row> chunks = DeltaTables.read(spark, manifest.chunksTable());
    assertEquals(chunks.count(), manifest.chunks());
    assertEquals(
        manifest.chunks(), manifest.shards().stream().mapToLong(IndexManifest.Shard::chunks).sum());
    assertTrue(manifest.chunks() > 14, "long documents make several chunks: " + manifest.chunks());
    for (Row c :
        chunks.select("source_id", "start", "end", "text", "num_tokens", "shard").collectAsList()) {
      assertEquals(TEXTS.get(c.getString(0)).substring(c.getInt(1), c.getInt(2)), c.getString(3));
      assertTrue(c.getInt(4) <= 48);
      assertTrue(c.getInt(5) == 0 || c.getInt(5) == 1);
    }
    Row rejected = DeltaTables.read(spark, index + "/rejects").head();
    assertEquals("empty", rejected.getString(0));
    assertEquals("no text", rejected.getString(2));
    manifest
        .shards()
        .forEach(s -> assertTrue(Files.isDirectory(Path.of(index, s.path())), s.path()));
  }

  @Test
  @Order(2)
  void findsThePlantedPassageByBm25AndByExactVectorAndAnswersFromIt() throws Exception {
    List<JsonNode> bm25 =
        query("--index", index, "--query", "quokka zephyrine", "--mode", "bm25", "--k", "3");
    assertEquals("planted", bm25.get(0).get("source_id").asText());
    assertTrue(bm25.get(0).get("text").asText().contains("zephyrine"));
    assertEquals("animals", bm25.get(0).get("metadata").get("category").asText());
    String plantedChunk = bm25.get(0).get("chunk_id").asText();
    List<?> vector =
        DeltaTables.read(spark, manifest(index).chunksTable())
            .where("chunk_id = '" + plantedChunk + "'")
            .select("embedding")
            .head()
            .getList(0);
    String csv = vector.stream().map(String::valueOf).collect(Collectors.joining(","));
    List<JsonNode> exact =
        query("--index", index, "--query-vector", csv, "--mode", "vector", "--k", "3");
    assertEquals(plantedChunk, exact.get(0).get("chunk_id").asText());
    assertEquals(1.0, exact.get(0).get("score").asDouble(), 1e-4);
    assertEquals(3, exact.size());

    List<JsonNode> filtered =
        query(
            "--index", index, "--query", "quokka gate", "--filter", "category=weather", "--k", "4");
    assertEquals(4, filtered.size());
    filtered.forEach(h -> assertEquals("weather", h.get("metadata").get("category").asText()));

    List<JsonNode> answered =
        query(
            "--index",
            index,
            "--query",
            "What does the quokka zephyrine protocol " + "require?",
            "--k",
            "3",
            "--answer",
            "--show-prompt",
            "--max-new-tokens",
            "6");
    JsonNode answer = answered.get(answered.size() - 1);
    List<String> hitIds =
        answered.subList(0, 3).stream().map(h -> h.get("chunk_id").asText()).toList();
    assertTrue(
        hitIds.contains(plantedChunk), "hybrid search retrieves the planted chunk: " + hitIds);
    List<String> citations = new ArrayList<>();
    answer.get("citations").forEach(c -> citations.add(c.asText()));
    assertEquals(hitIds, citations, "the prompt cites the retrieved chunks in rank order");
    String prompt = answer.get("prompt").asText();
    assertTrue(
        prompt.contains("[" + plantedChunk + "] ")
            && prompt.contains("zephyrine protocol requires"));
    assertTrue(
        prompt.startsWith("<|im_start|>system\n") && prompt.endsWith("<|im_start|>assistant\n"));
    assertTrue(answer.get("completion_tokens").asInt() >= 1);
  }

  @Test
  @Order(3)
  void answersATableOfQueries() throws Exception {
    Path queries = dir.resolve("queries.jsonl");
    Files.writeString(
        queries,
        "{\"id\": \"q1\", \"query\": \"Who must whistle at the copper gate?\"}\n"
            + "{\"id\": \"q2\", \"query\": \"  \"}\n{\"id\": \"q3\", \"query\": \"cloudy morning rain\"}\n");
    String output = dir.resolve("results").toString();
    JobRunner.Result run =
        queryTable(queries, output, "--k", "100", "--answer", "--max-new-tokens", "4");
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = answered + failed + rejected: 3 = 2 + 1 + 0  [ok]"), run.out());
    Map<String, Row> results = new HashMap<>();
    DeltaTables.read(spark, output).collectAsList().forEach(r -> results.put(r.getAs("id"), r));
    assertEquals(Set.of("q1", "q2", "q3"), results.keySet());
    Row q1 = results.get("q1");
    assertEquals("Who must whistle at the copper gate?", q1.getAs("query"));
    List<Row> hits = q1.getList(q1.fieldIndex("hits"));
    assertEquals(
        manifest(index).chunks(), hits.size(), "k above the index size returns every chunk");
    Row top =
        hits.stream()
            .filter(h -> Integer.valueOf(1).equals(h.getAs("bm25_rank")))
            .findFirst()
            .orElseThrow();
    assertEquals("planted", top.getAs("source_id"));
    assertTrue(
        hits.stream().allMatch(h -> h.getAs("vector_rank") != null),
        "hybrid ranks every chunk by vector");
    assertNull(q1.getAs("error"));
    assertFalse(q1.<String>getAs("answer").isEmpty());
    assertEquals("the query is empty", results.get("q2").getAs("error"));
    assertNull(results.get("q2").getAs("answer"));
    // The embedder, the search step and the generator share the executor's one model instance,
    // the one rag-index loaded too.
    Map<String, Integer> loads = new HashMap<>();
    ModelRegistry.loadCounts()
        .forEach(
            (key, n) -> {
              if (key.startsWith(model + " ")) {
                loads.put(key, n);
              }
            });
    assertEquals(1, loads.size(), "one registry key for the model: " + loads);
    assertEquals(List.of(1), List.copyOf(loads.values()), "loaded once: " + loads);
  }

  @Test
  @Order(3)
  void queryLinesThatAreNotRowsAreRejectedAndTheOthersAnswered() throws Exception {
    Path queries =
        BadInput.writeLines(
            dir.resolve("hostile-queries.jsonl"),
            "{\"id\": \"q1\", \"query\": \"Who must whistle at the copper gate?\"}",
            "{\"id\": \"q2\", \"query\": \"no closing quote}",
            "[\"not\", \"a row\"]",
            "{\"id\": \"q4\", \"query\": 42}",
            "{\"id\": \"q5\", \"query\": null}",
            "\"a bare string\"",
            "{\"id\": \"q7\", \"query\": \"caf\u0000 and rain\"}");
    String output = dir.resolve("hostile-results").toString();
    JobRunner.Result run = queryTable(queries, output, "--mode", "bm25");
    assertEquals(0, run.code(), run.err() + run.out());
    assertTrue(
        run.out().contains("input = answered + failed + rejected: 7 = 2 + 2 + 3  [ok]"), run.out());

    Map<String, Row> results = new HashMap<>();
    DeltaTables.read(spark, output).collectAsList().forEach(r -> results.put(r.getAs("id"), r));
    assertEquals(Set.of("q1", "q4", "q5", "q7"), results.keySet());
    String at = " at file://" + queries.toUri().getPath() + " line ";
    assertNull(results.get("q1").getAs("error"));
    assertFalse(results.get("q1").getList(results.get("q1").fieldIndex("hits")).isEmpty());
    assertEquals("caf\uFFFD and rain", results.get("q7").getAs("query"));
    assertNull(results.get("q7").getAs("error"), "invalid UTF-8 is repaired and the row answered");
    Row q4 = results.get("q4");
    assertEquals("query-not-a-string: a number" + at + 4, q4.getAs("error"));
    assertEquals("{\"id\": \"q4\", \"query\": 42}", q4.getAs("query"), "the line is kept");
    assertTrue(q4.getList(q4.fieldIndex("hits")).isEmpty(), "a query not a string is not searched");
    assertEquals("the query is empty", results.get("q5").getAs("error"));

    List<String> rejected =
        new ArrayList<>(
            BadInput.reasonsById(DeltaTables.read(spark, output + "_rejects")).values());
    rejected.replaceAll(r -> r.replaceAll("^(malformed-json: [^:]*): .* at ", "$1 at "));
    rejected.sort(null);
    assertEquals(
        List.of(
            "malformed-json: Unexpected end-of-input" + at + 2,
            "not-an-object: a string" + at + 6,
            "not-an-object: an array" + at + 3),
        rejected);
  }

  @Test
  @Order(4)
  void incrementalRunAppliesInsertsUpdatesAndDeletes() throws Exception {
    IndexManifest manifest = manifest(index);
    Dataset<Row> chunks = DeltaTables.read(spark, manifest.chunksTable());
    long d3Chunks = chunks.where("source_id = 'd3'").count();
    long plantedChunks = chunks.where("source_id = 'planted'").count();
    spark.sql(
        "UPDATE delta.`"
            + source
            + "` SET text = 'A wombat named Elsinore guards the silver bridge.' "
            + "WHERE id = 'planted'");
    spark.sql("DELETE FROM delta.`" + source + "` WHERE id = 'd3'");
    spark.sql(
        "INSERT INTO delta.`"
            + source
            + "` VALUES ('new', 'animals', 'The platypus Quillon swims at dawn.')");
    JobRunner.Result updated =
        JobRunner.run("rag-index", "--input", source, "--index", index, "--incremental");
    assertEquals(0, updated.code(), updated.err() + updated.out());
    assertTrue(updated.out().contains("3 (2 inserted or updated, 1 deleted)"), updated.out());
    assertTrue(
        updated.out().matches("(?s).*chunks removed +" + (d3Chunks + plantedChunks) + "\n.*"),
        updated.out());

    IndexManifest next = manifest(index);
    assertEquals(2, next.version());
    assertEquals(4L, next.source().version());
    Dataset<Row> after = DeltaTables.read(spark, next.chunksTable());
    assertEquals(after.count(), next.chunks());
    assertEquals(0, after.where("source_id = 'd3'").count());
    assertEquals(1, after.where("source_id = 'planted'").count());
    assertEquals(1, after.where("source_id = 'new'").count());
    assertEquals(manifest.chunks() - d3Chunks - plantedChunks + 2, next.chunks());
    Map<Integer, String> before = new HashMap<>();
    manifest.shards().forEach(s -> before.put(s.id(), s.path()));
    for (IndexManifest.Shard s : next.shards()) {
      assertTrue(s.path().equals(before.get(s.id())) || s.path().endsWith("/v000002"), s.path());
    }

    assertEquals(List.of(), query("--index", index, "--query", "zephyrine", "--mode", "bm25"));
    assertEquals(
        "planted",
        query("--index", index, "--query", "wombat Elsinore", "--mode", "bm25")
            .get(0)
            .get("source_id")
            .asText());
    assertEquals(
        "new",
        query("--index", index, "--query", "platypus", "--mode", "bm25")
            .get(0)
            .get("source_id")
            .asText());
    assertEquals(
        List.of(),
        query(
            "--index", index, "--query", "weather", "--mode", "bm25", "--filter", "source_id=d3"));

    JobRunner.Result again =
        JobRunner.run("rag-index", "--input", source, "--index", index, "--incremental");
    assertEquals(0, again.code(), again.err() + again.out());
    assertTrue(again.out().contains("no changes since the index was built"), again.out());
    assertEquals(2, manifest(index).version());
  }

  @Test
  void incrementalIndexingNeedsTheChangeFeed() {
    String plain = dir.resolve("no-feed").toString();
    DeltaTables.overwrite(
        spark.createDataFrame(List.of(RowFactory.create("a", "x", PLANTED)), SOURCE), plain);
    JobRunner.Result run =
        JobRunner.run(
            "rag-index",
            "--input",
            plain,
            "--index",
            dir.resolve("no-feed-index").toString(),
            "--model",
            model,
            "--incremental");
    assertEquals(2, run.code());
    assertTrue(run.err().contains("change data feed of the source table " + plain), run.err());
    assertFalse(Files.exists(dir.resolve("no-feed-index")), "nothing is written");
  }

  /** Runs rag-query over the table of queries {@code queries} into {@code output}. */
  private static JobRunner.Result queryTable(Path queries, String output, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "rag-query",
                "--index",
                index,
                "--queries",
                queries.toString(),
                "--output",
                output));
    args.addAll(List.of(more));
    return JobRunner.run(args.toArray(String[]::new));
  }

  private static IndexManifest manifest(String index) {
    return new IndexStore(index, new Configuration()).readManifest().orElseThrow();
  }

  private static List<JsonNode> query(String... args) throws Exception {
    String[] all = new String[args.length + 1];
    all[0] = "rag-query";
    System.arraycopy(args, 0, all, 1, args.length);
    JobRunner.Result r = JobRunner.run(all);
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.err().contains("rag-query"), "the summary goes to standard error");
    List<JsonNode> lines = new ArrayList<>();
    for (String line : r.out().split("\n")) {
      if (!line.isBlank()) {
        lines.add(JSON.readTree(line));
      }
    }
    return lines;
  }

  /** A few paragraphs of ordinary prose, different for each {@code seed}. */
  static String filler(int seed) {
    String[] topics = {
      "rain over the harbour",
      "bread rising in a warm kitchen",
      "clouds above the hills",
      "soup simmering for hours",
      "a cold morning wind",
      "onions browned in butter",
      "fog in the valley",
      "the market on Saturday",
      "snow on the mountain pass"
    };
    StringBuilder sb = new StringBuilder();
    for (int p = 0; p < 3; p++) {
      for (int s = 0; s < 4; s++) {
        sb.append("On day ")
            .append(seed * 10 + p)
            .append(" we noted ")
            .append(topics[(seed + p + s) % 9])
            .append(" and wrote it down in the weather and cooking journal. ");
      }
      sb.append("\n\n");
    }
    return sb.toString().strip();
  }
}
