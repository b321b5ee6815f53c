package org.dbrxspark.udfs.sql;

import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.CatalystTypeConverters;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.JoinedRow;
import org.apache.spark.sql.catalyst.expressions.MutableProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.InferenceOp;
import org.dbrxspark.udfs.inference.PartitionRunner;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.ModelSpec;
import scala.Function1;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;

/**
 * Physical {@link BatchEvalDbrx}: per partition, evaluates the call's arguments on each child row
 * and feeds the rows through the function's inference op with the transformers' {@link
 * PartitionRunner} (chunks of {@value PartitionRunner#DEFAULT_CHUNK_ROWS} rows, or fewer once their
 * input tokens reach {@value PartitionRunner#DEFAULT_CHUNK_TOKENS}); emits each child row, in
 * order, with the result struct appended.
 */
public final class BatchEvalDbrxExec extends SparkPlan {
  private static final long serialVersionUID = 1L;

  private final Expression call;
  private final Attribute result;
  private final SparkPlan child;

  public BatchEvalDbrxExec(Expression call, Attribute result, SparkPlan child) {
    this.call = call;
    this.result = result;
    this.child = child;
  }

  @Override
  public RDD<InternalRow> doExecute() {
    ModelFunction<?> function = ((DbrxCall) call).function();
    // The no-argument (PySpark) form has no accumulators of its own: it gets some per query.
    DbrxMetrics metrics =
        function.metrics() != null
            ? function.metrics()
            : DbrxMetrics.register(sparkContext(), "sql");
    DataType[] outputTypes =
        Seqs.asJava(output()).stream().map(Expression::dataType).toArray(DataType[]::new);
    return run(child.execute(), child.output(), call.children(), outputTypes, function, metrics);
  }

  /** Static, so that the tasks' closure holds what it needs and not this plan. */
  private static <I> RDD<InternalRow> run(
      RDD<InternalRow> rdd,
      Seq<Attribute> input,
      Seq<Expression> arguments,
      DataType[] outputTypes,
      ModelFunction<I> function,
      DbrxMetrics metrics) {
    PartitionRunner<I, ?, ?> runner = runner(function.op(), function.options().model(), metrics);
    DataType[] argumentTypes =
        Seqs.asJava(arguments).stream().map(Expression::dataType).toArray(DataType[]::new);
    StructType resultType = function.resultType();
    return rdd.toJavaRDD()
        .<InternalRow>mapPartitionsWithIndex(
            (partition, rows) -> {
              MutableProjection evalArguments = MutableProjection.create(arguments, input);
              evalArguments.initialize(partition);
              List<Function1<Object, Object>> toJava =
                  Arrays.stream(argumentTypes)
                      .map(CatalystTypeConverters::createToScalaConverter)
                      .toList();
              Function1<Object, Object> toCatalyst =
                  CatalystTypeConverters.createToCatalystConverter(resultType);
              UnsafeProjection toUnsafe = UnsafeProjection.create(outputTypes);
              JoinedRow joined = new JoinedRow();
              Iterator<InternalRow> copies =
                  new Iterator<>() { // the child may reuse its row object
                    @Override
                    public boolean hasNext() {
                      return rows.hasNext();
                    }

                    @Override
                    public InternalRow next() {
                      return rows.next().copy();
                    }
                  };
              return runner.run(
                  copies,
                  row -> {
                    InternalRow values = evalArguments.apply(row);
                    Object[] args = new Object[argumentTypes.length];
                    for (int i = 0; i < args.length; i++) {
                      args[i] = toJava.get(i).apply(values.get(i, argumentTypes[i]));
                    }
                    return function.input(args);
                  },
                  (row, struct) -> {
                    InternalRow result =
                        new GenericInternalRow(new Object[] {toCatalyst.apply(struct)});
                    return toUnsafe.apply(joined.apply(row, result));
                  });
            },
            true)
        .rdd();
  }

  private static <I, R, O> PartitionRunner<I, R, O> runner(
      InferenceOp<I, R, O> op, ModelSpec model, DbrxMetrics metrics) {
    return new PartitionRunner<>(
        op,
        model,
        PartitionRunner.DEFAULT_CHUNK_ROWS,
        PartitionRunner.DEFAULT_CHUNK_TOKENS,
        metrics);
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
  public Seq<SparkPlan> children() {
    return Seqs.of(List.of(child));
  }

  @Override
  public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
    return new BatchEvalDbrxExec(call, result, newChildren.head());
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
    return that instanceof BatchEvalDbrxExec;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BatchEvalDbrxExec b
        && call.equals(b.call)
        && result.equals(b.result)
        && child.equals(b.child);
  }

  @Override
  public int hashCode() {
    return Objects.hash(call, result, child);
  }
}
