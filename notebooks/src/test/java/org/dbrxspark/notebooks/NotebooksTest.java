package org.dbrxspark.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.dbrxspark.notebooks.NotebookRunner.Executed;
import org.junit.jupiter.api.Test;

/**
 * Executes every notebook of this folder on the project's Jupyter kernel, the way a user's Jupyter
 * would (kernel.json, connection file, messaging protocol), and checks what the cells printed and
 * displayed. The executed copies go to {@code target/executed-notebooks/}.
 */
class NotebooksTest {
  private static final Path KERNEL = Path.of("target", "jupyter", "kernels", "dbrx-spark-java");
  private static final Path EXECUTED = Path.of("target", "executed-notebooks");
  private static final Path NOTEBOOK_DATA = Path.of("target", "notebook-data");
  private static final Duration CELL_TIMEOUT = Duration.ofMinutes(5);

  private static Executed run(String notebook) throws IOException {
    Executed executed = NotebookRunner.run(Path.of(notebook), KERNEL, EXECUTED, CELL_TIMEOUT);
    // Which client ran what, in the test output: a notebook not run under Jupyter is visible.
    System.out.println(notebook + ": executed by the Java Jupyter client (KernelClient)");
    return executed;
  }

  /**
   * The input count comes from the corpus's manifest; kept, rejected and duplicates are a snapshot.
   */
  @Test
  void curateDedupMixWithRegressionSnapshotCounts() throws IOException {
    checkCurateDedupMix(run("01-curate-dedup-mix.ipynb"));
  }

  @Test
  void generateAndScore() throws IOException {
    checkGenerateAndScore(run("02-generate-and-score.ipynb"));
  }

  @Test
  void ragIndexQueryAnswer() throws IOException {
    checkRag(run("03-rag.ipynb"));
  }

  @Test
  void gpuExecutors() throws IOException {
    checkGpuExecutors(run("04-gpu-executors.ipynb"));
  }

  /**
   * Where Jupyter is installed, the same notebook runs under {@code jupyter nbconvert --execute}
   * with the same kernel spec and passes the same checks. One notebook: the others use the same
   * kernel the same way, and each costs a Spark session's time.
   */
  @Test
  void runsUnderJupyterNbconvert() throws IOException, InterruptedException {
    assumeTrue(
        nbconvertOnPath(),
        "jupyter-nbconvert is not on the PATH, so 02-generate-and-score.ipynb ran under "
            + "the Java client only (apt-get install --no-install-recommends jupyter-nbconvert python3-nbclient)");
    Path out = Path.of("target", "nbconvert-notebooks");
    Path log = Files.createDirectories(out).resolve("nbconvert.log");
    ProcessBuilder nbconvert =
        new ProcessBuilder(
                "jupyter-nbconvert",
                "--to",
                "notebook",
                "--execute",
                "--ExecutePreprocessor.timeout=" + CELL_TIMEOUT.toSeconds(),
                "--ExecutePreprocessor.startup_timeout=120",
                "--output-dir",
                out.toString(),
                "02-generate-and-score.ipynb")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    nbconvert
        .environment()
        .put("JUPYTER_PATH", KERNEL.getParent().getParent().toAbsolutePath().toString());
    Process process = nbconvert.start();
    assertTrue(process.waitFor(15, TimeUnit.MINUTES), "nbconvert did not finish; see " + log);
    assertEquals(0, process.exitValue(), () -> "nbconvert failed:\n" + readQuietly(log));
    checkGenerateAndScore(NotebookRunner.read(out.resolve("02-generate-and-score.ipynb")));
    System.out.println("02-generate-and-score.ipynb: executed by jupyter-nbconvert");
  }

