package org.dbrxspark.jobs.text;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.BreakIterator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A document cut into the units that span deduplication compares, sentences or paragraphs, with
 * where each is in the text, so that repeated spans of consecutive units can be hashed and cut out.
 *
 * <p>The text is first cut into blocks that together cover it exactly: its lines for sentences
 * (each with its line break), or its paragraphs (runs of non-blank lines) with the blank lines
 * after them. A unit is a sentence of a line, found by the JDK's {@link BreakIterator} (the Unicode
 * sentence rules), or a whole paragraph; a piece without a letter or digit (a bullet, a rule of
 * dashes) is no unit. Units compare by their {@link Words#normalise normalised} words, so case,
 * punctuation and spacing do not hide a repeat.
 */
public final class Spans {
  /** What a unit is. */
  public enum Unit {
    SENTENCE,
    PARAGRAPH
  }

  private final String text;
  private final int[] blockEnds;
  private final List<int[]> units; // {start, end, block}
  private final List<String> keys;

  private Spans(String text, int[] blockEnds, List<int[]> units, List<String> keys) {
    this.text = text;
    this.blockEnds = blockEnds;
    this.units = units;
    this.keys = keys;
  }

  /** Cuts {@code text} (null reads as empty) into units of the given kind. */
  public static Spans of(String text, Unit unit) {
    String t = text == null ? "" : text;
    List<Integer> lineEnds = new ArrayList<>();
    for (int i = t.indexOf('\n'); i >= 0; i = t.indexOf('\n', i + 1)) {
      lineEnds.add(i + 1);
    }
    if (lineEnds.isEmpty() || lineEnds.get(lineEnds.size() - 1) < t.length()) {
      lineEnds.add(t.length());
    }
    List<Integer> blockEnds = new ArrayList<>();
    List<int[]> units = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    if (unit == Unit.SENTENCE) {
      BreakIterator sentences = BreakIterator.getSentenceInstance(Locale.ROOT);
      int start = 0;
      for (int end : lineEnds) {
        // Without its line break, so that cutting a line's last sentence keeps the break.
        String line = t.substring(start, end).stripTrailing();
        sentences.setText(line);
        for (int from = sentences.first(), to = sentences.next();
            to != BreakIterator.DONE;
            from = to, to = sentences.next()) {
          addUnit(t, start + from, start + to, blockEnds.size(), units, keys);
        }
        blockEnds.add(end);
        start = end;
      }
    } else {
      int lines = lineEnds.size();
      int i = 0;
      while (i < lines) {
        while (i < lines && blank(t, lineEnds, i)) {
          i++; // blank lines before the first paragraph open its block
        }
        if (i == lines) {
          blockEnds.add(t.length());
          break;
        }
        int paragraphStart = lineStart(lineEnds, i);
        while (i < lines && !blank(t, lineEnds, i)) {
          i++;
        }
        int paragraphEnd = lineStart(lineEnds, i);
        while (i < lines && blank(t, lineEnds, i)) {
          i++;
        }
        addUnit(t, paragraphStart, paragraphEnd, blockEnds.size(), units, keys);
        blockEnds.add(lineStart(lineEnds, i));
      }
    }
    return new Spans(t, blockEnds.stream().mapToInt(Integer::intValue).toArray(), units, keys);
  }

  /** Where line {@code i} starts; the text's length for the line after the last. */
  private static int lineStart(List<Integer> lineEnds, int i) {
    return i == 0 ? 0 : lineEnds.get(i - 1);
  }

  private static boolean blank(String t, List<Integer> lineEnds, int i) {
    return t.substring(lineStart(lineEnds, i), lineEnds.get(i)).isBlank();
  }

  private static void addUnit(
      String t, int start, int end, int block, List<int[]> units, List<String> keys) {
    String key = Words.normalise(t.substring(start, end));
    if (!key.isEmpty()) {
      units.add(new int[] {start, end, block});
      keys.add(key);
    }
  }

  /** The number of units. */
  public int count() {
    return units.size();
  }

  /** Unit {@code i} as it is in the text. */
  public String unit(int i) {
    return text.substring(units.get(i)[0], units.get(i)[1]);
  }

  /**
   * The 128-bit hash (MD5, as two longs) of the normalised units {@code from} to {@code from + n -
   * 1}: equal for equal spans, and 128 bits so that no two different spans of a web-scale corpus
   * share one.
   */
  public long[] spanHash(int from, int n) {
    MessageDigest md5 = md5();
    for (int i = from; i < from + n; i++) {
      md5.update(keys.get(i).getBytes(StandardCharsets.UTF_8));
      md5.update((byte) '\n');
    }
    ByteBuffer digest = ByteBuffer.wrap(md5.digest());
    return new long[] {digest.getLong(), digest.getLong()};
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has MD5", e);
    }
  }

  /**
   * The text without the units marked in {@code removed} (indexed like the units). A block that
   * loses a unit and keeps no letter or digit goes whole, with its line break or the blank lines
   * after it, so cutting a footer line leaves no empty line behind; everything else is kept as it
   * was.
   */
  public String without(boolean[] removed) {
    StringBuilder out = new StringBuilder(text.length());
    int u = 0;
    int blockStart = 0;
    for (int b = 0; b < blockEnds.length; b++) {
      StringBuilder block = new StringBuilder();
      boolean cut = false;
      int at = blockStart;
      for (; u < units.size() && units.get(u)[2] == b; u++) {
        if (removed[u]) {
          block.append(text, at, units.get(u)[0]);
          at = units.get(u)[1];
          cut = true;
        }
      }
      block.append(text, at, blockEnds[b]);
      if (!cut || Words.of(block.toString()).count() > 0) {
        out.append(block);
      }
      blockStart = blockEnds[b];
    }
    return out.toString();
  }
}
