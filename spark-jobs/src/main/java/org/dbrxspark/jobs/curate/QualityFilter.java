package org.dbrxspark.jobs.curate;

import java.io.Serializable;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import org.dbrxspark.jobs.cli.OptionSpec;

/**
 * One filter: a name (also its option and its reason in the rejects table), the signal it reads,
 * whether the threshold is a lower or upper bound, and the threshold.
 *
 * @param threshold the bound for spaced text; a document fails when its signal is outside it
 * @param byWriting the bound for documents in these writing systems instead of {@code threshold};
 *     NaN: the filter does not apply to them
 */
public record QualityFilter(
    String name,
    Signal signal,
    Bound bound,
    double threshold,
    Map<WritingSystem, Double> byWriting,
    String description)
    implements Serializable {

  public QualityFilter {
    byWriting = byWriting.isEmpty() ? Map.of() : new EnumMap<>(byWriting);
  }

  public QualityFilter(
      String name, Signal signal, Bound bound, double threshold, String description) {
    this(name, signal, bound, threshold, Map.of(), description);
  }

  /** Which side of the threshold a document must be on. */
  public enum Bound {
    /** Fail when the signal is below the threshold. */
    MIN,
    /** Fail when the signal is above the threshold. */
    MAX
  }

  /** Whether {@code value} fails this filter in spaced text; NaN (not applicable) never fails. */
  public boolean fails(double value) {
    return fails(value, WritingSystem.SPACED);
  }

  /** Whether {@code value} fails this filter in a document written in {@code writing}. */
  public boolean fails(double value, WritingSystem writing) {
    double t = thresholdFor(writing);
    if (Double.isNaN(value) || Double.isNaN(t)) {
      return false;
    }
    return bound == Bound.MIN ? value < t : value > t;
  }

  /** The bound for {@code writing}: its own where it has one, else {@link #threshold}. */
  public double thresholdFor(WritingSystem writing) {
    return byWriting.getOrDefault(writing, threshold);
  }

  /** This filter with its own bound for {@code writing} (NaN: does not apply there). */
  QualityFilter with(WritingSystem writing, double value) {
    Map<WritingSystem, Double> all = new EnumMap<>(WritingSystem.class);
    all.putAll(byWriting);
    all.put(writing, value);
    return new QualityFilter(name, signal, bound, threshold, all, description);
  }

  /** The option that re-tunes ({@code --NAME 0.5}) or disables ({@code --NAME off}) this filter. */
  public OptionSpec<Optional<Double>> option() {
    return OptionSpec.threshold(
        name,
        threshold,
        0,
        Double.MAX_VALUE,
        description
            + " ["
            + (bound == Bound.MIN ? "min " : "max ")
            + signal.field()
            + byWritingNote()
            + "]");
  }

  /** e.g. {@code "; chinese 1.2, thai n/a"}: the bounds the option does not set. */
  private String byWritingNote() {
    StringBuilder sb = new StringBuilder();
    byWriting.forEach(
        (w, t) ->
            sb.append(sb.length() == 0 ? "; " : ", ")
                .append(w.label())
                .append(' ')
                .append(
                    Double.isNaN(t)
                        ? "n/a"
                        : t == Math.rint(t) ? Long.toString(t.longValue()) : t.toString()));
    return sb.toString();
  }

  /**
   * This filter with another threshold for spaced text; the bounds of the writing systems that have
   * their own stay.
   */
  public QualityFilter withThreshold(double value) {
    return new QualityFilter(name, signal, bound, value, byWriting, description);
  }
}
