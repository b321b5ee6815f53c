package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.dbrxspark.jobs.rag.Chunker.Chunk;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ChunkerTest {
  private static final DbrxTokenizer TOKENIZER = DbrxTokenizer.shared();

  /**
   * Sizes, exact offsets, full coverage and bounded overlap on real documents of the sample corpus.
   */
  @Test
  void invariantsOnTheSampleCorpus() throws Exception {
    List<String> texts = sampleTexts(40);
    int[][] configs = {{24, 6}, {128, 16}, {512, 0}};
    int overlapping = 0;
    for (int[] config : configs) {
      Chunker chunker = new Chunker(config[0], config[1]);
      for (String text : texts) {
        List<Chunk> chunks = chunker.split(text);
        assertFalse(chunks.isEmpty(), "a non-blank text has chunks");
        boolean[] covered = new boolean[text.length()];
        for (int c = 0; c < chunks.size(); c++) {
          Chunk chunk = chunks.get(c);
          String piece = chunk.text(text);
          assertEquals(c, chunk.index());
          assertFalse(piece.isBlank());
          assertEquals(piece.strip(), piece, "chunks are trimmed");
          assertEquals(TOKENIZER.countTokens(piece), chunk.tokens(), "exact token count");
          assertTrue(chunk.tokens() <= config[0], chunk.tokens() + " > " + config[0]);
          for (int i = chunk.start(); i < chunk.end(); i++) {
            covered[i] = true;
          }
          if (c > 0) {
            Chunk previous = chunks.get(c - 1);
            assertTrue(
                chunk.start() > previous.start() && chunk.end() > previous.end(), "chunks advance");
            if (chunk.start() < previous.end()) {
              overlapping++;
              int shared = TOKENIZER.countTokens(text.substring(chunk.start(), previous.end()));
              assertTrue(shared <= config[1], "overlap of " + shared + " tokens > " + config[1]);
            }
          }
        }
        for (int i = 0; i < text.length(); i++) {
          assertTrue(
              covered[i] || Character.isWhitespace(text.charAt(i)), "character " + i + " lost");
        }
      }
    }
    assertTrue(overlapping > 100, "chunks overlap where the text allows: " + overlapping);
  }

  @Test
  void cutsBetweenParagraphsFirst() {
    String p1 = sentence("alpha", 30);
    String p2 = sentence("beta", 30);
    String p3 = sentence("gamma", 30);
    String text = p1 + "\n\n" + p2 + "\n\n\n  " + p3 + "\n";
    assertTrue(TOKENIZER.countTokens(p1 + "\n\n" + p2) > 48, "two paragraphs do not fit");
    List<Chunk> chunks = new Chunker(48, 0).split(text);
    assertEquals(List.of(p1, p2, p3), chunks.stream().map(c -> c.text(text)).toList());
    assertEquals(text.indexOf(p3), chunks.get(2).start());
  }

  @Test
  void cutsLongParagraphsBetweenSentences() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 12; i++) {
      sb.append("Sentence number ").append(i).append(" talks about the weather in town. ");
    }
    String text = sb.toString().strip();
    List<Chunk> chunks = new Chunker(40, 0).split(text);
    assertTrue(chunks.size() > 3);
    for (Chunk c : chunks) {
      String piece = c.text(text);
      assertTrue(piece.startsWith("Sentence") && piece.endsWith("town."), piece);
    }
  }

  @Test
  void overlapsAtWordStartsWithinTheBudget() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      sb.append("word").append(i).append(' ');
    }
    String text = sb.toString().strip();
    List<Chunk> chunks = new Chunker(32, 8).split(text);
    for (int c = 1; c < chunks.size(); c++) {
      Chunk previous = chunks.get(c - 1);
      Chunk chunk = chunks.get(c);
      assertTrue(chunk.start() < previous.end(), "consecutive chunks overlap");
      assertTrue(text.charAt(chunk.start() - 1) == ' ', "overlap starts at a word");
      int shared = TOKENIZER.countTokens(text.substring(chunk.start(), previous.end()));
      assertTrue(shared >= 1 && shared <= 8, "overlap tokens " + shared);
    }
  }

  @Test
  void cutsInsideAWordOnlyWhenItIsLongerThanAChunk() {
    String emoji = "\uD83D\uDE00".repeat(200);
    String text = "short words " + "x".repeat(3000) + " then " + emoji;
    List<Chunk> chunks = new Chunker(16, 0).split(text);
    for (Chunk c : chunks) {
      String piece = c.text(text);
      assertTrue(c.tokens() <= 16);
      assertFalse(
          Character.isLowSurrogate(piece.charAt(0)), "no chunk starts inside a surrogate pair");
      assertFalse(
          Character.isHighSurrogate(piece.charAt(piece.length() - 1)), "nor ends inside one");
    }
    assertEquals("short words", chunks.get(0).text(text));
    assertEquals(
        text.replace(" ", ""),
        chunks.stream().map(c -> c.text(text).replace(" ", "")).reduce("", String::concat),
        "without overlap the chunks tile the text");
  }

  /**
   * Japanese, and Khmer (UDHR article 1, its khan ។ written without a space after it; Khmer takes
   * more tokens a sentence).
   */
  @ParameterizedTest
  @CsvSource({
    "今日は晴れです。明日は雨が降るでしょう。週末はまた晴れます。, 。, 20",
    "មនុស្សទាំងអស់កើតមកមានសេរីភាព និងសមភាពក្នុងសិទ្ធិ និងសេចក្ដីថ្លៃថ្នូរ។"
        + "មនុស្សគ្រប់រូបសុទ្ធតែមានវិចារណញ្ញាណ និងសតិសម្បជញ្ញៈជាប់ពីកំណើត។, ។, 300"
  })
  void sentencesEndAtScriptFullStops(String sentences, String stop, int chunkTokens) {
    String text = sentences.repeat(3);
    List<Chunk> chunks = new Chunker(chunkTokens, 0).split(text);
    assertTrue(chunks.size() > 1);
    for (Chunk c : chunks) {
      assertTrue(c.text(text).endsWith(stop), c.text(text));
    }
  }

  @Test
  void blankTextHasNoChunksAndBadSizesAreRefused() {
    Chunker chunker = new Chunker(16, 4);
    assertEquals(List.of(), chunker.split(null));
    assertEquals(List.of(), chunker.split(" \n\t "));
    assertEquals(List.of(new Chunk(0, 2, 8, 2)), chunker.split("  hello.\n"));
    assertThrows(IllegalArgumentException.class, () -> new Chunker(4, 0));
    assertThrows(IllegalArgumentException.class, () -> new Chunker(16, 16));
    assertThrows(IllegalArgumentException.class, () -> new Chunker(16, -1));
  }

  private static String sentence(String word, int words) {
    StringBuilder sb = new StringBuilder(Character.toUpperCase(word.charAt(0)) + word.substring(1));
    for (int i = 1; i < words; i++) {
      sb.append(' ').append(word);
    }
    return sb.append('.').toString();
  }

  /**
   * The first {@code n} documents of data/sample-corpus (English, German, French, licences, PII).
   */
  static List<String> sampleTexts(int n) throws Exception {
    Path corpus = Path.of("../data/sample-corpus/corpus.jsonl.gz");
    ObjectMapper json = new ObjectMapper();
    List<String> texts = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(
            new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(corpus)), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null && texts.size() < n) {
        JsonNode doc = json.readTree(line);
        if (!doc.get("text").asText().isBlank()) {
          texts.add(doc.get("text").asText());
        }
      }
    }
    return texts;
  }
}
