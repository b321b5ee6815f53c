package org.dbrxspark.jobs.curate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.dbrxspark.jobs.DbrxSparkJobs;
import org.junit.jupiter.api.Test;

/**
 * Language-identification accuracy of curate's default detector against the one it replaced (all 22
 * candidates on the first 2,000 characters), per length band of the held-out {@link LidEvalSet}.
 * Prints each band's accuracy for the old configuration, each lever alone and the new default
 * (BENCHMARKS.md quotes the table), and requires the default to be within one point of the old
 * configuration in every band.
 */
class LanguageIdentifierAccuracyTest {
  private static final List<String> CANDIDATES =
      List.of("en,de,fr,es,it,pt,nl,sv,da,fi,pl,cs,hu,ro,tr,ru,uk,ar,zh,ja,ko,th".split(","));

  /** What curate's options give by default. */
  private static LanguageIdentifier defaults() {
    return CurateJob.curator(
            new DbrxSparkJobs()
                .optionSet(new CurateJob())
                .parse(new String[] {"--input", "in", "--output", "out"}))
        .lid();
  }

  private static Function<String, String> lang(int sampleChars, int shortlist) {
    LanguageIdentifier lid = new LanguageIdentifier(CANDIDATES, false, sampleChars, shortlist);
    return t -> lid.detect(t).lang();
  }

  @Test
  void defaultDetectorIsWithinOnePointOfTheOldOneInEveryLengthBand() throws IOException {
    Map<LidEvalSet.Band, List<LidEvalSet.Item>> set =
        LidEvalSet.load(Path.of("../data/sample-corpus/corpus.jsonl.gz"));
    LanguageIdentifier defaults = defaults();
    assertEquals(CANDIDATES, defaults.candidates());
    Map<String, Function<String, String>> configs = new LinkedHashMap<>();
    configs.put(
        "previous: first 2,000 chars, all candidates", new PreviousDetector(CANDIDATES)::detect);
    configs.put("2,000-char sample (4 windows), all candidates", lang(2000, 0));
    configs.put("500-char sample, all candidates", lang(500, 0));
    configs.put("2,000-char sample, shortlist 3", lang(2000, 3));
    configs.put(
        String.format(
            Locale.ROOT,
            "new default: %d-char sample, shortlist %d",
            defaults.sampleChars(),
            defaults.shortlist()),
        t -> defaults.detect(t).lang());

    Map<String, Map<LidEvalSet.Band, Double>> accuracy = new LinkedHashMap<>();
    StringBuilder table = new StringBuilder("| configuration |");
    set.forEach(
        (band, items) ->
            table.append(
                String.format(
                    Locale.ROOT,
                    " %s (%d texts, %d languages) |",
                    band.name().toLowerCase(Locale.ROOT),
                    items.size(),
                    items.stream().map(LidEvalSet.Item::lang).distinct().count())));
    table.append('\n');
    for (Map.Entry<String, Function<String, String>> c : configs.entrySet()) {
      table.append("| ").append(c.getKey()).append(" |");
      Map<LidEvalSet.Band, Double> byBand = new LinkedHashMap<>();
      for (Map.Entry<LidEvalSet.Band, List<LidEvalSet.Item>> band : set.entrySet()) {
        long right =
            band.getValue().stream()
                .filter(i -> c.getValue().apply(i.text()).equals(i.lang()))
                .count();
        double acc = 100.0 * right / band.getValue().size();
        byBand.put(band.getKey(), acc);
        table.append(String.format(Locale.ROOT, " %.2f%% |", acc));
      }
      table.append('\n');
      accuracy.put(c.getKey(), byBand);
    }
    System.out.print(table);

    for (List<LidEvalSet.Item> items : set.values()) {
      assertTrue(items.size() >= 100, "each band has at least 100 texts");
      assertTrue(
          items.stream().map(LidEvalSet.Item::lang).distinct().count() >= 12,
          "each band covers the sample corpus's languages and at least 8 others");
    }
    Map<LidEvalSet.Band, Double> old = accuracy.values().iterator().next();
    Map<LidEvalSet.Band, Double> now =
        accuracy.get(configs.keySet().stream().reduce((a, b) -> b).get());
    for (LidEvalSet.Band b : LidEvalSet.Band.values()) {
      assertTrue(
          now.get(b) >= old.get(b) - 1.0,
          b + ": new " + now.get(b) + "% against old " + old.get(b) + "%");
    }
  }
}
