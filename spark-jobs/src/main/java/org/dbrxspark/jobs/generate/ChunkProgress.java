package org.dbrxspark.jobs.generate;

import static org.apache.spark.sql.functions.aggregate;
import static org.apache.spark.sql.functions.coalesce;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.runtime.model.KvBlockPool;
import org.dbrxspark.udfs.metrics.DbrxMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Progress of one generate run: counts of the chunks it committed, and one log line per chunk with
 * the rows done out of the whole input, tokens/s over this run and the time left at that rate.
 */
final class ChunkProgress {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkProgress.class);

  /**
   * What one chunk wrote: rows, their prompt and generated tokens, rows whose result is an error,
   * and rows whose text is incomplete (cut off by --max-new-tokens, or not matching
   * --response-format).
   */
  record Counts(long rows, long promptTokens, long generatedTokens, long errors, long incomplete) {
    /**
     * Counts the rows of a generated chunk, whose results are in struct column {@code resultCol}.
     */
    static Counts of(Dataset<Row> generated, String resultCol) {
      String r = Columns.quote(resultCol) + ".";
      Row row =
          generated
              .agg(
                  count(lit(1)),
                  sum(col(r + "prompt_tokens")),
                  // Every sample's tokens; rows without samples (n = 1) have their own count.
                  sum(
                      coalesce(
                          aggregate(
                              col(r + "samples"),
                              lit(0L),
                              (total, s) -> total.plus(s.getField("completion_tokens"))),
                          col(r + "completion_tokens"))),
                  count(col(r + "error")),
                  count(when(col(r + "incomplete"), 1)))
              .first();
      return new Counts(
          row.getLong(0),
          row.isNullAt(1) ? 0 : row.getLong(1),
          row.isNullAt(2) ? 0 : row.getLong(2),
          row.getLong(3),
          row.getLong(4));
    }
  }

  private final long total;
  private final long doneBefore;
  private final int chunks;
  private final long started = System.nanoTime();
  private long rows;
  private long promptTokens;
  private long generatedTokens;
  private long errors;
  private long incomplete;
  private int committed;
  private long prefixCacheHits;
  private long prefixCacheMisses;
  private long prefixCacheEvictions;

  /**
   * @param total rows of the input
   * @param doneBefore input rows already in the output when the run started
   * @param chunks chunks this run plans to commit
   */
  ChunkProgress(long total, long doneBefore, int chunks) {
    this.total = total;
    this.doneBefore = doneBefore;
    this.chunks = chunks;
  }

  /**
   * Records chunk {@code chunk} (0-based), committed as table version {@code version}, with the
   * metrics of the transform that generated it, and logs a line.
   */
  void committed(int chunk, long version, Counts c, DbrxMetrics metrics) {
    committed++;
    prefixCacheHits += metrics.prefixCacheHitBlocks();
    prefixCacheMisses += metrics.prefixCacheMissBlocks();
    prefixCacheEvictions += metrics.prefixCacheEvictedBlocks();
    rows += c.rows();
    promptTokens += c.promptTokens();
    generatedTokens += c.generatedTokens();
    errors += c.errors();
    incomplete += c.incomplete();
    double seconds = seconds();
    long done = doneBefore + rows;
    long left = total - done;
    String eta = rows == 0 ? "unknown" : duration(left * seconds / rows);
    LOG.info(
        String.format(
            Locale.ROOT,
            "generate: chunk %d of %d committed as version %d: %,d of %,d rows done "
                + "(%.1f%%), %,d errors; this run %,d generated tokens, %.1f tokens/s (%.1f with prompts); ETA %s",
            chunk + 1,
            chunks,
            version,
            done,
            total,
            100.0 * done / Math.max(1, total),
            errors,
            generatedTokens,
            generatedTokens / seconds,
            (generatedTokens + promptTokens) / seconds,
            eta));
  }

  static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s < 60) {
      return s + " s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d h %02d min", s / 3600, s % 3600 / 60);
  }

  /** Seconds since the run started. */
  double seconds() {
    return Math.max(1e-9, (System.nanoTime() - started) / 1e9);
  }

  long rows() {
    return rows;
  }

  long promptTokens() {
    return promptTokens;
  }

  long generatedTokens() {
    return generatedTokens;
  }

  long errors() {
    return errors;
  }

  long incomplete() {
    return incomplete;
  }

  int committed() {
    return committed;
  }

  /** The prefix cache's hits, misses and evictions over the committed chunks, for the summary. */
  String prefixCacheLine(boolean on) {
    if (!on) {
      return "off (--prefix-caching false)";
    }
    long lookedUp = prefixCacheHits + prefixCacheMisses;
    return String.format(
        Locale.ROOT,
        "%,d of %,d prompt blocks found (%.1f%%), %,d computed, %,d evicted "
            + "(blocks of %d tokens)",
        prefixCacheHits,
        lookedUp,
        100.0 * prefixCacheHits / Math.max(1, lookedUp),
        prefixCacheMisses,
        prefixCacheEvictions,
        KvBlockPool.BLOCK_TOKENS);
  }
}
