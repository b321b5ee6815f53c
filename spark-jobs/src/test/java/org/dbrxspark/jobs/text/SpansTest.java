package org.dbrxspark.jobs.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SpansTest {
  private static List<String> units(Spans spans) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < spans.count(); i++) {
      out.add(spans.unit(i));
    }
    return out;
  }

  @Test
  void sentencesAreSplitWithinLinesAndPiecesWithoutWordsAreNoUnits() {
    Spans spans =
        Spans.of(
            "It arrived at 3.30 p.m. today. Was it late? Yes!\n\u2022\nHome | About\n",
            Spans.Unit.SENTENCE);
    assertEquals(
        List.of("It arrived at 3.30 p.m. today. ", "Was it late? ", "Yes!", "Home | About"),
        units(spans));
  }

  @Test
  void spansCompareByNormalisedWords() {
    Spans a = Spans.of("We use cookies. Accept them. Or not.", Spans.Unit.SENTENCE);
    Spans b = Spans.of("WE  use cookies! ACCEPT them?  Or NOT", Spans.Unit.SENTENCE);
    assertArrayEquals(a.spanHash(0, 3), b.spanHash(0, 3));
    assertFalse(Arrays.equals(a.spanHash(0, 2), a.spanHash(1, 2)));
  }

  @Test
  void aLineThatLosesEverySentenceGoesWithItsLineBreak() {
    String text = "Body one. Body two.\nWe use cookies. Accept them.\nLast line. Footer here.\n";
    Spans spans = Spans.of(text, Spans.Unit.SENTENCE);
    assertEquals(6, spans.count());
    assertEquals(
        "Body one. Body two.\nLast line. \n",
        spans.without(new boolean[] {false, false, true, true, false, true}));
    assertEquals(text, spans.without(new boolean[6]));
  }

  @Test
  void paragraphsAreRunsOfNonBlankLinesAndARemovedOneTakesTheBlankLinesAfterIt() {
    String text = "\nFirst paragraph,\nstill first.\n\n\nCookie banner.\n\n---\n\nLast one.";
    Spans spans = Spans.of(text, Spans.Unit.PARAGRAPH);
    assertEquals(
        List.of("First paragraph,\nstill first.\n", "Cookie banner.\n", "Last one."), units(spans));
    assertEquals(
        "\nFirst paragraph,\nstill first.\n\n\n---\n\nLast one.",
        spans.without(new boolean[] {false, true, false}));
    assertEquals(
        "\nFirst paragraph,\nstill first.\n\n\nCookie banner.\n\n---\n\n",
        spans.without(new boolean[] {false, false, true}));
    assertEquals("", Spans.of("", Spans.Unit.PARAGRAPH).without(new boolean[0]));
  }
}
