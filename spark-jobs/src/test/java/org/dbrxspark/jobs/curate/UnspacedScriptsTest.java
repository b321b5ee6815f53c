package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.JobRunner;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.text.Words;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chinese, Japanese, Thai, Lao, Khmer and Myanmar prose is curated like English prose of the same
 * text (the UDHR, see {@link UdhrCorpus}), and low-quality documents in those scripts are still
 * rejected, for the reason that holds. End to end through curate on real Delta tables, with default
 * options.
 */
class UnspacedScriptsTest {
  private static final List<String> UNSPACED =
      List.of("cmn_hans", "jpn", "tha", "lao", "khm", "mya");

  /**
   * Filters whose signals depend on how words are found, or that hold their own thresholds per
   * writing system: prose fails these only where the English of the same text does. (Sentences are
   * not compared: translations join and split them differently; the keep rates cover them.)
   */
  private static final Set<String> SCRIPT_SENSITIVE =
      Set.of(
          "gopher-min-words",
          "gopher-min-mean-word-length",
          "gopher-max-mean-word-length",
          "gopher-max-symbol-word-ratio",
          "gopher-min-alpha-words",
          "gopher-min-stop-words",
          "fineweb-min-line-punct",
          "fineweb-max-short-lines",
          "fineweb-max-newline-ratio");

  private static final List<Set<String>> STOP_WORDS =
      List.of(
          GopherSignals.CHINESE_STOP_WORDS,
          GopherSignals.JAPANESE_STOP_WORDS,
          GopherSignals.THAI_STOP_WORDS,
          GopherSignals.LAO_STOP_WORDS,
          GopherSignals.KHMER_STOP_WORDS,
          GopherSignals.MYANMAR_STOP_WORDS);

  /** The most a language's keep rate may fall below English's on the same text. */
  private static final double KEEP_RATE_GAP = 0.15;

  @Test
  void proseIsKeptAsEnglishIsAndLowQualityIsRejectedForItsReason(@TempDir Path dir)
      throws Exception {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    Map<String, String> expectedReason = new HashMap<>();
    for (String lang : UdhrCorpus.LANGUAGES) {
      List<String> docs = UdhrCorpus.documents(lang);
      for (int i = 0; i < docs.size(); i++) {
        lines.add(json.writeValueAsString(Map.of("id", lang + "/" + i, "text", docs.get(i))));
      }
    }
    for (String lang : UNSPACED) {
      for (Map.Entry<String, String[]> bad : lowQuality(lang).entrySet()) {
        String id = lang + "/bad/" + bad.getKey();
        expectedReason.put(id, bad.getValue()[1]);
        lines.add(json.writeValueAsString(Map.of("id", id, "text", bad.getValue()[0])));
      }
    }
    Path input = dir.resolve("udhr.jsonl");
    Files.write(input, lines);
    String out = dir.resolve("curated").toString();

    JobRunner.Result run = JobRunner.run("curate", "--input", input.toString(), "--output", out);
    assertEquals(0, run.code(), run.err() + run.out());

    Map<String, List<String>> rejected = new HashMap<>();
    for (Row r : DeltaTables.read(SharedSpark.get(), out + "_rejects").collectAsList()) {
      rejected.put(r.getString(r.fieldIndex("id")), r.getList(r.fieldIndex("reasons")));
    }
    Map<String, Double> keepRate = new LinkedHashMap<>();
    for (String lang : UdhrCorpus.LANGUAGES) {
      int docs = UdhrCorpus.documents(lang).size();
      long dropped =
          rejected.keySet().stream()
              .filter(id -> id.startsWith(lang + "/") && !id.contains("/bad/"))
              .count();
      keepRate.put(lang, 1 - (double) dropped / docs);
    }
    // The keep rates and each language's reject reasons, for docs/jobs.md.
    for (String lang : UdhrCorpus.LANGUAGES) {
      Map<String, Integer> reasons = new TreeMap<>();
      rejected.forEach(
          (id, r) -> {
            if (id.startsWith(lang + "/") && !id.contains("/bad/")) {
              r.forEach(reason -> reasons.merge(reason, 1, Integer::sum));
            }
          });
      System.out.printf(
          "%-9s kept %5.1f%%, reasons of the rejected prose: %s%n",
          lang, 100 * keepRate.get(lang), reasons);
    }
    double english = keepRate.get("eng");
    assertTrue(english > 0.6, "English prose is mostly kept: " + keepRate);
    for (String lang : UNSPACED) {
      assertTrue(
          keepRate.get(lang) >= english - KEEP_RATE_GAP,
          lang + " is kept about as often as English: " + keepRate);
    }
    rejected.forEach(
        (id, reasons) -> {
          if (!id.contains("/bad/") && !id.startsWith("eng/")) {
            String sameText = "eng/" + id.substring(id.indexOf('/') + 1);
            List<String> englishReasons = rejected.getOrDefault(sameText, List.of());
            for (String reason : reasons) {
              assertTrue(
                  !SCRIPT_SENSITIVE.contains(reason) || englishReasons.contains(reason),
                  id
                      + " is prose but was rejected for "
                      + reasons
                      + "; "
                      + sameText
                      + ": "
                      + englishReasons);
            }
          }
        });
    expectedReason.forEach(
        (id, reason) ->
            assertTrue(
                rejected.getOrDefault(id, List.of()).contains(reason),
                id + " must be rejected for " + reason + ", got " + rejected.get(id)));
  }

