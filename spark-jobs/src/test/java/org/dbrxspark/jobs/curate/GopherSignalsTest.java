package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GopherSignalsTest {
  /**
   * The repeated n-gram signals against a plain count over word lists, on texts whose few words and
   * copied runs make n-grams of every length repeat, partly overlap and run to the end.
   */
  @Test
  void duplicateNgramFractionsMatchAPlainCount() {
    Random random = new Random(5);
    // Words outside the BMP too: their lengths count code points, not UTF-16 units.
    String[] vocabulary = {"a", "bb", "\uD801\uDC00", "dddd", "e\uD835\uDCB3", "ff", "ggg"};
    for (int doc = 0; doc < 400; doc++) {
      List<String> words = new ArrayList<>();
      int length = random.nextInt(120);
      int alphabet = 2 + random.nextInt(vocabulary.length - 1);
      while (words.size() < length) {
        if (words.size() > 10 && random.nextInt(4) == 0) {
          int from = random.nextInt(words.size() - 10);
          words.addAll(List.copyOf(words.subList(from, from + 5 + random.nextInt(6))));
        } else {
          words.add(vocabulary[random.nextInt(alphabet)]);
        }
      }
      String text = String.join(" ", words) + ".";
      TextView view = new TextView(text);
      double[] out = new double[Signal.values().length];
      GopherSignals.compute(view, true, out);
      for (int n = 5; n <= 10; n++) {
        assertEquals(
            covered(view.words, n),
            out[GopherSignals.DUP[n - 5].ordinal()],
            0,
            "n = " + n + ": " + text);
      }
    }
  }

  /** A text of one repeated word of Deseret letters (outside the BMP): every fraction is 1. */
  @Test
  void fractionsOfWordsOutsideTheBmpStayWithinOne() {
    String text = String.join(" ", Collections.nCopies(40, "\uD801\uDC00\uD801\uDC01")) + ".";
    double[] out = new double[Signal.values().length];
    GopherSignals.compute(new TextView(text), true, out);
    for (Signal s : GopherSignals.DUP) {
      assertEquals(1, out[s.ordinal()], 0, s.name());
    }
    assertEquals(2, out[Signal.MEAN_WORD_LENGTH.ordinal()], 0);
  }

  /** Characters of the words in n-grams seen more than once, over all word characters. */
  private static double covered(List<String> words, int n) {
    if (words.size() < n) {
      return 0;
    }
    Map<List<String>, Integer> first = new HashMap<>();
    boolean[] covered = new boolean[words.size()];
    for (int i = 0; i + n <= words.size(); i++) {
      Integer prev = first.putIfAbsent(words.subList(i, i + n), i);
      for (int j = 0; prev != null && j < n; j++) {
        covered[i + j] = true;
        covered[prev + j] = true;
      }
    }
    double chars = 0;
    double all = 0;
    for (int i = 0; i < words.size(); i++) {
      int length = words.get(i).codePointCount(0, words.get(i).length());
      all += length;
      chars += covered[i] ? length : 0;
    }
    return chars / all;
  }
}
