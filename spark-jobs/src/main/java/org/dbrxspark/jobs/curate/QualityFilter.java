package org.dbrxspark.jobs.curate;

import java.io.Serializable;
import java.util.Optional;
import org.dbrxspark.jobs.cli.OptionSpec;

/**
 * One filter: a name (also its option and its reason in the rejects table), the signal it reads,
 * whether the threshold is a lower or upper bound, and the threshold.
 *
 * @param threshold the bound; a document fails when its signal is outside it
 */
public record QualityFilter(
    String name, Signal signal, Bound bound, double threshold, String description)
    implements Serializable {

  /** Which side of the threshold a document must be on. */
  public enum Bound {
    /** Fail when the signal is below the threshold. */
    MIN,
    /** Fail when the signal is above the threshold. */
    MAX
  }

  /** Whether {@code value} fails this filter; NaN (not applicable) never fails. */
  public boolean fails(double value) {
    if (Double.isNaN(value)) {
      return false;
    }
    return bound == Bound.MIN ? value < threshold : value > threshold;
  }

  /** The option that re-tunes ({@code --NAME 0.5}) or disables ({@code --NAME off}) this filter. */
  public OptionSpec<Optional<Double>> option() {
    return OptionSpec.threshold(
        name,
        threshold,
        0,
        Double.MAX_VALUE,
        description + " [" + (bound == Bound.MIN ? "min " : "max ") + signal.field() + "]");
  }

  /** This filter with another threshold. */
  public QualityFilter withThreshold(double value) {
    return new QualityFilter(name, signal, bound, value, description);
  }
}
