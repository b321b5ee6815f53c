package org.dbrxspark.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Expected ids were computed with OpenAI's tiktoken 0.14 (Rust regex, the official cl100k_base
 * ranks file, sha256 2239…b2a7) plus the three DBRX added tokens, independently of jtokkit.
 */
class DbrxTokenizerTest {

  private static final DbrxTokenizer TOKENIZER = DbrxTokenizer.shared();

  private static void assertEncodes(String text, int... expected) {
    assertArrayEquals(expected, TOKENIZER.encode(text), () -> "encode(\"" + text + "\")");
  }

  @Test
  void sharedIsOneInstance() {
    assertSame(DbrxTokenizer.shared(), DbrxTokenizer.shared());
  }

  @Test
  void knownCl100kEncodings() {
    assertEncodes("hello world", 15339, 1917);
    assertEncodes("Hello world", 9906, 1917);
    assertEncodes("I'll we've THEY'RE", 40, 3358, 584, 3077, 63593, 95253);
    assertEncodes("  leading", 220, 6522);
    assertEncodes("trailing  ", 376, 14612, 256);
    assertEncodes("", new int[0]);
  }

  @Test
  void digitsGroupInThrees() {
    assertEncodes("12345", 4513, 1774);
    assertEncodes("1234567", 4513, 10961, 22);
    assertEncodes("1,234,567.89", 16, 11, 11727, 11, 19282, 13, 4578);
  }

  @Test
  void whitespaceAndLineBreaks() {
    assertEncodes("a\r\nb", 64, 319, 65);
    assertEncodes("\r\n\r\n", 881);
    assertEncodes("  x\n\n y", 220, 865, 271, 379);
    assertEncodes("Tab\tand  spaces   \n", 8750, 53577, 220, 12908, 5996);
    assertEncodes("foo  \n  bar\r\n\r\n", 8134, 2355, 220, 3703, 881);
    // Unicode spaces: the cl100k regex must treat them as \s, which java.util.regex does not by
    // default.
    assertEncodes("a\u00a0b", 64, 4194, 65);
    assertEncodes("x\u3000\u3000y", 87, 23249, 23249, 88);
  }

  @Test
  void nonAsciiText() {
    assertEncodes("héllo wörld", 71, 19010, 385, 289, 9603, 509);
    assertEncodes("café naïve über ß", 936, 59958, 95980, 588, 14104, 1717, 253);
    assertEncodes("Привет мир", 54745, 28089, 8341, 11562, 78746);
    assertEncodes("你好世界", 57668, 53901, 3574, 244, 98220);
    assertEncodes("こんにちは世界", 90115, 3574, 244, 98220);
    // Arabic-Indic digits are \p{N} but have no merged tokens.
    assertEncodes("١٢٣٤", 149, 94, 149, 95, 149, 96, 149, 97);
    assertEncodes("😀", 76460, 222);
  }

  @Test
  void specialStringsArePlainTextByDefault() {
    int[] plain = {15339, 83739, 8862, 728, 428, 91, 29, 1917};
    assertArrayEquals(plain, TOKENIZER.encode("hello <|endoftext|> world"));
    assertArrayEquals(plain, TOKENIZER.encode("hello <|endoftext|> world", false));
    assertArrayEquals(
        new int[] {27, 91, 318, 5011, 91, 29, 882, 198, 6151, 27, 91, 318, 6345, 91, 29},
        TOKENIZER.encode("<|im_start|>user\nhi<|im_end|>"));
  }

  @Test
  void allowSpecialSplitsOnAllEightStrings() {
    assertArrayEquals(
        new int[] {15339, 220, 100257, 1917}, TOKENIZER.encode("hello <|endoftext|> world", true));
    assertArrayEquals(
        new int[] {100278, 882, 198, 6151, 100279},
        TOKENIZER.encode("<|im_start|>user\nhi<|im_end|>", true));
    assertArrayEquals(new int[] {100279, 100278}, TOKENIZER.encode("<|im_end|><|im_start|>", true));
    assertArrayEquals(
        new int[] {87, 100258, 88, 100259, 89, 100260, 100276},
        TOKENIZER.encode("x<|fim_prefix|>y<|fim_middle|>z<|fim_suffix|><|endofprompt|>", true));
    assertArrayEquals(new int[] {27, 91, 100277, 91, 29}, TOKENIZER.encode("<|<|pad|>|>", true));
    // An incomplete marker is ordinary text.
    assertArrayEquals(new int[] {64, 27, 91, 318, 6345, 91}, TOKENIZER.encode("a<|im_end|", true));
  }