  static boolean nbconvertOnPath() {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, "jupyter-nbconvert")));
  }

  private static void checkCurateDedupMix(Executed nb) throws IOException {
    // The jobs' own summaries reconcile. The input is every document the corpus's build script
    // wrote (its manifest); kept, rejected and duplicates are a regression snapshot of the sample
    // corpus's run, not derived independently: a change to a filter changes them on purpose.
    long documents =
        new ObjectMapper()
            .readTree(Path.of("../data/sample-corpus/manifest.json").toFile())
            .get("documents")
            .asLong();
    assertTrue(
        nb.cell("job(\"curate\"")
            .text()
            .contains("input = kept + rejected: " + documents + " = 68 + 393  [ok]"),
        "curate's counts on the sample corpus: input from the manifest, kept and rejected a"
            + " regression snapshot");
    assertTrue(
        nb.cell("job(\"dedup\"")
            .text()
            .contains("input = kept + duplicates + rejected: 68 = 54 + 14 + 0  [ok]"),
        "dedup's counts on the sample corpus (regression snapshot, not derived)");
    checkCurateStats(nb, documents);
    // Every duplicate is in exactly one cluster, and the clusters are the job's (its stats JSON).
    Matcher clusters =
        find(
            nb.cell("clusterChart").text(),
            "clusters: (\\d+), duplicates in them: (\\d+); dedup's stats JSON: (\\d+) clusters, (\\d+)"
                + " duplicates");
    assertEquals("14", clusters.group(2));
    assertEquals(clusters.group(1), clusters.group(3));
    assertEquals(clusters.group(2), clusters.group(4));
    String mix = nb.cell("manifest").text();
    find(mix, "(?m)^pii .*\\(capped\\)$");
    find(mix, "mix: [\\d,]+ documents, [\\d,]+ tokens of a 20,000 budget");

    List<BufferedImage> charts = nb.images();
    assertEquals(
        5,
        charts.size(),
        "reject reasons, lengths, cluster sizes, tokens per source, tokens per document");
    assertEquals(900, nb.cell("reasonChart").images().get(0).getWidth());
  }

  /**
   * The curate cells chart the job's stats JSON, which has the fields they read: each filter's
   * counts as printed are the JSON's and add up to the documents curated, the JSON agrees with the
   * rejects table, and the histograms count every curated document before and the kept ones after.
   */
  private static void checkCurateStats(Executed nb, long documents) throws IOException {
    JsonNode stats =
        new ObjectMapper()
            .readTree(NOTEBOOK_DATA.resolve("01-curate-dedup-mix/curate-stats.json").toFile());
    assertEquals(
        List.of(
            "title", "entries", "filters", "histograms", "timings", "parts", "checks", "balanced"),
        fieldNames(stats),
        "the stats JSON's fields, as the notebook reads them");
    String table = nb.cell("reasonChart").text();
    assertTrue(table.contains("stats JSON and rejects table agree on every filter: true"), table);
    JsonNode filters = stats.get("filters");
    assertTrue(filters.size() >= 30, "every default filter: " + fieldNames(filters));
    long rejections = 0;
    for (String filter : fieldNames(filters)) {
      JsonNode counts = filters.get(filter);
      assertEquals(List.of("kept", "rejected"), fieldNames(counts), filter);
      assertEquals(
          documents, counts.get("kept").asLong() + counts.get("rejected").asLong(), filter);
      find(
          table,
          "(?m)^"
              + Pattern.quote(filter)
              + " +kept +"
              + counts.get("kept").asLong()
              + " +rejected +"
              + counts.get("rejected").asLong()
              + "$");
      rejections += counts.get("rejected").asLong();
    }
    // Gopher's repetition rules are what reject the repeated licence phrases.
    assertTrue(filters.get("gopher-max-dup-5gram").get("rejected").asLong() > 0);
    assertTrue(rejections >= 393, "every rejected document failed at least one filter");

    String histograms = nb.cell("charted").text();
    for (String signal :
        List.of("words", "mean_word_length", "dup_line_frac", "dup_5gram_char_frac")) {
      JsonNode h = stats.get("histograms").get(signal);
      assertEquals(List.of("min", "max", "before", "after"), fieldNames(h), signal);
      long before = 0;
      long after = 0;
      for (int i = 0; i < h.get("before").size(); i++) {
        assertTrue(h.get("after").get(i).asLong() <= h.get("before").get(i).asLong(), signal);
        before += h.get("before").get(i).asLong();
        after += h.get("after").get(i).asLong();
      }
      if (signal.equals("words")) {
        assertEquals(documents, before, "every curated document has a word count");
        assertEquals(68, after, "the kept documents");
      }
      assertTrue(
          histograms.contains(
              " curated " + h.get("before").toString() + " kept " + h.get("after").toString()),
          signal + " as printed:\n" + histograms);
    }
    List<BufferedImage> panel = nb.cell("charted").images();
    assertEquals(1, panel.size());
    assertEquals(900, panel.get(0).getWidth());
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static void checkGenerateAndScore(Executed nb) {
    // Six prompts, one null: five generated within their budgets (16, 24, 8), one error row.
    Matcher totals =
        find(
            nb.cell("generations: rows=").text(),
            "generations: rows=(\\d+) generated_tokens=(\\d+) errors=(\\d+)");
    assertEquals("6", totals.group(1));
    assertEquals(3 * 16 + 24 + 8, Integer.parseInt(totals.group(2)));
    assertEquals("1", totals.group(3));
    assertTrue(nb.cell("generations: rows=").text().contains("the prompt is null"));

    assertTrue(nb.text().contains("same text from 1 and 3 partitions as stored: true"));
    assertTrue(nb.text().contains("scored: rows=5 errors=0"));
    assertTrue(nb.text().contains("SQL and transformer agree on 5 of 5 prompts"));
    assertTrue(
        nb.cell("temprature").text().contains("refused: unknown sampling parameter 'temprature'"),
        "the bad key is named in the query's error");

    List<BufferedImage> charts = nb.cell("CategoryChartBuilder").images();
    assertEquals(1, charts.size());
    assertEquals(640, charts.get(0).getWidth());
  }

  private static void checkRag(Executed nb) {
    // 25 sample documents and the planted note, all chunked; the chunk counts agree everywhere.
    String built = nb.cell("job(\"rag-index\"").text();
    find(built, "documents = chunked \\+ rejected: 26 = 26 \\+ 0  \\[ok\\]");
    String chunks =
        find(built, "index chunks = chunks table rows: (\\d+) = \\1  \\[ok\\]").group(1);
    String table = nb.cell("substring(r.getInt(1)").text();
    assertTrue(
        table.contains("chunk text = document text[start, end) for " + chunks + " of " + chunks),
        table);
    find(table, "largest chunk: (12[0-8]|1[01]\\d) tokens");
    find(
        nb.cell("manifest.json").text(),
        "chunks: manifest " + chunks + ", shards " + chunks + ", chunks table " + chunks);

    // BM25 ranks the planted note first, and its own stored vector finds it exactly. Hybrid ranks
    // every
    // chunk (noise embeddings move the note down, but its BM25 rank stays 1); a filter keeps one
    // source.
    String planted = "notes/mirror-operations#0";
    assertTrue(
        nb.cell("top BM25 hit")
            .text()
            .contains(
                "top BM25 hit: "
                    + planted
                    + " | The signing key of the documentation mirror is rotated every 41 days."));
    find(
        nb.cell("byOwnVector").text(),
        "\\(64 dimensions\\): rank 1 is " + Pattern.quote(planted) + ", score 1\\.0000");
    find(
        nb.cell("plantedHybrid").text(),
        "planted chunk in hybrid: rank \\d+ of " + chunks + ", vector rank \\d+, BM25 rank 1,");
    assertTrue(
        nb.cell("source=debian-changelog")
            .text()
            .contains("sources of the 4 filtered hits: [debian-changelog]"));

    // The answer's prompt is ChatML with the retrieved chunks by id; what it cites is among them.
    String answer = nb.cell("--show-prompt").text();
    assertTrue(
        answer.contains("<|im_start|>system\n") && answer.contains("<|im_start|>assistant\n"),
        answer);
    assertTrue(
        answer.contains("[" + planted + "] Operations notes")
            && answer.contains("Question: How often"));
    List<String> citations =
        List.of(
            find(answer, "citations \\(chunks in the prompt\\): \\[(.*)\\]").group(1).split(","));
    assertEquals(3, citations.size());
    assertTrue(citations.contains("\"" + planted + "\""), citations::toString);
    String cited = find(answer, "cited \\(named by the answer\\): +\\[(.*)\\]").group(1);
    assertTrue(cited.isEmpty() || citations.containsAll(List.of(cited.split(","))), cited);
    assertTrue(answer.contains("citations found in the chunks table: 3 of 3"));
    find(
        answer,
        "---- answer: [1-9]\\d* tokens, finish reason (length|stop) \\(random weights: noise\\)");

    // The table of queries: the empty query is the one failure, and q1 finds the planted note.
    String batch = nb.cell("--queries").text();
    assertTrue(batch.contains("input = answered + failed + rejected: 3 = 2 + 1 + 0  [ok]"), batch);
    find(batch, "\\|q1 +\\|How often[^|]*\\|\\[" + Pattern.quote(planted) + ",");
    find(batch, "\\|q3 .*the query is empty");

    List<BufferedImage> charts = nb.images();
    assertEquals(1, charts.size(), "tokens per chunk");
    assertEquals(720, charts.get(0).getWidth());
  }

  private static void checkGpuExecutors(Executed nb) {
    assertTrue(nb.text().contains("generations: rows=16 errors=0"));
    // A CPU executor of the default profile, and a GPU executor of profile 1 with both GPUs.
    String executors = nb.cell("allexecutors").text();
    find(executors, "(?m)^\\d+\\s+0\\s+1\\s*$");
    find(executors, "(?m)^\\d+\\s+1\\s+2\\s+\\[\"0\",\"1\"\\]$");
    // Tasks were pinned to each GPU, and each GPU got its own model instance.
    String logs = nb.cell("DeviceSelection").text();
    for (String gpu : List.of("gpu:0", "gpu:1")) {
      find(logs, "task \\d+ \\(stage \\d+, partition \\d+\\) -> " + gpu);
      find(logs, "loaded DBRX model \\S+ on " + gpu);
    }
    assertTrue(nb.text().contains("16 of 16 rows equal the driver's own decode"));
  }

  /** Notebooks are committed without outputs: they are produced here, never stored stale. */
  @Test
  void committedNotebooksHaveNoOutputs() throws IOException {
    List<Path> notebooks = notebooks();
    assertFalse(notebooks.isEmpty());
    ObjectMapper json = new ObjectMapper();
    for (Path notebook : notebooks) {
      JsonNode document = json.readTree(notebook.toFile());
      assertEquals(
          "dbrx-spark-java",
          document.path("metadata").path("kernelspec").path("name").asText(),
          notebook + " uses the project's kernel");
      for (JsonNode cell : document.path("cells")) {
        if (cell.path("cell_type").asText().equals("code")) {
          assertTrue(
              cell.path("outputs").isEmpty() && cell.path("execution_count").isNull(),
              notebook + " has outputs in the cell:\n" + NotebookRunner.source(cell));
        }
      }
    }
  }

  private static List<Path> notebooks() throws IOException {
    try (Stream<Path> files = Files.list(Path.of("."))) {
      return files.filter(f -> f.toString().endsWith(".ipynb")).sorted().toList();
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "(" + e.getMessage() + ")";
    }
  }

  private static Matcher find(String text, String regex) {
    Matcher matcher = Pattern.compile(regex).matcher(text);
    assertTrue(matcher.find(), () -> "no match for /" + regex + "/ in:\n" + text);
    return matcher;
  }
}
