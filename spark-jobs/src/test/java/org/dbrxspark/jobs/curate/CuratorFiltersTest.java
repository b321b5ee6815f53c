package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.junit.jupiter.api.Test;

/** Each filter rejects a document crafted to break it, while the good document passes them all. */
class CuratorFiltersTest {
  static final List<String> BASE_ARGS =
      List.of("--input", "in.jsonl", "--output", "out", "--lid-candidates", "en,de,fr,es");

  static Curator curator(String... extra) {
    List<String> args = new java.util.ArrayList<>(BASE_ARGS);
    args.addAll(Arrays.asList(extra));
    CurateJob job = new CurateJob();
    return CurateJob.curator(new DbrxSparkJobs().optionSet(job).parse(args.toArray(String[]::new)));
  }

  static List<String> reasons(Curator c, String text) {
    return Arrays.asList((String[]) c.curate(text).get(4));
  }

  /** A document that breaks each filter, by filter name. */
  static Map<String, String> badDocuments() {
    Map<String, String> bad = new LinkedHashMap<>();
    bad.put("min-chars", " \u0000 \t ");
    bad.put(
        "gopher-min-words",
        "The river is wide. The bridge is old. It is calm. It is cold. We like it.");
    bad.put("gopher-max-words", Texts.sentences(13_000, " "));
    bad.put(
        "gopher-min-mean-word-length",
        Texts.repeat(
            "It is so. He is to go. We do it as we go by. "
                + "I am at it. So do we. Be on it. Up we go.",
            6,
            "\n"));
    bad.put(
        "gopher-max-mean-word-length",
        Texts.repeat(
                "Internationalization notwithstanding, "
                    + "telecommunications infrastructure modernization characteristically necessitates extraordinarily "
                    + "comprehensive interdepartmental collaboration.",
                1,
                " ")
            + " "
            + Texts.GOOD.replaceAll("\\b(\\w{1,9})\\b", "$1ization"));
    bad.put(
        "gopher-max-symbol-word-ratio", Texts.GOOD.replace(" the ", " #the ").replace(".", "..."));
    bad.put(
        "gopher-max-bullet-lines",
        Arrays.stream(Texts.GOOD.split("(?<=\\.)\\s+"))
            .map(s -> "- " + s.strip())
            .collect(Collectors.joining("\n")));
    bad.put("gopher-max-ellipsis-lines", Texts.GOOD.replace(". ", "...\n"));
    bad.put(
        "gopher-min-alpha-words",
        Texts.GOOD
            + "\n\n"
            + IntStream.range(0, 200)
                .mapToObj(i -> i + " 1,024 -- 3.5%")
                .collect(Collectors.joining(" "))
            + ".");
    bad.put(
        "gopher-min-stop-words",
        """
            Cats sleep most afternoons. Dogs chase balls across green parks. Birds sing loudly during spring \
            mornings. Children draw colourful pictures using bright crayons. Farmers harvest golden wheat every \
            autumn. Sailors navigate stormy seas using old maps. Bakers prepare fresh bread before sunrise. \
            Painters mix colours carefully before starting. Doctors examine patients inside busy clinics. \
            Students read books quietly inside libraries. Gardeners plant roses along narrow paths. Engineers \
            design sturdy bridges across rivers.""");
    String repeatedLines =
        Texts.repeat("The market opens early on Saturday mornings.", 6, "\n") + "\n" + Texts.GOOD;
    bad.put("gopher-max-dup-lines", repeatedLines);
    bad.put("gopher-max-dup-paragraphs", Texts.repeat(Texts.GOOD, 3, "\n\n"));
    bad.put("gopher-max-dup-line-chars", repeatedLines);
    bad.put("gopher-max-dup-paragraph-chars", Texts.repeat(Texts.GOOD, 3, "\n\n"));
    bad.put(
        "gopher-max-top-2gram",
        Texts.GOOD
            + " "
            + Texts.repeat(
                "Machine learning works, and machine learning "
                    + "scales; we study machine learning.",
                8,
                " "));
    bad.put(
        "gopher-max-top-3gram",
        Texts.GOOD + " " + Texts.repeat("The quick fox jumps, yes the quick fox runs.", 10, " "));
    bad.put(
        "gopher-max-top-4gram",
        Texts.GOOD
            + " "
            + Texts.repeat("At the old harbour we wait; at the old harbour " + "we sing.", 8, " "));
    for (int n = 5; n <= 10; n++) {
      bad.put(
          "gopher-max-dup-" + n + "gram", Texts.repeat(Texts.GOOD.replace("\n\n", " "), 2, " "));
    }
    bad.put(
        "c4-max-lorem-ipsum",
        Texts.GOOD + "\n\nLorem ipsum dolor sit amet, consectetur adipiscing elit.");
    bad.put(
        "c4-max-curly-brackets",
        Texts.GOOD + "\n\nThe function body is written as { return 1; } here.");
    bad.put("c4-min-sentences", Texts.GOOD.replace(".", ""));
    bad.put(
        "fineweb-min-line-punct",
        Arrays.stream(Texts.GOOD.split("(?<=\\.) "))
            .map(s -> s.replace(".", "") + " and more")
            .collect(Collectors.joining("\n")));
    bad.put("fineweb-max-short-lines", Texts.GOOD.replaceAll("(\\S+ \\S+ \\S+ \\S+) ", "$1\n"));
    bad.put(
        "fineweb-max-char-dup",
        Texts.GOOD
            + "\nThe archive is open to everyone today.\n"
            + "The archive is open to everyone today.");
    bad.put("fineweb-max-newline-ratio", Texts.GOOD.replaceAll("(\\S+ \\S+ \\S+) ", "$1\n"));
    return bad;
  }

