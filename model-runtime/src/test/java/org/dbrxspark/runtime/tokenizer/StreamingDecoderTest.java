package org.dbrxspark.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StreamingDecoderTest {

  private static final DbrxTokenizer TOKENIZER = DbrxTokenizer.shared();

  @Test
  void emojiSplitAcrossTokensComesOutWhole() {
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    // U+1F600 encodes as 76460 (F0 9F 98) + 222 (80).
    assertEquals("", decoder.push(76460));
    assertEquals("😀", decoder.push(222));
    assertEquals("", decoder.flush());
  }

  @Test
  void multiByteTextStreamsWithoutReplacementCharacters() {
    String text = "Grüße 😀 你好世界 👨\u200d👩\u200d👧 こんにちは 🇯🇵 ok";
    int[] ids = TOKENIZER.encode(text);
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    StringBuilder out = new StringBuilder();
    boolean heldBack = false;
    for (int id : ids) {
      String piece = decoder.push(id);
      assertFalse(piece.contains("\ufffd"), () -> "half a character emitted: " + piece);
      heldBack |= piece.isEmpty();
      out.append(piece);
    }
    assertTrue(heldBack, "the text should contain characters split across tokens");
    assertEquals("", decoder.flush());
    assertEquals(text, out.toString());
  }

  @Test
  void specialTokensStreamAsTheirStrings() {
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    assertEquals("hello", decoder.push(15339));
    assertEquals("<|im_end|>", decoder.push(SpecialTokens.IM_END));
  }

  @Test
  void flushTurnsDanglingBytesIntoReplacementCharacter() {
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    assertEquals("", decoder.push(76460));
    assertEquals("\ufffd", decoder.flush());
    assertEquals("", decoder.flush());
    assertEquals("hello", decoder.push(15339));
  }

  @Test
  void unfinishedCharacterFollowedByOtherTextBecomesReplacementCharacter() {
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    assertEquals("", decoder.push(76460));
    assertEquals("\ufffdhello", decoder.push(15339));
  }

  /** Ids 0..255 are the 256 single bytes, so random ids exercise arbitrary malformed UTF-8. */
  @Test
  void streamingEqualsDecodeForArbitraryBytes() {
    Random random = new Random(42);
    int[] multiByte = TOKENIZER.encode("é€😀你好 Ωmega ü");
    for (int trial = 0; trial < 500; trial++) {
      int[] ids = new int[random.nextInt(12)];
      for (int i = 0; i < ids.length; i++) {
        boolean singleByte = random.nextBoolean();
        ids[i] = singleByte ? random.nextInt(256) : multiByte[random.nextInt(multiByte.length)];
      }
      StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
      StringBuilder out = new StringBuilder();
      for (int id : ids) {
        out.append(decoder.push(id));
      }
      out.append(decoder.flush());
      assertEquals(TOKENIZER.decode(ids), out.toString(), () -> Arrays.toString(ids));
    }
  }

  @Test
  void rejectsNeverProducedIds() {
    StreamingDecoder decoder = new StreamingDecoder(TOKENIZER);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> decoder.push(100300));
    assertTrue(e.getMessage().contains("100300"));
  }
}
