package org.dbrxspark.udfs.sql;

import java.util.List;
import org.apache.spark.sql.SparkSessionExtensions;
import org.apache.spark.sql.catalyst.FunctionIdentifier;
import org.apache.spark.sql.catalyst.expressions.ExpressionInfo;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.SparkStrategy;
import scala.Tuple3;
import scala.collection.immutable.Seq;
import scala.runtime.AbstractFunction1;
import scala.runtime.BoxedUnit;

/**
 * The DBRX SQL functions as a Spark session extension, for {@code
 * spark.sql.extensions=org.dbrxspark.udfs.sql.DbrxExtensions} (PySpark included): registers every
 * {@code dbrx_*} function, reading its options from the {@code spark.dbrx.*} settings, and installs
 * the batched planning of the model-backed ones: {@link ExtractDbrxCalls} (pre-CBO) and {@link
 * #PLANNER}. {@link DbrxFunctions#register} installs the same rule and strategy into a running
 * session.
 */
public final class DbrxExtensions extends AbstractFunction1<SparkSessionExtensions, BoxedUnit> {

  /** Stateless: one instance serves every session. */
  static final ExtractDbrxCalls RULE = new ExtractDbrxCalls();

  /** Plans {@link BatchEvalDbrx} as {@link BatchEvalDbrxExec}. */
  static final SparkStrategy PLANNER =
      new SparkStrategy() {
        @Override
        public Seq<SparkPlan> apply(LogicalPlan plan) {
          List<SparkPlan> planned =
              plan instanceof BatchEvalDbrx b
                  ? List.of(new BatchEvalDbrxExec(b.call(), b.result(), planLater(b.child())))
                  : List.of();
          return Seqs.of(planned);
        }
      };

  @Override
  public BoxedUnit apply(SparkSessionExtensions extensions) {
    extensions.injectPreCBORule(session -> RULE);
    extensions.injectPlannerStrategy(session -> PLANNER);
    DbrxFunctions.builders(null, null)
        .forEach(
            (name, builder) ->
                extensions.injectFunction(
                    new Tuple3<>(
                        FunctionIdentifier.apply(name),
                        new ExpressionInfo(DbrxExtensions.class.getName(), name),
                        builder)));
    return BoxedUnit.UNIT;
  }
}
