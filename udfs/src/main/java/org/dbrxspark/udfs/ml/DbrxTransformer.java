package org.dbrxspark.udfs.ml;

import java.util.Arrays;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.param.ParamValidators;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.udfs.inference.InferenceOp;
import org.dbrxspark.udfs.inference.PartitionRunner;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.dbrxspark.udfs.registry.ModelSpec;

/**
 * The shared base of the DBRX transformers: input and output columns, chunked batching over
 * partitions, metrics and ML persistence ({@link DefaultParamsWritable}; each transformer has a
 * static {@code load(path)}).
 *
 * <p>{@link #transform} keeps every input column, in order, and appends the output column: a struct
 * whose {@code error} field is set, with the other fields null, for a row that could not be
 * processed. Output rows are in input order.
 *
 * @param <T> the concrete transformer, so that setters chain
 */
public abstract class DbrxTransformer<T extends DbrxTransformer<T>> extends Transformer
    implements DefaultParamsWritable {
  private static final long serialVersionUID = 1L;

  private final String uid;
  private final Param<String> inputCol;
  private final Param<String> outputCol;
  private final IntParam chunkRows;
  private final IntParam chunkTokens;
  private transient DbrxMetrics lastMetrics;

  protected DbrxTransformer(String uid, String defaultInputCol, String defaultOutputCol) {
    this.uid = uid;
    // Params are built after uid is set: a Param records its parent's uid when constructed.
    inputCol = new Param<>(this, "inputCol", "input column (string)");
    outputCol = new Param<>(this, "outputCol", "output column: the result struct");
    chunkRows =
        new IntParam(this, "chunkRows", "most rows per runtime call", ParamValidators.gtEq(1));
    chunkTokens =
        new IntParam(
            this,
            "chunkTokens",
            "a runtime call takes no more rows once their input tokens reach this many",
            ParamValidators.gtEq(1));
    setDefault(inputCol, defaultInputCol);
    setDefault(outputCol, defaultOutputCol);
    setDefault(chunkRows, PartitionRunner.DEFAULT_CHUNK_ROWS);
    setDefault(chunkTokens, PartitionRunner.DEFAULT_CHUNK_TOKENS);
  }

  @Override
  public String uid() {
    return uid;
  }

  @SuppressWarnings("unchecked")
  protected final T self() {
    return (T) this;
  }

  public Param<String> inputCol() {
    return inputCol;
  }

  public String getInputCol() {
    return $(inputCol);
  }

  public T setInputCol(String value) {
    set(inputCol, value);
    return self();
  }

  public Param<String> outputCol() {
    return outputCol;
  }

  public String getOutputCol() {
    return $(outputCol);
  }

  public T setOutputCol(String value) {
    set(outputCol, value);
    return self();
  }

  public IntParam chunkRows() {
    return chunkRows;
  }

  public int getChunkRows() {
    return (Integer) $(chunkRows);
  }

  /** Most rows read from a partition per runtime call (default 128). */
  public T setChunkRows(int value) {
    set(chunkRows, value);
    return self();
  }

  public IntParam chunkTokens() {
    return chunkTokens;
  }

  public int getChunkTokens() {
    return (Integer) $(chunkTokens);
  }

  /**
   * Input-token budget of a runtime call (default 65536): a chunk stops taking rows once its
   * prompts reach it. Bounds the memory a chunk holds; the engine's per-step budget is separate.
   */
  public T setChunkTokens(int value) {
    set(chunkTokens, value);
    return self();
  }

  /**
   * Metrics of the latest {@link #transform} call on this instance, filled in as actions run on its
   * output; null before the first call.
   */
  public DbrxMetrics lastMetrics() {
    return lastMetrics;
  }

  /** The model to load, or null for a transformer that needs none. */
  protected abstract ModelSpec modelSpec();

  /** The op and the row reader for an input of this schema (already validated). */
  protected abstract Plan<?> plan(StructType schema);

  /** Checks the columns this transformer reads, beyond {@link #inputCol()}. */
  protected abstract void validateColumns(StructType schema);

  /** An op with the reader of its input. */
  protected record Plan<I>(InferenceOp<I, ?, ?> op, RowReader<I> reader) {}

  /** Checks the input columns and returns the schema with the result struct appended. */
  @Override
  public StructType transformSchema(StructType schema) {
    validateColumns(schema);
    if (Arrays.asList(schema.fieldNames()).contains(getOutputCol())) {
      throw new IllegalArgumentException(
          "outputCol: column '" + getOutputCol() + "' already exists");
    }
    return schema.add(getOutputCol(), plan(schema).op().resultType(), false);
  }

  @Override
  public Dataset<Row> transform(Dataset<?> dataset) {
    StructType output = transformSchema(dataset.schema(), true);
    Dataset<Row> df = dataset.toDF();
    Plan<?> plan = plan(df.schema());
    lastMetrics = DbrxMetrics.register(df.sparkSession().sparkContext(), plan.op().name());
    return df.mapPartitions(partitions(plan, lastMetrics), Encoders.row(output));
  }

  private <I> MapPartitionsFunction<Row, Row> partitions(Plan<I> plan, DbrxMetrics metrics) {
    PartitionRunner<I, ?, ?> runner = runner(plan.op(), metrics);
    RowReader<I> reader = plan.reader();
    return rows -> runner.run(rows, reader::read, DbrxTransformer::append);
  }

  private <I, R, O> PartitionRunner<I, R, O> runner(InferenceOp<I, R, O> op, DbrxMetrics metrics) {
    return new PartitionRunner<>(op, modelSpec(), getChunkRows(), getChunkTokens(), metrics);
  }

  /** The input row with its result struct appended. */
  private static Row append(Row row, Row result) {
    Object[] values = new Object[row.length() + 1];
    for (int c = 0; c < row.length(); c++) {
      values[c] = row.get(c);
    }
    values[row.length()] = result;
    return RowFactory.create(values);
  }

  @Override
  public T copy(ParamMap extra) {
    return defaultCopy(extra);
  }

  /** Index of a column, for readers built on the driver. */
  protected static int index(StructType schema, String column) {
    return schema.fieldIndex(column);
  }
}
