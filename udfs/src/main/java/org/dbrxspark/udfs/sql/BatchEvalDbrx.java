package org.dbrxspark.udfs.sql;

import java.util.List;
import java.util.Objects;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;

/**
 * Logical node: the child's rows with one {@link DbrxCall}'s result appended as {@code result} (the
 * analogue of Spark's {@code BatchEvalPython}). Planned as {@link BatchEvalDbrxExec}.
 *
 * <p>The fields are the Product elements, in the public constructor's order: Catalyst copies nodes
 * by reflection on it when it rewrites their expressions.
 */
public final class BatchEvalDbrx extends LogicalPlan {
  private static final long serialVersionUID = 1L;

  private final Expression call;
  private final Attribute result;
  private final LogicalPlan child;

  public BatchEvalDbrx(Expression call, Attribute result, LogicalPlan child) {
    this.call = call;
    this.result = result;
    this.child = child;
  }

  Expression call() {
    return call;
  }

  Attribute result() {
    return result;
  }

  LogicalPlan child() {
    return child;
  }

  @Override
  public Seq<Attribute> output() {
    return Seqs.plus(child.output(), result);
  }

  @Override
  public AttributeSet producedAttributes() {
    return AttributeSet.apply(result);
  }

  @Override
  public Seq<LogicalPlan> children() {
    return Seqs.of(List.of(child));
  }

  @Override
  public LogicalPlan withNewChildrenInternal(IndexedSeq<LogicalPlan> newChildren) {
    return new BatchEvalDbrx(call, result, newChildren.head());
  }

  @Override
  public int productArity() {
    return 3;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> call;
      case 1 -> result;
      case 2 -> child;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object that) {
    return that instanceof BatchEvalDbrx;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BatchEvalDbrx b
        && call.equals(b.call)
        && result.equals(b.result)
        && child.equals(b.child);
  }

  @Override
  public int hashCode() {
    return Objects.hash(call, result, child);
  }
}
