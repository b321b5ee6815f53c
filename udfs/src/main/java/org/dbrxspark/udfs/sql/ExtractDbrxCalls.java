package org.dbrxspark.udfs.sql;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.catalyst.expressions.And;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeReference;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.expressions.NamedLambdaVariable;
import org.apache.spark.sql.catalyst.plans.logical.Filter;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.catalyst.rules.Rule;
import org.apache.spark.sql.types.Metadata;

/**
 * Optimizer rule, the analogue of Spark's {@code ExtractPythonUDFs}: moves each {@link DbrxCall} of
 * a Project or Filter into a {@link BatchEvalDbrx} node under it and puts the node's result
 * attribute in its place. Equal calls share one node, so a call is evaluated once per row however
 * often the query names it. A call whose arguments hold another call waits until the inner one has
 * its node; a call that cannot move (it reads a lambda variable, or sits in any other operator)
 * becomes its row-at-a-time form. Runs late (pre-CBO, or with the session's extra optimizations),
 * after filters have been pushed down, and is idempotent.
 */
public final class ExtractDbrxCalls extends Rule<LogicalPlan> {
  private static final long serialVersionUID = 1L;

  @Override
  public LogicalPlan apply(LogicalPlan plan) {
    LogicalPlan p = plan.mapChildren(this::apply);
    if (p instanceof BatchEvalDbrx) {
      return p;
    }
    if (p instanceof Project project) {
      // NamedExpression is a Scala trait: to Java, an interface unrelated to Expression.
      Extracted e =
          extract(
              Seqs.asJava(project.projectList()).stream().map(x -> (Expression) x).toList(),
              project.child());
      if (e != null) {
        p =
            new Project(
                Seqs.of(e.expressions().stream().map(x -> (NamedExpression) x).toList()),
                e.child());
      }
    } else if (p instanceof Filter filter) {
      // Conditions without a call filter first, so that the model sees only the rows they keep.
      List<Expression> conjuncts = new ArrayList<>();
      split(filter.condition(), conjuncts);
      boolean reorder = filter.condition().deterministic();
      List<Expression> first = conjuncts.stream().filter(c -> reorder && !hasCall(c)).toList();
      List<Expression> then = conjuncts.stream().filter(c -> !first.contains(c)).toList();
      LogicalPlan below = first.isEmpty() ? filter.child() : new Filter(and(first), filter.child());
      Extracted e = then.isEmpty() ? null : extract(List.of(and(then)), below);
      if (e != null) {
        // The Project drops the results again: a Filter's output is its child's.
        p =
            new Project(
                Seqs.of(Seqs.<NamedExpression>asJava(filter.child().output())),
                new Filter(e.expressions().get(0), e.child()));
      }
    }
    return p.mapExpressions(ExtractDbrxCalls::rowAtATime);
  }

  private record Extracted(List<Expression> expressions, LogicalPlan child) {}

  /** Stacks a node per distinct ready call over {@code child}, inner calls first; null if none. */
  private static Extracted extract(List<Expression> expressions, LogicalPlan child) {
    Extracted out = null;
    while (true) {
      List<DbrxCall> ready = new ArrayList<>();
      AttributeSet input = child.outputSet();
      expressions.forEach(e -> collectReady(e, input, ready));
      if (ready.isEmpty()) {
        return out;
      }
      Map<Expression, Attribute> results = new LinkedHashMap<>();
      for (DbrxCall call : ready) {
        if (!results.containsKey(call.canonicalized())) {
          Attribute result =
              new AttributeReference(
                  call.prettyName(),
                  call.dataType(),
                  true,
                  Metadata.empty(),
                  NamedExpression.newExprId(),
                  Seqs.of(List.of()));
          results.put(call.canonicalized(), result);
          child = new BatchEvalDbrx(call, result, child);
        }
      }
      expressions = expressions.stream().map(e -> replace(e, results)).toList();
      out = new Extracted(expressions, child);
    }
  }

  private static boolean hasCall(Expression e) {
    return e.exists(x -> x instanceof DbrxCall);
  }

  private static void split(Expression condition, List<Expression> conjuncts) {
    if (condition instanceof And and) {
      split(and.left(), conjuncts);
      split(and.right(), conjuncts);
    } else {
      conjuncts.add(condition);
    }
  }

  private static Expression and(List<Expression> conjuncts) {
    return conjuncts.stream().reduce(And::new).orElseThrow();
  }

  /** Calls over {@code input} with no call in their arguments and no lambda variable. */
  private static void collectReady(Expression e, AttributeSet input, List<DbrxCall> out) {
    if (e instanceof DbrxCall call
        && !call.children()
            .exists(c -> hasCall(c) || c.exists(x -> x instanceof NamedLambdaVariable))
        && call.references().subsetOf(input)) {
      out.add(call);
    } else {
      e.children()
          .foreach(
              c -> {
                collectReady(c, input, out);
                return null;
              });
    }
  }

  private static Expression replace(Expression e, Map<Expression, Attribute> results) {
    if (e instanceof DbrxCall) {
      Attribute result = results.get(e.canonicalized());
      if (result != null) {
        return result;
      }
    }
    return e.mapChildren(c -> replace(c, results));
  }

  private static Expression rowAtATime(Expression e) {
    return e instanceof DbrxCall call
        ? call.rowAtATime().mapChildren(ExtractDbrxCalls::rowAtATime)
        : e.mapChildren(ExtractDbrxCalls::rowAtATime);
  }
}
