package org.dbrxspark.jobs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptionSetTest {
  static final OptionSpec<String> INPUT = OptionSpec.path("input", null, "Input path");
  static final OptionSpec<Integer> SHINGLE = OptionSpec.integer("ngram", 5, 1, "Shingle size");
  static final OptionSpec<Optional<Double>> MIN =
      OptionSpec.threshold("min-words", 50.0, 0, 1e9, "Min words");
  static final OptionSpec<List<String>> LANGS = OptionSpec.list("languages", "", "Languages");
  static final OptionSpec<String> FORMAT =
      OptionSpec.choice("format", "jsonl", "Format", "jsonl", "parquet");

  static final OptionSpec<Boolean> DRY_RUN = OptionSpec.flag("dry-run", "Plan only");

  private final OptionSet set =
      new OptionSet("demo", List.of(INPUT, SHINGLE, MIN, LANGS, FORMAT, DRY_RUN));

  @Test
  void parsesValuesAndDefaults() {
    ParsedOptions o =
        set.parse(new String[] {"--input", "a.jsonl", "--min-words=off", "--languages", "en,de"});
    assertEquals("a.jsonl", o.get(INPUT));
    assertEquals(5, o.get(SHINGLE));
    assertEquals(Optional.empty(), o.get(MIN));
    assertEquals(List.of("en", "de"), o.get(LANGS));
  }

  @Test
  void helpListsEveryOptionWithItsDefault() {
    String help = set.help("Demo job.");
    assertTrue(help.contains("--ngram INT"), help);
    assertTrue(help.contains("Shingle size (default: 5)"), help);
    assertTrue(help.contains("--input PATH"), help);
    assertTrue(help.contains("(required)"), help);
    assertTrue(help.contains("Min words (default: 50)"), help);
    assertTrue(help.contains("--format jsonl|parquet"), help);
    assertTrue(help.contains("Languages (default: none)"), help);
    assertTrue(help.contains("--config PATH"), help);
  }

  @Test
  void helpNeedsNoRequiredOption() {
    assertTrue(set.parse(new String[] {"--help"}).helpRequested());
  }

  @Test
  void unknownOptionIsNamed() {
    UsageException e =
        assertThrows(UsageException.class, () -> set.parse(new String[] {"--inptu", "x"}));
    assertTrue(e.getMessage().contains("unknown option --inptu"), e.getMessage());
  }

  @Test
  void theLastOfARepeatedOptionWinsInEitherSpelling() {
    ParsedOptions o = set.parse(new String[] {"--input", "a", "--ngram", "4", "--input=b"});
    assertEquals("b", o.get(INPUT));
    assertEquals(4, o.get(SHINGLE));
  }

  @Test
  void aFlagIsOnBareAndTakesAnAttachedTrueOrFalse() {
    assertEquals(false, set.parse(new String[] {"--input", "x"}).get(DRY_RUN));
    assertEquals(true, set.parse(new String[] {"--input", "x", "--dry-run"}).get(DRY_RUN));
    assertEquals(false, set.parse(new String[] {"--input", "x", "--dry-run=false"}).get(DRY_RUN));
    assertTrue(set.help("Demo job.").contains("--dry-run  "), set.help("Demo job."));
  }

  @Test
  void aMisspelledOptionIsNamedWithTheNearestOne() {
    UsageException e =
        assertThrows(UsageException.class, () -> set.parse(new String[] {"--ngrm=3"}));
    assertTrue(e.getMessage().contains("unknown option --ngrm"), e.getMessage());
    assertTrue(e.getMessage().contains("did you mean --ngram"), e.getMessage());
    UsageException positional =
        assertThrows(UsageException.class, () -> set.parse(new String[] {"a.jsonl"}));
    assertTrue(
        positional.getMessage().contains("unexpected argument 'a.jsonl'"), positional.getMessage());
  }

  @Test
  void anOptionNameIsNotTakenAsTheValueBeforeIt() {
    UsageException e =
        assertThrows(
            UsageException.class, () -> set.parse(new String[] {"--input", "--ngram", "3"}));
    assertTrue(e.getMessage().contains("option --input needs a value"), e.getMessage());
  }

  @Test
  void missingAndBadValuesAreNamed() {
    assertTrue(
        assertThrows(UsageException.class, () -> set.parse(new String[] {}))
            .getMessage()
            .contains("missing required option --input"));
    assertTrue(
        assertThrows(
                UsageException.class,
                () -> set.parse(new String[] {"--input", "x", "--ngram", "0"}))
            .getMessage()
            .contains("--ngram"));
    assertTrue(
        assertThrows(
                UsageException.class,
                () -> set.parse(new String[] {"--input", "x", "--format", "csv"}))
            .getMessage()
            .contains("--format"));
    assertTrue(
        assertThrows(UsageException.class, () -> set.parse(new String[] {"--input"}))
            .getMessage()
            .contains("needs a value"));
  }

  @Test
  void yamlPipelineFileWithJobSectionAndCommandLineOverride(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("pipeline.yaml");
    Files.writeString(
        yaml,
        """
            input: shared.jsonl
            ngram: 7
            demo:
              languages: [en, fr]
              min_words: 20
            other-job:
              unrelated: 1
            """);
    ParsedOptions o = set.parse(new String[] {"--config", yaml.toString(), "--ngram", "3"});
    assertEquals("shared.jsonl", o.get(INPUT));
    assertEquals(3, o.get(SHINGLE));
    assertEquals(List.of("en", "fr"), o.get(LANGS));
    assertEquals(Optional.of(20.0), o.get(MIN));
  }

  @Test
  void jsonPipelineFile(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("p.json");
    Files.writeString(json, "{\"input\": \"x.parquet\", \"format\": \"parquet\"}");
    ParsedOptions o = set.parse(new String[] {"--config", json.toString()});
    assertEquals("x.parquet", o.get(INPUT));
    assertEquals("parquet", o.get(FORMAT));
  }

  @Test
  void unknownKeyInPipelineFileIsNamed(@TempDir Path dir) throws Exception {
    Path yaml = dir.resolve("bad.yml");
    Files.writeString(yaml, "input: x\nshingles: 3\n");
    UsageException e =
        assertThrows(
            UsageException.class, () -> set.parse(new String[] {"--config", yaml.toString()}));
    assertTrue(e.getMessage().contains("unknown option --shingles in " + yaml), e.getMessage());
  }

  @Test
  void composedValuesKeepTheirTypeAndAreCheckedAsParsedOnesAre() {
    // A value that a command line would take for an option is just a value here.
    ParsedOptions o =
        set.compose("", OptionValues.none().with(INPUT, "--ngram=3").with(LANGS, List.of("a,b")));
    assertEquals("--ngram=3", o.get(INPUT));
    assertEquals(5, o.get(SHINGLE));
    assertEquals(List.of("a,b"), o.get(LANGS));
    UsageException low =
        assertThrows(
            UsageException.class,
            () -> set.compose("", OptionValues.none().with(INPUT, "x").with(SHINGLE, 0)));
    assertTrue(low.getMessage().contains("bad value for --ngram: must be >= 1"), low.getMessage());
    UsageException format =
        assertThrows(
            UsageException.class,
            () -> set.compose("", OptionValues.none().with(INPUT, "x").with(FORMAT, "csv")));
    assertTrue(format.getMessage().contains("--format"), format.getMessage());
    assertTrue(
        assertThrows(UsageException.class, () -> set.compose("", OptionValues.none()))
            .getMessage()
            .contains("missing required option --input"));
    // Another job's option of the same name is not this job's, whatever its type.
    OptionSpec<String> othersNgram = OptionSpec.string("ngram", "5", "Another job's");
    assertThrows(
        IllegalArgumentException.class,
        () -> set.compose("", OptionValues.none().with(INPUT, "x").with(othersNgram, "3")));
  }

  @Test
  void aComposedJobReadsItsSectionOfThePipelineFileButNotItsTopLevel(@TempDir Path dir)
      throws Exception {
    Path yaml = dir.resolve("pipeline.yaml");
    Files.writeString(
        yaml,
        """
            workdir: belongs-to-the-pipeline
            ngram: 7
            demo:
              input: from-the-section.jsonl
              languages: [en, fr]
            """);
    ParsedOptions o = set.compose(yaml.toString(), OptionValues.none().with(INPUT, "given.jsonl"));
    assertEquals("given.jsonl", o.get(INPUT));
    assertEquals(5, o.get(SHINGLE));
    assertEquals(List.of("en", "fr"), o.get(LANGS));
  }
}
