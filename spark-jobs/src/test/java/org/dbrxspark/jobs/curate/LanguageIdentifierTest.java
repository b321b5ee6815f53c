package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The bounded sample and the shortlist's checks. */
class LanguageIdentifierTest {
  private static final List<String> CANDIDATES = List.of("en", "de", "fr", "es");

  @Test
  void aShortTextIsReadWholeAndALongOneInWholeWordWindowsFromStartToEnd() {
    assertEquals("kurz", LanguageIdentifier.sample("kurz", 500));
    String head = "Project-Id-Version: coreutils Language-Team: French ";
    String body = "le fichier est introuvable et la commande a échoué ".repeat(200);
    String tail = "fin du catalogue";
    String sample = LanguageIdentifier.sample(head + body + tail, 500);
    assertTrue(sample.length() <= 500, sample);
    assertTrue(sample.startsWith("Project-Id-Version:"), sample);
    assertTrue(sample.endsWith("fin du catalogue"), sample);
    assertEquals(LanguageIdentifier.WINDOWS, sample.split("\n").length);
    for (String window : sample.split("\n")) {
      assertEquals(window.strip(), window, "windows are trimmed to whole words: " + window);
    }
    // The English header opens the document, but the sample is mostly the French body.
    LanguageIdentifier lid = new LanguageIdentifier(CANDIDATES, false, 500, 3);
    assertEquals("fr", lid.detect(head.repeat(8) + body).lang());
  }

  @Test
  void aSampleNeverSplitsASurrogatePair() {
    String text = "\uD83D\uDE00".repeat(1000);
    String sample = LanguageIdentifier.sample(text, 101);
    for (int i = 0; i < sample.length(); i++) {
      char c = sample.charAt(i);
      if (Character.isHighSurrogate(c)) {
        assertTrue(i + 1 < sample.length() && Character.isLowSurrogate(sample.charAt(i + 1)));
      } else {
        assertTrue(!Character.isLowSurrogate(c) || Character.isHighSurrogate(sample.charAt(i - 1)));
      }
    }
  }

  @Test
  void aShortlistOfOneAndAnEmptySampleAreRefused() {
    assertThrows(
        IllegalArgumentException.class, () -> new LanguageIdentifier(CANDIDATES, false, 500, 1));
    assertThrows(
        org.dbrxspark.jobs.cli.UsageException.class,
        () -> CuratorFiltersTest.curator("--lid-shortlist", "1"));
    assertThrows(
        IllegalArgumentException.class, () -> new LanguageIdentifier(CANDIDATES, false, 0, 3));
  }
}
