package org.dbrxspark.jobs.curate;

import static org.apache.spark.sql.functions.array;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.size;
import static org.apache.spark.sql.functions.udf;
import static org.apache.spark.sql.functions.when;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Histograms;
import org.dbrxspark.jobs.core.Histograms.Binned;
import org.dbrxspark.jobs.core.Histograms.Counts;
import org.dbrxspark.jobs.core.Histograms.Tally;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Partitions;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.core.RunTables;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.ReaderOptions;

/**
 * {@code curate}: normalisation, PII redaction, language identification and the Gopher, C4 and
 * FineWeb quality filters. Writes the kept documents (id, source, text, lang, signals, then the
 * input's other columns) and a rejects table with the same columns plus {@code reasons}; every
 * input row lands in exactly one of them.
 */
public final class CurateJob implements Job {
  /** The values of the summary's row count: every row read, and the curated ones. */
  private static final String INPUT = "input";

  private static final String CURATED = "curated";

  /** Equal-width bins of each signal's histogram in the JSON stats. */
  static final int SIGNAL_BINS = 10;

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path("output", null, "Delta table of kept documents");
  public static final OptionSpec<String> REJECTS =
      Rejects.option("Delta table of rejected documents with reasons and signals");
  public static final OptionSpec<String> UNICODE_FORM =
      OptionSpec.choice(
          "unicode-form", "nfc", "Unicode normal form applied to the text", "nfc", "nfkc", "none");
  public static final OptionSpec<Boolean> REDACT_PII =
      OptionSpec.bool(
          "redact-pii",
          true,
          "Replace e-mail addresses, IP addresses and phone numbers with <EMAIL>, <IP>, <PHONE>");
  public static final OptionSpec<Boolean> C4_LINE_RULES =
      OptionSpec.bool(
          "c4-line-rules",
          true,
          "Apply C4's line rules (drop javascript/policy/short lines, strip citation markers)");
  public static final OptionSpec<Integer> C4_MIN_WORDS_PER_LINE =
      OptionSpec.integer("c4-min-words-per-line", 3, 0, "C4: lines with fewer words are dropped");
  public static final OptionSpec<Boolean> C4_TERMINAL_PUNCT =
      OptionSpec.bool(
          "c4-terminal-punct",
          false,
          "C4: also drop lines not ending in terminal punctuation (off, as in FineWeb)");
  public static final OptionSpec<Boolean> LID =
      OptionSpec.bool("lid", true, "Identify each document's language (Lingua)");
  public static final OptionSpec<List<String>> LID_CANDIDATES =
      OptionSpec.list(
          "lid-candidates",
          "en,de,fr,es,it,pt,nl,sv,da,fi,pl,cs,hu,ro,tr,ru,uk,ar,zh,ja,ko,th",
          "ISO 639-1 codes of the languages identification chooses among");
  public static final OptionSpec<Boolean> LID_HIGH_ACCURACY =
      OptionSpec.bool(
          "lid-high-accuracy",
          false,
          "Lingua high-accuracy mode (slower, more memory; helps only on very short texts)");
  public static final OptionSpec<Integer> LID_SAMPLE_CHARS =
      OptionSpec.integer(
          "lid-sample-chars",
          500,
          1,
          "Identify the language on a sample of this many characters of each document, in four "
              + "windows spread from its start to its end");
  public static final OptionSpec<Integer> LID_SHORTLIST =
      OptionSpec.integer(
          "lid-shortlist",
          3,
          0,
          "Score the sample among only this many candidates, the best on a first pass over "
              + LanguageIdentifier.FIRST_PASS_CHARS
              + " characters of it (0: among all)");
  public static final OptionSpec<List<String>> LANGUAGES =
      OptionSpec.list(
          "languages", "", "Keep only documents in these ISO 639-1 languages (empty: keep all)");
  public static final OptionSpec<Optional<Double>> LID_MIN_SCORE =
      OptionSpec.threshold(
          "lid-min-score",
          0.65,
          0,
          1,
          "With --languages: minimum language confidence (FineWeb uses 0.65)");

  @Override
  public String name() {
    return "curate";
  }

