package org.dbrxspark.benchmarks.jobs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark corpus: seeded, and its ground truth is the Jaccard of the texts actually written.
 */
class CorpusGeneratorTest {
  private static ZipfVocabulary vocabulary;

  @BeforeAll
  static void vocabulary() throws IOException {
    vocabulary =
        ZipfVocabulary.fromCorpus(
            Path.of("..", "data", "sample-corpus", "corpus.jsonl.gz"), 5_000, 1.0);
  }

  @Test
  void sameSeedSameCorpus(@TempDir Path dir) throws IOException {
    CorpusGenerator.Summary a =
        new CorpusGenerator(vocabulary, 7, 0.3, 0.3, 0.04).write(dir.resolve("a"), 400_000, 2);
    CorpusGenerator.Summary b =
        new CorpusGenerator(vocabulary, 7, 0.3, 0.3, 0.04).write(dir.resolve("b"), 400_000, 2);
    assertEquals(a, b);
    assertEquals(texts(dir.resolve("a")), texts(dir.resolve("b")));
    assertArrayEquals(
        Files.readAllBytes(dir.resolve("a/truth.tsv")),
        Files.readAllBytes(dir.resolve("b/truth.tsv")));
    CorpusGenerator.Summary other =
        new CorpusGenerator(vocabulary, 8, 0.3, 0.3, 0.04).write(dir.resolve("c"), 400_000, 2);
    assertTrue(
        !texts(dir.resolve("c")).equals(texts(dir.resolve("a"))), "another seed, another corpus");
    assertTrue(other.docs() > 0);
  }

  @Test
  void truthIsTheMeasuredJaccardOfTheWrittenTextsAndSpansTheRange(@TempDir Path dir)
      throws IOException {
    CorpusGenerator.Summary s =
        new CorpusGenerator(vocabulary, 3, 0.5, 0.3, 0.04).write(dir, 600_000, 3);
    Map<String, String> texts = texts(dir);
    assertEquals(s.docs(), texts.size());
    List<String> lines = Files.readAllLines(dir.resolve("truth.tsv"));
    assertEquals(s.pairs(), lines.size() - 1);
    int low = 0;
    int high = 0;
    int identical = 0;
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split("\t");
      assertTrue(f[0].compareTo(f[1]) < 0, line);
      double j = Double.parseDouble(f[2]);
      assertEquals(Shingles.jaccard(texts.get(f[0]), texts.get(f[1]), 5), j, 1e-12, line);
      low += j < 0.5 ? 1 : 0;
      high += j >= 0.8 && j < 1 ? 1 : 0;
      identical += j == 1 ? 1 : 0;
    }
    assertTrue(
        low > 10 && high > 10 && identical > 0,
        low + " below 0.5, " + high + " in [0.8, 1), " + identical + " identical");
  }

  @Test
  void variantsLandNearTheirTargetJaccard() {
    CorpusGenerator g = new CorpusGenerator(vocabulary, 5, 1, 0.3, 0);
    java.util.SplittableRandom random = new java.util.SplittableRandom(11);
    // A base document of at least 400 words, where one edit moves the Jaccard by less than 0.02.
    String text =
        java.util.stream.IntStream.range(0, 100)
            .mapToObj(i -> g.group(i).docs().get(0).text())
            .filter(t -> Shingles.words(t).length >= 400)
            .findFirst()
            .orElseThrow();
    for (double target : new double[] {0.35, 0.6, 0.8, 0.95}) {
      // Re-derive a draft from the written text's words: ids are ranks in the vocabulary.
      String[] words = Shingles.words(text);
      Map<String, Integer> ids = new HashMap<>();
      for (int i = 0; i < vocabulary.size(); i++) {
        ids.putIfAbsent(vocabulary.word(i), i);
      }
      int[] w = Stream.of(words).mapToInt(ids::get).toArray();
      CorpusGenerator.Draft draft =
          new CorpusGenerator.Draft(w, new byte[w.length], new boolean[w.length]);
      CorpusGenerator.Draft v = g.variant(draft, target, random);
      double j = Shingles.jaccard(draft.render(vocabulary), v.render(vocabulary), 5);
      assertEquals(target, j, 0.02, "target " + target);
    }
  }

  private static Map<String, String> texts(Path dir) throws IOException {
    Map<String, String> out = new HashMap<>();
    ObjectMapper json = new ObjectMapper();
    try (Stream<Path> parts = Files.list(dir.resolve("corpus"))) {
      for (Path p : parts.sorted().toList()) {
        try (BufferedReader in =
            new BufferedReader(
                new InputStreamReader(
                    new GZIPInputStream(Files.newInputStream(p)), StandardCharsets.UTF_8))) {
          for (String line = in.readLine(); line != null; line = in.readLine()) {
            JsonNode n = json.readTree(line);
            out.put(n.get("id").asText(), n.get("text").asText());
          }
        }
      }
    }
    return out;
  }
}