  @Test
  void goodDocumentPassesEveryFilter() {
    Row r = curator().curate(Texts.GOOD);
    assertEquals(List.of(), Arrays.asList((String[]) r.get(4)), () -> "signals: " + r.get(3));
    assertEquals("en", r.getString(2));
  }

  @Test
  void everyFilterRejectsItsBadDocument() {
    Curator c = curator();
    Map<String, String> bad = badDocuments();
    for (QualityFilter f : QualityFilters.DEFAULTS) {
      assertTrue(bad.containsKey(f.name()), "no crafted document for filter " + f.name());
    }
    for (Map.Entry<String, String> e : bad.entrySet()) {
      Row r = c.curate(e.getValue());
      List<String> reasons = Arrays.asList((String[]) r.get(4));
      assertTrue(
          reasons.contains(e.getKey()),
          e.getKey() + " not among " + reasons + "; signals " + r.get(3));
    }
  }

  @Test
  void filterSwitchedOffOrRetunedByOption() {
    String shortDoc = badDocuments().get("gopher-min-words");
    assertTrue(reasons(curator(), shortDoc).contains("gopher-min-words"));
    assertFalse(
        reasons(curator("--gopher-min-words", "off"), shortDoc).contains("gopher-min-words"));
    assertFalse(
        reasons(curator("--gopher-min-words", "10"), shortDoc).contains("gopher-min-words"));
  }

  @Test
  void languageFilter() {
    Curator c = curator("--languages", "en");
    assertEquals(List.of(Curator.LANGUAGE_REASON), reasons(c, Texts.GERMAN));
    assertEquals(List.of(), reasons(c, Texts.GOOD));
    Row german = curator().curate(Texts.GERMAN);
    assertEquals("de", german.getString(2));
    assertEquals(
        List.of(), Arrays.asList((String[]) german.get(4)), "stop words only apply to English");
  }

  @Test
  void c4LineRulesEditTheText() {
    String doc =
        Texts.GOOD
            + "\n\nPlease enable JavaScript to view this page.\nRead our privacy policy here.\nHome\n"
            + "See the archive.[1] Thanks[edit] for reading this page today.";
    Row r = curator().curate(doc);
    String text = r.getString(0);
    assertFalse(
        text.contains("JavaScript")
            || text.contains("privacy")
            || text.contains("Home")
            || text.contains("[1]")
            || text.contains("[edit]"),
        text);
    assertTrue(text.contains("See the archive. Thanks for reading this page today."), text);
    assertEquals(3.0, ((Row) r.get(3)).getDouble(Signal.C4_LINES_REMOVED.ordinal()));
    assertEquals(
        doc.replace("[1]", "[1]"),
        r.getString(1).replace("\n\n", "\n\n"),
        "text before line rules kept");
  }

  @Test
  void piiIsRedactedBeforeSignals() {
    Row r =
        curator()
            .curate(Texts.GOOD + " Contact jane@example.org or call 555-123-4567 from 10.0.0.1.");
    assertTrue(
        r.getString(0).endsWith("Contact <EMAIL> or call <PHONE> from <IP>."), r.getString(0));
    assertEquals(3.0, ((Row) r.get(3)).getDouble(Signal.PII_REDACTIONS.ordinal()));
    assertFalse(
        curator("--redact-pii", "false")
            .curate("mail jane@example.org")
            .getString(0)
            .contains("<EMAIL>"));
  }
}
