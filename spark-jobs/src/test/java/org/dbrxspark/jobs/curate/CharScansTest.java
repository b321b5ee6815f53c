package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The character scans that replaced curate's regular expressions give what the expressions gave, on
 * random texts made of the pieces those expressions turn on: spaces of every kind, line breaks,
 * sentence marks and closers, brackets, digits, colons and hex letters, e-mail signs and phone
 * shapes. Each reference below is the expression the code used before.
 */
class CharScansTest {
  private static final String[] PIECES = {
    "a",
    "B",
    "word",
    "Fe",
    "0",
    "1",
    "12",
    "555",
    "192",
    ".",
    "..",
    "!",
    "?",
    "\u2026",
    "\"",
    "'",
    ")",
    "]",
    "[",
    "[1]",
    "[edit]",
    "(",
    "(0",
    "+",
    "-",
    ":",
    "::",
    "@",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r",
    "\u000B",
    "\f",
    "\u00A0",
    "\u2003",
    "\u3002",
    "\uff01",
    "\uff1f",
    "\u0085",
    "\u2028",
    "\u2029",
    "\u0130",
    "lorem ipsum",
    "LOREM Ipsum",
    "lorem",
    "ipsum",
    "\u4e2d\u6587",
    "a@b.example.com",
    "10.0.0.1",
    "fe80::1",
    "(030) 1234 5678",
    "+49 30 123456",
    "555-123-4567"
  };

  private static final int CASES = 20_000;

  private static String randomText(Random random) {
    StringBuilder sb = new StringBuilder();
    int pieces = random.nextInt(40);
    for (int i = 0; i < pieces; i++) {
      sb.append(PIECES[random.nextInt(PIECES.length)]);
    }
    return sb.toString();
  }

  /** Calls {@code check} on {@link #CASES} random texts. */
  private static void eachRandomText(long seed, Consumer<String> check) {
    Random random = new Random(seed);
    for (int i = 0; i < CASES; i++) {
      check.accept(randomText(random));
    }
  }

  private static int matches(Pattern p, String text) {
    int count = 0;
    for (Matcher m = p.matcher(text); m.find(); ) {
      count++;
    }
    return count;
  }

  @Test
  void sentenceEndsAreTheRegexMatches() {
    Pattern reference =
        Pattern.compile("[.!?\u2026]+[\"')\\]]*(?=\\s|$)|[\u3002\uff01\uff1f\u17d4\u17d5\u104b]+");
    eachRandomText(1, t -> assertEquals(matches(reference, t), C4Rules.sentenceEnds(t), t));
    assertEquals(3, C4Rules.sentenceEnds("One. Two!) \"Three?\"\n"));
    assertEquals(0, C4Rules.sentenceEnds("v1.2 e.g.x"));
    assertEquals(2, C4Rules.sentenceEnds("\u4e2d\u3002\u3002\u6587\uff01"));
    assertEquals(2, C4Rules.sentenceEnds("\u1780\u17d4\u1781\u104b"));
  }

  @Test
  void collapsedSpacesAreTheRegexReplacement() {
    Pattern reference = Pattern.compile("[ \\t\\x0B\\f\\p{Zs}]+");
    eachRandomText(
        2,
        t ->
            assertEquals(
                reference.matcher(t).replaceAll(" "), TextNormalizer.collapseSpaces(t), t));
  }

  @Test
  void loremIpsumCountIsTheLowerCasedCount() {
    eachRandomText(
        3,
        t ->
            assertEquals(
                GopherSignals.count(t.toLowerCase(Locale.ROOT), "lorem ipsum"),
                C4Rules.countIgnoringAsciiCase(t, "lorem ipsum"),
                t));
    assertEquals(0, C4Rules.countIgnoringAsciiCase("lorem \u0130psum", "lorem ipsum"));
  }

  /** What TextView held when it was built by splitting on regular expressions. */
  private static List<List<String>> splitView(String text) {
    List<String> tokens = Arrays.stream(text.split("\\s+")).filter(t -> !t.isEmpty()).toList();
    return List.of(stripped(text.split("\n")), stripped(text.split("\n\\s*\n")), tokens);
  }

  /** The non-blank {@code parts}, stripped. */
  private static List<String> stripped(String[] parts) {
    List<String> kept = new ArrayList<>();
    for (String p : parts) {
      if (!p.strip().isEmpty()) {
        kept.add(p.strip());
      }
    }
    return kept;
  }

  @Test
  void textViewSplitsAsTheRegexesDid() {
    eachRandomText(
        4,
        text -> {
          if (text.contains("\u4e2d")) {
            return; // unspaced tokens are split by ICU, the same before and after
          }
          TextView view = new TextView(text);
          assertEquals(splitView(text), List.of(view.lines, view.paragraphs, view.tokens), text);
          String line = text.strip();
          int words = line.isBlank() ? 0 : line.strip().split("\\s+").length;
          assertEquals(words, TextView.wordCount(line), line);
        });
  }

  @Test
  void piiPatternsRunWheneverTheyCanMatch() {
    int[] found = new int[3];
    eachRandomText(
        5,
        text -> {
          if (PiiRedactor.IPV6_CANDIDATE.matcher(text).find()) {
            found[0]++;
            assertTrue(PiiRedactor.hasIpv6Groups(text), text);
          }
          if (PiiRedactor.IPV4_RE.matcher(text).find()) {
            found[1]++;
            assertTrue(PiiRedactor.hasDecimalPoint(text), text);
          }
          if (PiiRedactor.PHONE_RE.matcher(text).find()) {
            found[2]++;
            assertTrue(PiiRedactor.hasPhoneStart(text), text);
          }
        });
    for (int f : found) {
      assertTrue(f > 500, "the random texts hold many matches of each pattern");
    }
  }

  @Test
  void ngramTableCountsAsAMap() {
    Random random = new Random(6);
    NgramTable table = new NgramTable(1_000);
    for (int round = 0; round < 3; round++) {
      table.clear();
      Map<Long, Integer> counts = new HashMap<>();
      Map<Long, Integer> first = new HashMap<>();
      NgramTable firsts = new NgramTable(1_000);
      for (int i = 0; i < 1_000; i++) {
        long key = random.nextInt(300) * 0x100000000L; // keys that differ in their high bits only
        assertEquals(counts.merge(key, 1, Integer::sum), table.increment(key));
        Integer prev = first.putIfAbsent(key, i);
        assertEquals(prev == null ? -1 : prev, firsts.putIfAbsent(key, i));
      }
    }
  }
}