  @Test
  void countTokensMatchesPlainEncoding() {
    assertEquals(8, TOKENIZER.countTokens("hello <|endoftext|> world"));
    assertEquals(2, TOKENIZER.countTokens("12345"));
    assertEquals(0, TOKENIZER.countTokens(""));
    String text = "Grüße aus Köln — 12345 😀\r\n\t<|im_end|>";
    assertEquals(TOKENIZER.encode(text).length, TOKENIZER.countTokens(text));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "plain ASCII, with punctuation!?",
        "Grüße aus Köln, ça va? ½ ∑ π ≈ 3.14159",
        "日本語のテキストと中文文本，还有한국어",
        "emoji 😀👍🏽 family 👨\u200d👩\u200d👧 flag 🇯🇵",
        "مرحبا بالعالم — שלום עולם",
        "  leading and trailing whitespace \n\n\t ",
        "\r\n\r\nWindows line ends\r\n",
        "math \ud835\udd38\ud835\udd39 and combining e\u0301"
      })
  void decodeInvertsEncode(String text) {
    assertEquals(text, TOKENIZER.decode(TOKENIZER.encode(text)));
    assertEquals(text, TOKENIZER.decode(TOKENIZER.encode(text, true)));
  }

  @Test
  void specialIdsDecodeToTheirStrings() {
    assertEquals(
        "<|im_start|>user\nhi<|im_end|>",
        TOKENIZER.decode(new int[] {100278, 882, 198, 6151, 100279}));
    assertEquals("<|pad|><|endoftext|>", TOKENIZER.decode(new int[] {100277, 100257}));
    String text = "a <|endoftext|> b <|im_end|>";
    assertEquals(text, TOKENIZER.decode(TOKENIZER.encode(text, true)));
  }

  @Test
  void invalidUtf8DecodesToReplacementCharacter() {
    // 76460 is the first three bytes of the four-byte U+1F600.
    assertEquals("\ufffd", TOKENIZER.decode(new int[] {76460}));
    assertEquals("\ufffd!", TOKENIZER.decode(new int[] {76460, 0}));
    assertEquals("", TOKENIZER.decode(new int[0]));
  }

  @ParameterizedTest
  @ValueSource(ints = {100256, 100261, 100268, 100275, 100280, 100351, 200000, -1})
  void neverProducedIdsAreRejected(int id) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> TOKENIZER.decode(new int[] {15339, id}));
    assertTrue(e.getMessage().contains(Integer.toString(id)), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> TOKENIZER.tokenBytes(id));
    assertFalse(TOKENIZER.isProducible(id));
  }

  @Test
  void tokenBytesAreTheRawBytes() {
    assertArrayEquals(
        new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98}, TOKENIZER.tokenBytes(76460));
    assertArrayEquals(new byte[] {(byte) 0x80}, TOKENIZER.tokenBytes(222));
    assertArrayEquals(" Conveyor".getBytes(StandardCharsets.UTF_8), TOKENIZER.tokenBytes(100255));
    assertArrayEquals("<|im_end|>".getBytes(StandardCharsets.UTF_8), TOKENIZER.tokenBytes(100279));
    assertArrayEquals("!".getBytes(StandardCharsets.UTF_8), TOKENIZER.tokenBytes(0));
  }

  @Test
  void tokenBytesReturnsACopy() {
    TOKENIZER.tokenBytes(15339)[0] = 'X';
    assertEquals("hello", TOKENIZER.decode(new int[] {15339}));
  }

  @Test
  void producibleIds() {
    int[] producible = {
      0, 255, 100255, 100257, 100258, 100259, 100260, 100276, 100277, 100278, 100279
    };
    for (int id : producible) {
      assertTrue(TOKENIZER.isProducible(id), "id " + id);
    }
    assertEquals(100280, TOKENIZER.vocabularySize());
  }

  @Test
  void producibleMaskForTheRealVocabulary() {
    boolean[] mask = TOKENIZER.producibleMask(100352);
    assertEquals(100352, mask.length);
    int producible = 0;
    for (int id = 0; id < mask.length; id++) {
      assertEquals(TOKENIZER.isProducible(id), mask[id], "id " + id);
      producible += mask[id] ? 1 : 0;
    }
    assertEquals(100256 + 8, producible);
    assertFalse(mask[100256]);
    for (int id = 100261; id <= 100275; id++) {
      assertFalse(mask[id], "gap id " + id);
    }
    for (int id : List.of(100257, 100258, 100259, 100260, 100276, 100277, 100278, 100279)) {
      assertTrue(mask[id], "special id " + id);
    }
    for (int id = 100280; id < 100352; id++) {
      assertFalse(mask[id], "padding row " + id);
    }
  }

  @Test
  void producibleMaskForSmallerModels() {
    boolean[] mask = TOKENIZER.producibleMask(1024);
    assertEquals(1024, mask.length);
    for (boolean producible : mask) {
      assertTrue(producible);
    }
    boolean[] cut = TOKENIZER.producibleMask(100258);
    assertEquals(100258, cut.length);
    assertFalse(cut[100256]);
    assertTrue(cut[100257]);
    assertEquals(0, TOKENIZER.producibleMask(0).length);
    assertThrows(IllegalArgumentException.class, () -> TOKENIZER.producibleMask(-1));
  }
}
