package org.dbrxspark.udfs.inference;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.runtime.DbrxRuntime;

/**
 * One kind of model call, shared by the ML transformers and the SQL functions (a batch per chunk of
 * a partition, through {@link PartitionRunner}; a batch of one row where a SQL call cannot be
 * batched): how an input becomes a runtime request, and how a batch of requests becomes result
 * structs. Built on the driver, run on executors.
 *
 * <p>Row failures are data: an input that cannot be encoded, and a request the runtime rejects,
 * both give a result whose {@code error} is set and whose other fields are null (the generator's
 * {@code finish_reason} is {@code error}); the rest of the batch is unaffected.
 *
 * @param <I> the input of one row
 * @param <R> the runtime request
 * @param <O> the runtime result
 */
public abstract class InferenceOp<I, R, O> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Short name for logs and metrics: generate, score, embed, tokenize. */
  public abstract String name();

  /** The type of the result struct. */
  public abstract StructType resultType();

  /** Whether {@link #run} needs a loaded model (the tokenizer does not). */
  public boolean needsModel() {
    return true;
  }

  /** Encodes one input; any failure becomes the returned value's error. */
  public final Prepared<R> prepare(I input) {
    try {
      return encode(input);
    } catch (RuntimeException e) {
      return Prepared.failed(message(e), 0);
    }
  }

  /**
   * Runs a batch, returning one result struct per item in order.
   *
   * <p>Model calls run on a thread of this JVM's inference pool while the calling (task) thread
   * waits. Spark interrupts task threads when it cancels a job or kills a speculative attempt; a
   * batch in the engine cannot stop halfway, so the interrupted caller stops waiting at once and
   * its task ends, while the abandoned batch finishes on the pool and is dropped.
   *
   * @param runtime the loaded model, or null when {@link #needsModel()} is false
   */
  public final List<Row> run(DbrxRuntime runtime, List<Prepared<R>> batch, BatchCounts counts) {
    if (!needsModel()) {
      return runHere(runtime, batch, counts);
    }
    Future<List<Row>> result = POOL.submit(() -> runHere(runtime, batch, counts));
    try {
      return result.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while waiting for a " + name() + " batch");
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    }
  }

  /** Daemon threads that make the model calls, out of reach of Spark's task interrupts. */
  private static final ExecutorService POOL =
      Executors.newCachedThreadPool(
          task -> {
            Thread t = new Thread(task, "dbrx-inference");
            t.setDaemon(true);
            return t;
          });

  private List<Row> runHere(DbrxRuntime runtime, List<Prepared<R>> batch, BatchCounts counts) {
    int errorField = resultType().fieldIndex("error");
    List<R> requests = new ArrayList<>();
    for (Prepared<R> p : batch) {
      if (p.error() == null) {
        requests.add(p.request());
      }
    }
    List<O> outputs = requests.isEmpty() ? List.of() : execute(runtime, requests, counts);
    List<Row> rows = new ArrayList<>(batch.size());
    int next = 0;
    for (Prepared<R> p : batch) {
      counts.rows++;
      Row row;
      if (p.error() != null) {
        row = errorRow(p.error(), p.tokens());
      } else {
        row = resultRow(outputs.get(next++), counts);
      }
      if (row.isNullAt(errorField)) {
        counts.promptTokens += p.tokens();
      } else {
        counts.errors++;
      }
      rows.add(row);
    }
    return rows;
  }

  /** Encodes one input; may throw, {@link #prepare} turns that into the row's error. */
  protected abstract Prepared<R> encode(I input);

  /**
   * Runs valid requests through the runtime; outputs in request order. May add to {@code counts}.
   */
  protected abstract List<O> execute(DbrxRuntime runtime, List<R> requests, BatchCounts counts);

  /** The result struct of one output (which may itself carry a runtime error). */
  protected abstract Row resultRow(O output, BatchCounts counts);

  /** The result struct of a row that failed before reaching the runtime. */
  protected abstract Row errorRow(String error, int tokens);

  static String message(Throwable e) {
    return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
  }
}
