package org.dbrxspark.udfs;

import static org.apache.spark.sql.functions.udf;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.types.DataTypes;

/**
 * Fails the first attempt of every task after one row has passed, so that a test can show that
 * Spark's retry gives the same rows. Used as a filter on a column the transformer computed, so the
 * failure comes after the model ran and Spark cannot prune it away; {@link #injected()} says how
 * many attempts it failed, which a test asserts before trusting the comparison. Local mode only:
 * the counts live in this JVM.
 */
public final class FirstAttemptFailures {
  private static final AtomicInteger INJECTED = new AtomicInteger();
  private static final Map<Long, AtomicInteger> ROWS_PER_ATTEMPT = new ConcurrentHashMap<>();

  private FirstAttemptFailures() {}

  /** A condition that is true for every row of {@code computed}, and fails first attempts. */
  public static Column passEveryRow(Column computed) {
    return udf(
            (UDF1<Object, Boolean>)
                value -> {
                  TaskContext task = TaskContext.get();
                  if (task.attemptNumber() == 0
                      && ROWS_PER_ATTEMPT
                              .computeIfAbsent(task.taskAttemptId(), k -> new AtomicInteger())
                              .getAndIncrement()
                          == 1) {
                    INJECTED.incrementAndGet();
                    throw new IllegalStateException(
                        "injected failure in a first attempt, after one row");
                  }
                  return true;
                },
            DataTypes.BooleanType)
        .asNondeterministic()
        .apply(computed);
  }

  /** First attempts failed so far in this JVM. */
  public static int injected() {
    return INJECTED.get();
  }
}
