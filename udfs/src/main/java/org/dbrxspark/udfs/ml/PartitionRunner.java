package org.dbrxspark.udfs.ml;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.udfs.device.DeviceSelection;
import org.dbrxspark.udfs.inference.BatchCounts;
import org.dbrxspark.udfs.inference.InferenceOp;
import org.dbrxspark.udfs.inference.Prepared;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.LoadedModel;
import org.dbrxspark.udfs.registry.ModelRegistry;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * Runs an inference op over a partition in chunks: reads up to {@code chunkRows} rows (or until
 * their input tokens reach {@code chunkTokens}), calls the runtime once for the chunk, and emits
 * each input row with its result appended, in input order. Only one chunk is held at a time.
 */
final class PartitionRunner<I, R, O> implements MapPartitionsFunction<Row, Row> {
  private static final long serialVersionUID = 1L;

  private final InferenceOp<I, R, O> op;
  private final RowReader<I> reader;
  private final ModelSpec model;
  private final int chunkRows;
  private final long chunkTokens;
  private final DbrxMetrics metrics;

  PartitionRunner(InferenceOp<I, R, O> op, RowReader<I> reader, ModelSpec model, int chunkRows,
      long chunkTokens, DbrxMetrics metrics) {
    this.op = op;
    this.reader = reader;
    this.model = model;
    this.chunkRows = chunkRows;
    this.chunkTokens = chunkTokens;
    this.metrics = metrics;
  }

  @Override
  public Iterator<Row> call(Iterator<Row> input) {
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
      private Iterator<Row> chunk = Collections.emptyIterator();

      @Override
      public boolean hasNext() {
        while (!chunk.hasNext() && input.hasNext()) {
          chunk = nextChunk(input, loaded);
        }
        return chunk.hasNext();
      }

      @Override
      public Row next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        return chunk.next();
      }
    };
  }

  private Iterator<Row> nextChunk(Iterator<Row> input, DbrxRuntime runtime) {
    List<Row> rows = new ArrayList<>();
    List<Prepared<R>> prepared = new ArrayList<>();
    long tokens = 0;
    while (input.hasNext() && rows.size() < chunkRows && tokens < chunkTokens) {
      Row row = input.next();
      Prepared<R> p;
      try {
        p = op.prepare(reader.read(row));
      } catch (RuntimeException e) {
        // A malformed row (say, a chat message with a null role) is that row's error only.
        p = new Prepared<>(null, 0, e.getMessage() == null ? e.toString() : e.getMessage());
      }
      rows.add(row);
      prepared.add(p);
      tokens += p.tokens();
    }
    long start = System.nanoTime();
    BatchCounts counts = new BatchCounts();
    List<Row> results = op.run(runtime, prepared, counts);
    metrics.recordBatch(counts, System.nanoTime() - start);
    List<Row> out = new ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
      Row row = rows.get(i);
      Object[] values = new Object[row.length() + 1];
      for (int c = 0; c < row.length(); c++) {
        values[c] = row.get(c);
      }
      values[row.length()] = results.get(i);
      out.add(RowFactory.create(values));
    }
    return out.iterator();
  }
}
