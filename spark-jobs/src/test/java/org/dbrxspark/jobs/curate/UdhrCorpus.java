package org.dbrxspark.jobs.curate;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Documents of real prose in English, Chinese, Japanese, Thai, Lao, Khmer and Myanmar, built from
 * the Universal Declaration of Human Rights in test resources {@code udhr/} (see the README there
 * for the source and licence): each document is a run of 3 to 6 consecutive sections (the preamble
 * or an article, heading and paragraphs), so every language gives the same 110 documents of the
 * same text.
 */
final class UdhrCorpus {
  static final List<String> LANGUAGES =
      List.of("eng", "cmn_hans", "jpn", "tha", "lao", "khm", "mya");

  private UdhrCorpus() {}

  /** The sections of {@code language}'s declaration: the preamble, then articles 1 to 30. */
  static List<String> sections(String language) {
    String path = "/udhr/" + language + ".txt";
    try (InputStream in = UdhrCorpus.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
      return List.of(text.split("\n\n"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every run of 3 to 6 consecutive sections, as one document each. */
  static List<String> documents(String language) {
    List<String> sections = sections(language);
    List<String> docs = new ArrayList<>();
    for (int size = 3; size <= 6; size++) {
      for (int from = 0; from + size <= sections.size(); from++) {
        docs.add(String.join("\n\n", sections.subList(from, from + size)));
      }
    }
    return docs;
  }
}
