package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import org.junit.jupiter.api.Test;

class TextNormalizerTest {
  @Test
  void composesToNfc() {
    String decomposed = "Cafe\u0301 nai\u0308ve";
    assertEquals("Caf\u00e9 na\u00efve", TextNormalizer.normalize(decomposed, Normalizer.Form.NFC));
    assertEquals(decomposed, TextNormalizer.normalize(decomposed, null));
  }

  @Test
  void removesControlAndInvisibleCharacters() {
    assertEquals(
        "abc def",
        TextNormalizer.normalize("a\u0000b\u0007c\u200B \uFEFFdef\u001B", Normalizer.Form.NFC));
  }

  @Test
  void repairsInvalidUtf8AndLoneSurrogates() {
    byte[] bytes = {'o', 'k', (byte) 0xC3, (byte) 0x28, ' ', 'y', 'e', 's'};
    String decoded = new String(bytes, StandardCharsets.UTF_8);
    assertEquals("ok( yes", TextNormalizer.normalize(decoded, Normalizer.Form.NFC));
    assertEquals(
        "ab \uD83D\uDE00", TextNormalizer.normalize("a\uD800b \uD83D\uDE00", Normalizer.Form.NFC));
  }

  @Test
  void normalisesWhitespace() {
    String in = "  one\u00A0\u00A0two\tthree  \r\nfour \r\r\n\n\n\nfive\u2003six  ";
    assertEquals(
        "one two three\nfour\n\nfive six", TextNormalizer.normalize(in, Normalizer.Form.NFC));
  }
}
