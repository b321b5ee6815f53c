package org.dbrxspark.udfs.inference;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.util.TaskCompletionListener;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * Runs an inference op over a partition in chunks: reads up to {@code chunkRows} rows (or until
 * their input tokens reach {@code chunkTokens}), calls the runtime once for the chunk, and emits
 * each input row with its result, in input order. Only one chunk is held at a time.
 *
 * <p>The one batching path of the ML transformers (rows are {@link Row}s) and the SQL functions'
 * planned operator (rows are Catalyst's internal rows).
 */
public final class PartitionRunner<I, R, O> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Rows per runtime call, unless a transformer's {@code chunkRows} says otherwise. */
  public static final int DEFAULT_CHUNK_ROWS = 128;

  /**
   * Input tokens after which a chunk takes no more rows, unless {@code chunkTokens} says otherwise.
   */
  public static final int DEFAULT_CHUNK_TOKENS = 65536;

  private final InferenceOp<I, R, O> op;
  private final ModelSpec model;
  private final int chunkRows;
  private final long chunkTokens;
  private final DbrxMetrics metrics;

  public PartitionRunner(
      InferenceOp<I, R, O> op,
      ModelSpec model,
      int chunkRows,
      long chunkTokens,
      DbrxMetrics metrics) {
    this.op = op;
    this.model = model;
    this.chunkRows = chunkRows;
    this.chunkTokens = chunkTokens;
    this.metrics = metrics;
  }

  /**
   * The partition's rows, each emitted with its result struct; lazy, a chunk at a time. The rows of
   * a chunk are held until it is emitted: a caller whose iterator reuses row objects passes copies.
   *
   * @param reader a row's input; a row it fails on gets that failure as its result's error
   * @param emit the output row of an input row and its result
   */
  public <T, U> Iterator<U> run(
      Iterator<T> input, Function<T, I> reader, BiFunction<T, Row, U> emit) {
    if (!input.hasNext()) {
      return Collections.emptyIterator();
    }
    DbrxRuntime runtime = null;
    if (op.needsModel()) {
      // Fails the task, once, with the location and cause when the model cannot be loaded.
      LoadedModel lease = ModelRegistry.acquire(model, DeviceSelection.forCurrentTask());
      metrics.recordModelLoad(lease.loadMillis());
      TaskContext task = TaskContext.get();
      if (task != null) {
        task.addTaskCompletionListener((TaskCompletionListener) ctx -> lease.close());
      }
      runtime = lease.runtime();
    }
    DbrxRuntime loaded = runtime;
    return new Iterator<>() {
      private Iterator<U> chunk = Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!chunk.hasNext() && input.hasNext()) {
          chunk = nextChunk(input, reader, emit, loaded);
        }
        return chunk.hasNext();
      }

      @Override
      public U next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return chunk.next();
      }
    };
  }

  private <T, U> Iterator<U> nextChunk(
      Iterator<T> input, Function<T, I> reader, BiFunction<T, Row, U> emit, DbrxRuntime runtime) {
    List<T> rows = new ArrayList<>();
    List<Prepared<R>> prepared = new ArrayList<>();
    long tokens = 0;
    while (input.hasNext() && rows.size() < chunkRows && tokens < chunkTokens) {
      T row = input.next();
      Prepared<R> p;
      try {
        p = op.prepare(reader.apply(row));
      } catch (RuntimeException e) {
        // A malformed row (say, a chat message with a null role) is that row's error only.
        p = Prepared.failed(InferenceOp.message(e), 0);
      }
      rows.add(row);
      prepared.add(p);
      tokens += p.tokens();
    }
    long start = System.nanoTime();
    BatchCounts counts = new BatchCounts();
    List<Row> results = op.run(runtime, prepared, counts);
    metrics.recordBatch(counts, System.nanoTime() - start);
    // Emitted as consumed: an emit that reuses its output object (Catalyst's projections) stays
    // correct.
    return IntStream.range(0, rows.size())
        .mapToObj(i -> emit.apply(rows.get(i), results.get(i)))
        .iterator();
  }
}
