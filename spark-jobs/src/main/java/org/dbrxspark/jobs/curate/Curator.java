package org.dbrxspark.jobs.curate;

import java.io.Serializable;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.core.Rejects;

/**
 * Curates one document: normalise, redact PII, identify the language, compute the Gopher signals,
 * apply the C4 line rules, compute the C4 and FineWeb signals, then evaluate every active filter.
 * Returns a struct holding the curated text, the text before the C4 line rules (what a rejected row
 * keeps), the language, the signals and the failed filters' names.
 *
 * @param normalForm Unicode normal form, or null for none
 * @param lid language identification, or null when switched off
 * @param languages languages to keep (empty: all)
 * @param lidMinScore minimum language confidence when {@code languages} is set; NaN for none
 * @param filters the active quality filters
 */
public record Curator(
    Normalizer.Form normalForm,
    boolean redactPii,
    C4Rules c4,
    LanguageIdentifier lid,
    Set<String> languages,
    double lidMinScore,
    List<QualityFilter> filters)
    implements Serializable {
  /** The reason recorded when a document's language is not among {@code --languages}. */
  public static final String LANGUAGE_REASON = "languages";

  /** Field names of the struct {@link #curate} returns. */
  static final String TEXT = "text";

  static final String TEXT_BEFORE_LINE_RULES = "text_before_line_rules";
  static final String LANG = "lang";
  static final String SIGNALS = "signals";
  static final String REASONS = Rejects.REASONS;

  /** The struct type of the {@code signals} column: one double per {@link Signal}. */
  public static StructType signalsType() {
    List<StructField> fields = new ArrayList<>();
    for (Signal s : Signal.values()) {
      fields.add(DataTypes.createStructField(s.field(), DataTypes.DoubleType, false));
    }
    return DataTypes.createStructType(fields);
  }

  /** The struct type {@link #curate} returns. */
  static StructType resultType() {
    return DataTypes.createStructType(
        List.of(
            DataTypes.createStructField(TEXT, DataTypes.StringType, false),
            DataTypes.createStructField(TEXT_BEFORE_LINE_RULES, DataTypes.StringType, false),
            DataTypes.createStructField(LANG, DataTypes.StringType, false),
            DataTypes.createStructField(SIGNALS, signalsType(), false),
            DataTypes.createStructField(
                REASONS, DataTypes.createArrayType(DataTypes.StringType, false), false)));
  }

  /**
   * Curates {@code raw} (null counts as empty): one row of the curate result's fields. Public for
   * the benchmarks, which time it without Spark.
   */
  public Row curate(String raw) {
    String clean = TextNormalizer.normalize(raw, normalForm);
    PiiRedactor.Result redacted =
        redactPii ? PiiRedactor.redact(clean) : new PiiRedactor.Result(clean, 0);
    String text = redacted.text();
    LanguageIdentifier.Detection lang =
        lid == null || text.isEmpty()
            ? new LanguageIdentifier.Detection(LanguageIdentifier.UNKNOWN, 0)
            : lid.detect(text);

    double[] s = new double[Signal.values().length];
    TextView before = new TextView(text);
    GopherSignals.compute(before, lid == null || lang.lang().equals("en"), s);
    int[] removed = {0};
    String after = c4.filterLines(text, removed);
    TextView view = after.equals(text) ? before : new TextView(after);
    s[Signal.C4_LINES_REMOVED.ordinal()] = removed[0];
    C4Rules.compute(view, text, s);
    FineWebSignals.compute(view, s);
    s[Signal.CHARS.ordinal()] = after.length();
    s[Signal.PII_REDACTIONS.ordinal()] = redacted.replacements();
    s[Signal.LANG_SCORE.ordinal()] = lid == null ? Double.NaN : lang.score();

    List<String> reasons = new ArrayList<>();
    for (QualityFilter f : filters) {
      if (f.fails(s[f.signal().ordinal()], before.writing)) {
        reasons.add(f.name());
      }
    }
    if (!languages.isEmpty() && (!languages.contains(lang.lang()) || lang.score() < lidMinScore)) {
      reasons.add(LANGUAGE_REASON);
    }
    Object[] signals = new Object[s.length];
    for (int i = 0; i < s.length; i++) {
      signals[i] = s[i];
    }
    return RowFactory.create(
        after, text, lang.lang(), RowFactory.create(signals), reasons.toArray(String[]::new));
  }
}
