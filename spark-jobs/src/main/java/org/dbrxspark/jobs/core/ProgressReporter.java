package org.dbrxspark.jobs.core;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs progress while a job runs: rows read and written by finished tasks and the rate since the
 * last line. Counts come from task metrics, so every stage of every job contributes and no extra
 * pass over the data is needed.
 */
public final class ProgressReporter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ProgressReporter.class);

    private final SparkSession spark;
    private final String job;
    private final Listener listener = new Listener();
    private final ScheduledExecutorService ticker;
    private final long started = System.nanoTime();
    private long lastRows;
    private long lastNanos = started;

    private ProgressReporter(SparkSession spark, String job, int intervalSeconds) {
        this.spark = spark;
        this.job = job;
        spark.sparkContext().addSparkListener(listener);
        ticker = Executors.newSingleThreadScheduledExecutor(r -> {
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
        double rate = (rows - lastRows) / Math.max(1e-9, (now - lastNanos) / 1e9);
        LOG.info(String.format("%s: %,d rows read, %,d rows written, %,d tasks done, %.0f rows/s, %.0f s elapsed",
            job, rows, listener.rowsWritten.get(), listener.tasks.get(), rate, (now - started) / 1e9));
        lastRows = rows;
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
        final AtomicInteger tasks = new AtomicInteger();

        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
            tasks.incrementAndGet();
            if (end.taskMetrics() != null) {
                rowsRead.addAndGet(end.taskMetrics().inputMetrics().recordsRead());
                rowsWritten.addAndGet(end.taskMetrics().outputMetrics().recordsWritten());
            }
        }
    }
}
