package org.dbrxspark.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SpecialTokensTest {

  private static final Map<Integer, String> SPEC_TABLE =
      Map.of(
          100257, "<|endoftext|>",
          100258, "<|fim_prefix|>",
          100259, "<|fim_middle|>",
          100260, "<|fim_suffix|>",
          100276, "<|endofprompt|>",
          100277, "<|pad|>",
          100278, "<|im_start|>",
          100279, "<|im_end|>");

  @Test
  void idsAndStringsMatchTheSpecTable() {
    SPEC_TABLE.forEach(
        (id, text) -> {
          assertEquals(Optional.of(text), SpecialTokens.textOf(id));
          assertEquals(OptionalInt.of(id), SpecialTokens.idOf(text));
          assertTrue(SpecialTokens.isSpecial(id));
        });
    assertEquals(100257, SpecialTokens.ENDOFTEXT);
    assertEquals(100277, SpecialTokens.PAD);
    assertEquals(100278, SpecialTokens.IM_START);
    assertEquals(100279, SpecialTokens.IM_END);
  }

  @Test
  void otherIdsAndStringsAreNotSpecial() {
    for (int id : new int[] {-1, 0, 100255, 100256, 100261, 100275, 100280}) {
      assertFalse(SpecialTokens.isSpecial(id), "id " + id);
      assertEquals(Optional.empty(), SpecialTokens.textOf(id));
    }
    assertEquals(OptionalInt.empty(), SpecialTokens.idOf("<|im_end|"));
    assertEquals(OptionalInt.empty(), SpecialTokens.idOf("<|IM_END|>"));
  }

  @Test
  void eosIsEndOfTextOrImEnd() {
    assertEquals(Set.of(100257, 100279), SpecialTokens.EOS_IDS);
    assertTrue(SpecialTokens.isEos(100257));
    assertTrue(SpecialTokens.isEos(100279));
    assertFalse(SpecialTokens.isEos(100278));
    assertFalse(SpecialTokens.isEos(100277));
  }
}
