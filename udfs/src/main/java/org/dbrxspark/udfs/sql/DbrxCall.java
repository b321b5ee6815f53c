package org.dbrxspark.udfs.sql;

import java.io.Serializable;
import java.util.Objects;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.Unevaluable;
import org.apache.spark.sql.catalyst.expressions.codegen.CodegenContext;
import org.apache.spark.sql.catalyst.expressions.codegen.ExprCode;
import org.apache.spark.sql.types.DataType;
import scala.Function1;
import scala.Function2;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;

/**
 * A call of a model-backed SQL function ({@code dbrx_generate}, {@code dbrx_chat}, {@code
 * dbrx_score}, {@code dbrx_embed}) in a query plan; its children are the SQL arguments.
 *
 * <p>Like Spark's {@code PythonUDF} it is {@link Unevaluable} where it stands: {@link
 * ExtractDbrxCalls} moves it out of its Project or Filter into a {@link BatchEvalDbrx} node,
 * evaluated a partition's chunk at a time. Being unevaluable also keeps the optimizer from folding
 * it into a local relation on the driver. A call left anywhere else (an aggregate, a join
 * condition, a lambda) becomes its {@link #rowAtATime} form.
 *
 * <p>Java has no case classes: the Product methods, equality and {@link #withNewChildrenInternal}
 * are written out. Equal calls (same function, options and arguments) are one computation.
 */
public final class DbrxCall extends Expression implements Unevaluable, Serializable {
  private static final long serialVersionUID = 1L;

  private final ModelFunction<?> function;
  private final Seq<Expression> arguments;

  public DbrxCall(ModelFunction<?> function, Seq<Expression> arguments) {
    this.function = function;
    this.arguments = arguments;
  }

  ModelFunction<?> function() {
    return function;
  }

  /** The same call as a scalar UDF: one model call per row, for places no batch can be planned. */
  Expression rowAtATime() {
    Object udf =
        arguments.size() == 1
            ? (Function1<Object, Object> & Serializable) a -> function.runOne(a)
            : (Function2<Object, Object, Object> & Serializable) (a, b) -> function.runOne(a, b);
    return DbrxFunctions.scalaUdf(function.name(), udf, dataType(), arguments);
  }

  @Override
  public Seq<Expression> children() {
    return arguments;
  }

  @Override
  public Expression withNewChildrenInternal(IndexedSeq<Expression> newChildren) {
    return new DbrxCall(function, newChildren);
  }

  @Override
  public DataType dataType() {
    return function.resultType();
  }

  @Override
  public boolean nullable() {
    return true;
  }

  @Override
  public boolean foldable() {
    return false;
  }

  @Override
  public String prettyName() {
    return function.name();
  }

  /** For EXPLAIN: the name and arguments, not the function object. */
  @Override
  public String toString() {
    return function.name() + arguments.mkString("(", ", ", ")");
  }

  // Unevaluable: Java must restate what Expression declares abstract.
  @Override
  public Object eval(InternalRow input) {
    throw unevaluable();
  }

  @Override
  public ExprCode doGenCode(CodegenContext ctx, ExprCode ev) {
    throw unevaluable();
  }

  private UnsupportedOperationException unevaluable() {
    return new UnsupportedOperationException(
        this + " is evaluated by a BatchEvalDbrx node, not in place");
  }

  @Override
  public int productArity() {
    return 2;
  }

  @Override
  public Object productElement(int n) {
    return switch (n) {
      case 0 -> function;
      case 1 -> arguments;
      default -> throw new IndexOutOfBoundsException(n);
    };
  }

  @Override
  public boolean canEqual(Object that) {
    return that instanceof DbrxCall;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof DbrxCall c && function.equals(c.function) && arguments.equals(c.arguments);
  }

  @Override
  public int hashCode() {
    return Objects.hash(function, arguments);
  }
}
