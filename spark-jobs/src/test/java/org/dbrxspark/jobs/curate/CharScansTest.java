package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
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

  private static int matches(Pattern p, String text) {
    int count = 0;
    for (Matcher m = p.matcher(text); m.find(); ) {
      count++;
    }
    return count;
  }

  @Test
  void sentenceEndsAreTheRegexMatches() {
    Pattern reference = Pattern.compile("[.!?\u2026]+[\"')\\]]*(?=\\s|$)|[\u3002\uff01\uff1f]+");
    Random random = new Random(1);
    for (int i = 0; i < CASES; i++) {
      String text = randomText(random);
      assertEquals(matches(reference, text), C4Rules.sentenceEnds(text), text);
    }
    assertEquals(3, C4Rules.sentenceEnds("One. Two!) \"Three?\"\n"));
    assertEquals(0, C4Rules.sentenceEnds("v1.2 e.g.x"));
    assertEquals(2, C4Rules.sentenceEnds("\u4e2d\u3002\u3002\u6587\uff01"));
  }

  @Test
  void collapsedSpacesAreTheRegexReplacement() {
    Pattern reference = Pattern.compile("[ \\t\\x0B\\f\\p{Zs}]+");
    Random random = new Random(2);
    for (int i = 0; i < CASES; i++) {
      String text = randomText(random);
      assertEquals(
          reference.matcher(text).replaceAll(" "), TextNormalizer.collapseSpaces(text), text);
    }
  }

  @Test
  void loremIpsumCountIsTheLowerCasedCount() {
    Random random = new Random(3);
    for (int i = 0; i < CASES; i++) {
      String text = randomText(random);
      assertEquals(
          GopherSignals.count(text.toLowerCase(Locale.ROOT), "lorem ipsum"),
          C4Rules.countIgnoringAsciiCase(text, "lorem ipsum"),
          text);
    }
    assertEquals(0, C4Rules.countIgnoringAsciiCase("lorem \u0130psum", "lorem ipsum"));
  }

  /** What TextView held when it was built by splitting on regular expressions. */
  private static List<List<String>> splitView(String text) {
    List<String> lines = new ArrayList<>();
    List<String> paragraphs = new ArrayList<>();
    List<String> tokens = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.strip().isEmpty()) {
        lines.add(line.strip());
      }
    }
    for (String p : text.split("\n\\s*\n")) {
      if (!p.strip().isEmpty()) {
        paragraphs.add(p.strip());
      }
    }
    for (String tok : text.split("\\s+")) {
      if (!tok.isEmpty()) {
        tokens.add(tok);
      }
    }
    return List.of(lines, paragraphs, tokens);
  }

  @Test
  void textViewSplitsAsTheRegexesDid() {
    Random random = new Random(4);
    for (int i = 0; i < CASES; i++) {
      String text = randomText(random);
      if (text.contains("\u4e2d")) {
        continue; // unspaced tokens are split by ICU, the same before and after
      }
      TextView view = new TextView(text);
      assertEquals(splitView(text), List.of(view.lines, view.paragraphs, view.tokens), text);
      String line = text.strip();
      int words = line.isBlank() ? 0 : line.strip().split("\\s+").length;
      assertEquals(words, TextView.wordCount(line), line);
    }
  }

  @Test
  void piiPatternsRunWheneverTheyCanMatch() {
    Random random = new Random(5);
    int[] found = new int[3];
    for (int i = 0; i < CASES; i++) {
      String text = randomText(random);
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
    }
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
