package org.dbrxspark.jobs.core;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Logs progress while a job runs: rows read and written by finished tasks, tokens processed, and
 * the rates since the last line. Counts come from task metrics and accumulator updates, so every
 * stage of every job contributes and no extra pass over the data is needed.
 *
 * <p>Tokens are the updates of the {@code dbrx.*_tokens} accumulators that the udfs transformers
 * keep ({@link DbrxMetrics}); a stage that Spark recomputes counts again, as with any accumulator.
 */
public final class ProgressReporter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

  private final SparkSession spark;
  private final String job;
  private final Listener listener = new Listener();
  private final ScheduledExecutorService ticker;
  private final long started = System.nanoTime();
  private long lastRows;
  private long lastTokens;
  private long lastNanos = started;

  private ProgressReporter(SparkSession spark, String job, int intervalSeconds) {
    this.spark = spark;
    this.job = job;
    spark.sparkContext().addSparkListener(listener);
    ticker =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "dbrx-spark-progress");
              t.setDaemon(true);
              return t;
            });
    ticker.scheduleAtFixedRate(this::log, intervalSeconds, intervalSeconds, TimeUnit.SECONDS);
  }

  /** Starts logging every {@code intervalSeconds} seconds until closed. */
  public static ProgressReporter start(SparkSession spark, String job, int intervalSeconds) {
    return new ProgressReporter(spark, job, intervalSeconds);
  }

  private synchronized void log() {
    long now = System.nanoTime();
    long rows = listener.rowsRead.get();
    long tokens = listener.tokens.get();
    double seconds = Math.max(1e-9, (now - lastNanos) / 1e9);
    String tokenPart =
        tokens == 0
            ? ""
            : String.format(", %,d tokens, %.0f tokens/s", tokens, (tokens - lastTokens) / seconds);
    LOG.info(
        String.format(
            "%s: %,d rows read, %,d rows written%s, %,d tasks done, %.0f rows/s, %.0f s elapsed",
            job,
            rows,
            listener.rowsWritten.get(),
            tokenPart,
            listener.tasks.get(),
            (rows - lastRows) / seconds,
            (now - started) / 1e9));
    lastRows = rows;
    lastTokens = tokens;
    lastNanos = now;
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    spark.sparkContext().removeSparkListener(listener);
    log();
  }

  private static final class Listener extends SparkListener {
    final AtomicLong rowsRead = new AtomicLong();
    final AtomicLong rowsWritten = new AtomicLong();
    final AtomicLong tokens = new AtomicLong();
    final AtomicInteger tasks = new AtomicInteger();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      tasks.incrementAndGet();
      if (end.taskMetrics() != null) {
        rowsRead.addAndGet(end.taskMetrics().inputMetrics().recordsRead());
        rowsWritten.addAndGet(end.taskMetrics().outputMetrics().recordsWritten());
      }
      for (AccumulableInfo info : CollectionConverters.asJava(end.taskInfo().accumulables())) {
        if (info.name().isDefined()
            && info.update().isDefined()
            && info.update().get() instanceof Long n
            && info.name().get().startsWith(DbrxMetrics.PREFIX)
            && info.name().get().endsWith("_tokens")) {
          tokens.addAndGet(n);
        }
      }
    }
  }
}