  @Override
  public String description() {
    return "Normalise, redact PII, identify the language and apply the Gopher, C4 and FineWeb quality filters. "
        + "Every filter is named after its option: --NAME VALUE re-tunes it, --NAME off switches it off.";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(
        List.of(
            OUTPUT,
            REJECTS,
            UNICODE_FORM,
            REDACT_PII,
            C4_LINE_RULES,
            C4_MIN_WORDS_PER_LINE,
            C4_TERMINAL_PUNCT,
            LID,
            LID_CANDIDATES,
            LID_HIGH_ACCURACY,
            LID_SAMPLE_CHARS,
            LID_SHORTLIST,
            LANGUAGES,
            LID_MIN_SCORE));
    QualityFilters.DEFAULTS.forEach(f -> all.add(f.option()));
    return all;
  }

  @Override
  public void validate(ParsedOptions options) {
    curator(options);
    Rejects.requireApart(options, OUTPUT, REJECTS);
  }

  /** Builds the curator the options describe. */
  public static Curator curator(ParsedOptions o) {
    List<QualityFilter> filters = new ArrayList<>();
    for (QualityFilter f : QualityFilters.DEFAULTS) {
      o.get(f.option()).ifPresent(t -> filters.add(f.withThreshold(t)));
    }
    LanguageIdentifier lid = null;
    Set<String> languages = new LinkedHashSet<>(o.get(LANGUAGES));
    try {
      if (o.get(LID)) {
        lid =
            new LanguageIdentifier(
                o.get(LID_CANDIDATES),
                o.get(LID_HIGH_ACCURACY),
                o.get(LID_SAMPLE_CHARS),
                o.get(LID_SHORTLIST));
        for (String l : languages) {
          LanguageIdentifier.language(l);
          if (!lid.candidates().contains(l)) {
            throw new UsageException("--languages " + l + " is not among --lid-candidates");
          }
        }
      } else if (!languages.isEmpty()) {
        throw new UsageException("--languages needs --lid true");
      }
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    Normalizer.Form form =
        switch (o.get(UNICODE_FORM)) {
          case "nfc" -> Normalizer.Form.NFC;
          case "nfkc" -> Normalizer.Form.NFKC;
          default -> null;
        };
    C4Rules c4 =
        new C4Rules(o.get(C4_LINE_RULES), o.get(C4_MIN_WORDS_PER_LINE), o.get(C4_TERMINAL_PUNCT));
    return new Curator(
        form,
        o.get(REDACT_PII),
        c4,
        lid,
        Set.copyOf(languages),
        o.get(LID_MIN_SCORE).orElse(Double.NaN),
        List.copyOf(filters));
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions options) {
    Curator curator = curator(options);
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(options));
    Dataset<Row> annotated =
        annotate(Partitions.spread(read.rows()), curator).persist(StorageLevel.MEMORY_AND_DISK());
    try {
      Dataset<Row> kept = annotated.where(Rejects.kept()).drop(Rejects.REASONS);
      Dataset<Row> rejected = annotated.where(Rejects.rejected());
      String output = options.get(OUTPUT);
      String rejects = Rejects.path(options, OUTPUT, REJECTS);
      try (RunTables tables = RunTables.of(spark, output, rejects)) {
        long keptRows = tables.overwrite(kept.drop("_before"), output);
        long rejectedRows =
            tables.overwrite(
                rejected.withColumn(Columns.TEXT, col("_before")).drop("_before"), rejects);

        Column curated = col(Curator.SIGNALS).isNotNull();
        // The signals' histograms are over the curated rows: the others' signals are null.
        Counts counts =
            Histograms.countAndBin(
                annotated,
                List.of(
                    // Rows read, and the curated ones among them (the others the reader rejected).
                    new Tally("rows", array(lit(INPUT), when(curated, lit(CURATED))), 2),
                    new Tally(
                        "kept by language",
                        when(
                            Rejects.kept(),
                            array(coalesce(col(Curator.LANG), lit(Histograms.NULL)))),
                        8),
                    new Tally("reject reasons", when(Rejects.rejected(), col(Curator.REASONS)), 12),
                    new Tally("failed", when(curated, col(Curator.REASONS)), Integer.MAX_VALUE)),
                Rejects.kept(),
                signalColumns(),
                SIGNAL_BINS);
        Map<String, Map<String, Long>> tallies = counts.tallies();
        long input = tallies.get("rows").getOrDefault(INPUT, 0L);
        JobSummary summary =
            new JobSummary("curate " + options.get(ReaderOptions.INPUT))
                .put("input documents", input)
                .put("kept", keptRows)
                .put("rejected", rejectedRows)
                .put("output", output)
                .put("rejects output", rejects)
                .put("duplicate ids", read.duplicateIdSummary())
                .put(
                    "active filters",
                    curator.filters().size()
                        + " of "
                        + QualityFilters.DEFAULTS.size()
                        + (curator.languages().isEmpty()
                            ? ""
                            : ", languages " + curator.languages()));
        summary.put("kept by language", tallies.get("kept by language"));
        summary.put("reject reasons", tallies.get("reject reasons"));
        summary.reconcile("input = kept + rejected", input, keptRows, rejectedRows);
        addFilterStats(
            summary,
            curator,
            tallies.get("rows").getOrDefault(CURATED, 0L),
            tallies.get("failed"),
            counts.histograms());
        return tables.finish(summary);
      }
    } finally {
      annotated.unpersist();
    }
  }