  /**
   * Each function word is a word as ICU segments it, so the stop-word counts can find it; and the
   * writing system is read from each declaration's letters.
   */
  @Test
  void functionWordsAreSegmentedWordsAndEachScriptIsRecognised() {
    for (Set<String> words : STOP_WORDS) {
      for (String w : words) {
        assertEquals(List.of(w), List.of(Words.normalise(w).split(" ")), w);
      }
    }
    Map<String, WritingSystem> expected =
        Map.of(
            "eng", WritingSystem.SPACED,
            "cmn_hans", WritingSystem.CHINESE,
            "jpn", WritingSystem.JAPANESE,
            "tha", WritingSystem.THAI,
            "lao", WritingSystem.LAO,
            "khm", WritingSystem.KHMER,
            "mya", WritingSystem.MYANMAR);
    expected.forEach(
        (lang, writing) ->
            assertEquals(writing, WritingSystem.of(UdhrCorpus.documents(lang).get(0)), lang));
  }

  /** Khmer and Myanmar end sentences with their own full stops, which the C4 count sees. */
  @Test
  void khmerAndMyanmarFullStopsEndSentences() {
    for (String lang : List.of("khm", "mya")) {
      String doc = UdhrCorpus.documents(lang).get(0);
      double[] signals = new double[Signal.values().length];
      C4Rules.compute(new TextView(doc), doc, signals);
      assertTrue(
          signals[Signal.SENTENCES.ordinal()] >= 5,
          lang + ": " + signals[Signal.SENTENCES.ordinal()]);
      assertTrue(doc.lines().anyMatch(TextView::endsWithTerminalPunctuation), lang);
    }
  }

  /**
   * Low-quality documents made from one language's declaration, by name: {text, the reason it must
   * be rejected for}.
   */
  private static Map<String, String[]> lowQuality(String lang) {
    List<String> sections = UdhrCorpus.sections(lang);
    String body = String.join("\n\n", sections.subList(1, 6));
    Map<String, String[]> bad = new LinkedHashMap<>();
    // One short article: too few words, however they are counted.
    bad.put("short", new String[] {sections.get(4), "gopher-min-words"});
    String line = sections.get(6).split("\n")[1];
    bad.put(
        "repeated-line",
        new String[] {body + "\n" + Texts.repeat(line, 12, "\n"), "gopher-max-dup-lines"});
    // The same letters in random order: the dictionaries find no Chinese, Japanese, Khmer or
    // Myanmar words in it (a character or two each), and few Thai or Lao function words.
    bad.put(
        "letter-soup",
        new String[] {
          shuffleLetters(body, new Random(7)),
          List.of("tha", "lao").contains(lang)
              ? "gopher-min-stop-words"
              : "gopher-min-mean-word-length"
        });
    bad.put("keyword-list", new String[] {keywordList(body), "gopher-min-stop-words"});
    return bad;
  }

  /** The distinct words of {@code text} but its function words, eight to a line: a tag cloud. */
  private static String keywordList(String text) {
    Set<String> keywords = new LinkedHashSet<>();
    Words words = Words.of(text);
    for (int i = 0; i < words.count(); i++) {
      keywords.add(words.word(i));
    }
    keywords.removeAll(GopherSignals.CHINESE_STOP_WORDS);
    keywords.removeAll(GopherSignals.JAPANESE_STOP_WORDS);
    STOP_WORDS.forEach(keywords::removeAll);
    List<String> list = new ArrayList<>(keywords);
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < list.size(); i++) {
      sb.append(list.get(i)).append(i % 8 == 7 ? "\n" : " ");
    }
    return sb.toString().strip();
  }

  /** {@code text} with its letters of unspaced scripts shuffled among themselves, in place. */
  private static String shuffleLetters(String text, Random random) {
    List<Integer> letters = new ArrayList<>();
    text.codePoints().filter(Words::isUnspaced).forEach(letters::add);
    Collections.shuffle(letters, random);
    StringBuilder sb = new StringBuilder();
    int next = 0;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      sb.appendCodePoint(Words.isUnspaced(cp) ? letters.get(next++) : cp);
      i += Character.charCount(cp);
    }
    return sb.toString();
  }
}
