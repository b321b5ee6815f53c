package org.dbrxspark.jobs.rag;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.dbrxspark.runtime.tokenizer.DbrxTokenizer;
import org.junit.jupiter.api.Test;

/**
 * Prompt building, citation parsing and rank fusion: the parts of retrieval that need no index or
 * model.
 */
class RagAnswererTest {
  private static final DbrxTokenizer TOKENIZER = DbrxTokenizer.shared();

  @Test
  void promptNumbersChunksByIdAndDropsTheLowestRankedWhenTooLong() {
    List<Hit> hits =
        List.of(
            hit(1, "a#0", "First passage about otters."),
            hit(2, "b#3", "Second passage. ".repeat(40)),
            hit(3, "c#1", "Third passage."));
    RagAnswerer.Prompt full = RagAnswerer.prompt(TOKENIZER, "What about otters?", hits, 10_000);
    assertEquals(
        List.of("a#0", "b#3", "c#1"), full.context().stream().map(IndexedChunk::chunkId).toList());
    assertTrue(
        full.text().contains("[a#0] First passage about otters.\n\n[b#3] Second"), full.text());
    assertTrue(
        full.text()
            .startsWith("<|im_start|>system\n" + RagAnswerer.SYSTEM_PROMPT + "<|im_end|>\n"));
    assertTrue(
        full.text().endsWith("Question: What about otters?<|im_end|>\n<|im_start|>assistant\n"));
    assertArrayEquals(TOKENIZER.encode(full.text(), true), full.tokens());

    RagAnswerer.Prompt cut =
        RagAnswerer.prompt(TOKENIZER, "What about otters?", hits, full.tokens().length - 1);
    assertEquals(List.of("a#0", "b#3"), cut.context().stream().map(IndexedChunk::chunkId).toList());
    RagAnswerer.Prompt first = RagAnswerer.prompt(TOKENIZER, "What about otters?", hits, 150);
    assertEquals(List.of("a#0"), first.context().stream().map(IndexedChunk::chunkId).toList());
    assertThrows(
        IllegalArgumentException.class,
        () -> RagAnswerer.prompt(TOKENIZER, "What about otters?", hits, 20));
  }

  @Test
  void citedIdsAreThoseOfTheContextInOrderOfFirstMention() {
    List<String> context = List.of("a#0", "doc [x]#1", "c#2");
    assertEquals(
        List.of("c#2", "a#0"),
        RagAnswerer.cited(
            "See [c#2] and [ a#0 ], again [c#2]; not [z#9] or [doc [x]#1].", context));
    assertEquals(List.of(), RagAnswerer.cited("no citations", context));
  }

  @Test
  void reciprocalRankFusionSumsOverListsAndBreaksTiesById() {
    List<ReciprocalRankFusion.Fused> fused =
        ReciprocalRankFusion.fuse(60, List.of(List.of("x", "y", "z"), List.of("z", "w", "x", "x")));
    assertEquals(
        List.of("x", "z", "w", "y"), fused.stream().map(ReciprocalRankFusion.Fused::id).toList());
    assertEquals(1.0 / 61 + 1.0 / 63, fused.get(0).score(), 1e-15);
    assertArrayEquals(
        new Integer[] {1, 3}, fused.get(0).ranks(), "a repeated id keeps its best rank");
    assertArrayEquals(new Integer[] {null, 2}, fused.get(2).ranks());
    assertEquals(
        fused.get(0).score(), fused.get(1).score(), 1e-15, "x and z tie; x comes first by id");
    assertEquals(fused.get(2).score(), fused.get(3).score(), 1e-15, "so do w and y");
  }

  private static Hit hit(int rank, String id, String text) {
    return new Hit(
        rank,
        1.0 / rank,
        new IndexedChunk(
            id, id.substring(0, id.indexOf('#')), 0, 0, text.length(), 1, text, Map.of()),
        null,
        null);
  }
}