  /**
   * Adds to the JSON stats each filter's keep/reject counts over the {@code documents} curated
   * (rows the reader could not read are no filter's), given the reasons they {@code failed} with,
   * and the {@code histograms} of every signal (by {@link #signalColumns}) over the curated rows
   * and over the kept ones.
   */
  private static void addFilterStats(
      JobSummary summary,
      Curator curator,
      long documents,
      Map<String, Long> failed,
      Map<String, Binned> histograms) {
    List<String> names =
        new ArrayList<>(curator.filters().stream().map(QualityFilter::name).toList());
    if (!curator.languages().isEmpty()) {
      names.add(Curator.LANGUAGE_REASON);
    }
    for (String name : names) {
      long rejected = failed.getOrDefault(name, 0L);
      summary.filter(name, documents - rejected, rejected);
    }
    histograms.forEach(
        (column, h) ->
            summary.histogram(column.substring(Curator.SIGNALS.length() + 1), h.toMap()));
  }

  /** The signals' columns, {@code signals.<field>}, in the order of {@link Signal}. */
  private static List<String> signalColumns() {
    List<String> signals = new ArrayList<>();
    for (Signal s : Signal.values()) {
      signals.add(Curator.SIGNALS + "." + s.field());
    }
    return signals;
  }

  /**
   * Adds the curation result to {@code docs} (the reader's rows, with their read errors): the
   * curated text replaces {@code text}, then {@code lang}, {@code signals}, {@code reasons} and
   * {@code _before} (a rejected row's text before the C4 line rules, null on a kept one) follow
   * {@code source}; the input's other columns come last. A row the reader could not read is not
   * curated: its read error is its reason and its text (the input line) is kept as it was.
   */
  static Dataset<Row> annotate(Dataset<Row> docs, Curator curator) {
    // Marked non-deterministic only so the optimiser cannot inline the call once per
    // extracted field below (it would run the whole pipeline five times per row).
    UserDefinedFunction fn =
        udf((UDF1<String, Row>) curator::curate, Curator.resultType()).asNondeterministic();
    Column error = col(DocumentReader.READ_ERROR);
    Dataset<Row> withResult =
        docs.withColumn("_curated", when(error.isNull(), fn.apply(col(Columns.TEXT))));
    List<Column> cols =
        new ArrayList<>(
            List.of(
                col(Columns.ID),
                col(Columns.SOURCE),
                col("_curated." + Curator.TEXT).as(Columns.TEXT),
                col("_curated." + Curator.LANG).as(Curator.LANG),
                col("_curated." + Curator.SIGNALS).as(Curator.SIGNALS),
                when(error.isNull(), col("_curated." + Curator.REASONS))
                    .otherwise(array(error))
                    .as(Curator.REASONS),
                // Only a rejected row needs it: the run caches these rows, so a kept row's copy of
                // its text would double the cache.
                when(error.isNotNull(), col(Columns.TEXT))
                    .when(
                        size(col("_curated." + Curator.REASONS)).gt(0),
                        col("_curated." + Curator.TEXT_BEFORE_LINE_RULES))
                    .as("_before")));
    Set<String> taken =
        Set.of(
            Columns.ID,
            Columns.SOURCE,
            Columns.TEXT,
            Curator.LANG,
            Curator.SIGNALS,
            Curator.REASONS,
            "_before",
            "_curated",
            DocumentReader.READ_ERROR);
    for (String c : withResult.columns()) {
      if (!taken.contains(c)) {
        cols.add(Columns.named(c));
      }
    }
    return withResult.select(cols.toArray(Column[]::new));
  }
}
