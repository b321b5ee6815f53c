package org.dbrxspark.jobs.dedup;

import static org.apache.spark.sql.functions.array_contains;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.countDistinct;
import static org.apache.spark.sql.functions.explode;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.sum;
import static org.apache.spark.sql.functions.when;

import io.delta.tables.DeltaTable;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.cli.UsageException;
import org.dbrxspark.jobs.core.Histograms;
import org.dbrxspark.jobs.core.Job;
import org.dbrxspark.jobs.core.JobSummary;
import org.dbrxspark.jobs.core.Partitions;
import org.dbrxspark.jobs.core.Rejects;
import org.dbrxspark.jobs.core.RunTables;
import org.dbrxspark.jobs.io.Columns;
import org.dbrxspark.jobs.io.DeltaTables;
import org.dbrxspark.jobs.io.DocumentReader;
import org.dbrxspark.jobs.io.Documents;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.jobs.text.Spans;

/**
 * {@code dedup}: exact and MinHash-LSH near-duplicate removal with connected components, optionally
 * incremental against a Delta index of the signatures of documents kept before.
 */
public final class DedupJob implements Job {
  /** Why a row was rejected (array of string), as in curate's rejects. */
  public static final String REASONS = Rejects.REASONS;

  public static final OptionSpec<String> OUTPUT =
      OptionSpec.path("output", null, "Delta table of kept documents");
  public static final OptionSpec<String> DUPLICATES =
      OptionSpec.path(
          "duplicates-output",
          "",
          "Delta table of removed documents with cluster_id, duplicate_of, similarity; default: <output>_duplicates");
  public static final OptionSpec<String> REJECTS =
      Rejects.option(
          "Delta table of rows that are not documents (null text, input lines that could not be read) with reasons");
  public static final OptionSpec<String> INDEX =
      OptionSpec.path(
          "index",
          "",
          "Delta table of signatures of kept documents: read when it exists (incremental run: this batch is "
              + "deduplicated against it), then updated with this batch's survivors; empty: no index");
  public static final OptionSpec<Double> THRESHOLD =
      OptionSpec.decimal(
          "threshold",
          0.8,
          0.01,
          1,
          "Jaccard similarity of word-shingle sets above which documents are near-duplicates");
  public static final OptionSpec<Integer> NGRAM =
      OptionSpec.integer("ngram", 5, 1, "Words per shingle");
  public static final OptionSpec<Integer> NUM_PERM =
      OptionSpec.integer("num-perm", 128, 2, "MinHash signature length (hash functions)");
  public static final OptionSpec<Integer> BANDS =
      OptionSpec.integer(
          "bands",
          0,
          0,
          "LSH bands; 0 chooses bands and rows from --threshold: with --verify, the fewest candidates that still "
              + "find a pair at the threshold with probability "
              + LshParams.RECALL_AT_THRESHOLD
              + "; without, the fewest "
              + "false positives + negatives");
  public static final OptionSpec<Integer> ROWS =
      OptionSpec.integer("rows", 0, 0, "LSH rows per band; 0 chooses them with --bands");
  public static final OptionSpec<Long> SEED =
      OptionSpec.longValue("seed", "42", Long.MIN_VALUE, "Seed of the MinHash hash family");
  public static final OptionSpec<Boolean> VERIFY =
      OptionSpec.bool(
          "verify",
          true,
          "Keep a candidate pair only if the exact Jaccard similarity of its shingle sets reaches --threshold");
  public static final OptionSpec<Integer> MAX_BUCKET_PAIRS =
      OptionSpec.integer(
          "max-bucket-pairs",
          50,
          2,
          "LSH buckets up to this size pair all members; larger ones link members to the smallest id only");
  public static final OptionSpec<Long> COMPONENTS_IN_ONE_TASK =
      OptionSpec.longValue(
          "components-in-one-task",
          "250000",
          0,
          "Most duplicate edges whose connected components are found in one Spark task (union-find, one "
              + "shuffle; at the default at most about 60 MB of executor heap for 32-character ids); more edges use "
              + "distributed large-star/small-star rounds; 0: always distributed");

  public static final OptionSpec<String> LEVEL =
      OptionSpec.choice(
          "level",
          "document",
          "What is deduplicated: whole documents (exact and near duplicates), or repeated spans "
              + "(boilerplate such as cookie banners and footers) of --span-sentences sentences or of one "
              + "paragraph, removed from every document but the first by id",
          "document",
          "paragraph",
          "sentence");
  public static final OptionSpec<Integer> SPAN_SENTENCES =
      OptionSpec.integer(
          "span-sentences",
          3,
          1,
          "Sentences per span at --level sentence (C4 removes any 3-sentence span seen before)");
  public static final OptionSpec<Integer> SPAN_MIN_WORDS =
      OptionSpec.integer(
          "span-min-words",
          50,
          0,
          "At --level paragraph or sentence, a document that lost spans and keeps fewer words goes to the "
              + "rejects as "
              + SpanDeduplicator.TOO_SHORT
              + " (one with none left as "
              + SpanDeduplicator.EMPTIED
              + ")");

  @Override
  public String name() {
    return "dedup";
  }

  @Override
  public String description() {
    return "Remove exact duplicates (hash of the normalised text) and near-duplicates (MinHash over word "
        + "shingles, LSH banding, optional Jaccard verification, connected components); one survivor per "
        + "cluster: an already indexed document, else the longest text, ties by smallest id. Rows without text "
        + "and input lines that cannot be read go to the rejects table with their reasons. With --level "
        + "paragraph or sentence, removes repeated paragraphs or sentence spans instead (see --level).";
  }

  @Override
  public List<OptionSpec<?>> options() {
    List<OptionSpec<?>> all = new ArrayList<>(ReaderOptions.specs());
    all.addAll(
        List.of(
            OUTPUT,
            DUPLICATES,
            REJECTS,
            INDEX,
            THRESHOLD,
            NGRAM,
            NUM_PERM,
            BANDS,
            ROWS,
            SEED,
            VERIFY,
            MAX_BUCKET_PAIRS,
            COMPONENTS_IN_ONE_TASK,
            LEVEL,
            SPAN_SENTENCES,
            SPAN_MIN_WORDS));
    return all;
  }

  @Override
  public void validate(ParsedOptions o) {
    deduplicator(o);
    if (spanDeduplicator(o) != null && !o.get(INDEX).isBlank()) {
      throw new UsageException(
          "--index keeps documents' signatures; it works at --level document only");
    }
    List<String> paths =
        List.of(o.get(OUTPUT), duplicatesPath(o), Rejects.path(o, OUTPUT, REJECTS), o.get(INDEX));
    if (paths.stream().filter(p -> !p.isBlank()).distinct().count()
        != paths.stream().filter(p -> !p.isBlank()).count()) {
      throw new UsageException(
          "--output, --duplicates-output, --rejects-output and --index must differ");
    }
  }

  /** The deduplicator the options describe. */
  public static Deduplicator deduplicator(ParsedOptions o) {
    int perm = o.get(NUM_PERM);
    int bands = o.get(BANDS);
    int rows = o.get(ROWS);
    if ((bands == 0) != (rows == 0)) {
      throw new UsageException("give both --bands and --rows, or neither");
    }
    LshParams lsh =
        bands > 0
            ? new LshParams(bands, rows)
            : o.get(VERIFY)
                ? LshParams.forRecall(o.get(THRESHOLD), perm, LshParams.RECALL_AT_THRESHOLD)
                : LshParams.optimal(o.get(THRESHOLD), perm);
    if (lsh.bands() * lsh.rows() > perm) {
      throw new UsageException(
          "--bands x --rows (" + lsh.bands() * lsh.rows() + ") exceeds --num-perm " + perm);
    }
    return new Deduplicator(
        new MinHasher(o.get(NGRAM), perm, o.get(SEED), lsh),
        o.get(THRESHOLD),
        o.get(VERIFY),
        o.get(MAX_BUCKET_PAIRS),
        o.get(COMPONENTS_IN_ONE_TASK));
  }

  /** The span deduplicator --level asks for; null at --level document. */
  static SpanDeduplicator spanDeduplicator(ParsedOptions o) {
    return switch (o.get(LEVEL)) {
      case "sentence" ->
          new SpanDeduplicator(Spans.Unit.SENTENCE, o.get(SPAN_SENTENCES), o.get(SPAN_MIN_WORDS));
      case "paragraph" -> new SpanDeduplicator(Spans.Unit.PARAGRAPH, 1, o.get(SPAN_MIN_WORDS));
      default -> null;
    };
  }

  private static String duplicatesPath(ParsedOptions o) {
    String d = o.get(DUPLICATES);
    return d.isBlank() ? DeltaTables.sibling(o.get(OUTPUT), "_duplicates") : d;
  }

  @Override
  public JobSummary run(SparkSession spark, ParsedOptions o) {
    Deduplicator dedup = deduplicator(o);
    Documents read = DocumentReader.readWithErrors(spark, ReaderOptions.from(o));
    Dataset<Row> rows = Partitions.spread(read.rows());
    Dataset<Row> docs = Rejects.documents(rows);
    Dataset<Row> rejected = Rejects.notDocuments(rows);
    SpanDeduplicator spans = spanDeduplicator(o);
    if (spans != null) {
      return runSpans(spark, o, spans, read, rows.count(), docs, rejected);
    }
    Dataset<Row> features = dedup.featurise(docs).persist(StorageLevel.MEMORY_AND_DISK());
    String indexPath = o.get(INDEX);
    Dataset<Row> index = null;
    if (!indexPath.isBlank() && DeltaTables.exists(spark, indexPath)) {
      index = DeltaTables.read(spark, indexPath);
      List<Row> params = index.select(Deduplicator.PARAMS).limit(1).collectAsList();
      String want = dedup.hasher().describe();
      if (!params.isEmpty() && !params.get(0).getString(0).equals(want)) {
        throw new UsageException(
            "--index "
                + indexPath
                + " was built with "
                + params.get(0).getString(0)
                + ", this run uses "
                + want
                + ": pass a new --index (its signatures cannot be compared)");
      }
    }
    try {
      long indexedBefore =
          index == null
              ? 0
              : index.join(features.select(Columns.ID), Columns.ID, "left_anti").count();
      Deduplicator.Result r = dedup.run(docs, features, index);
      String output = o.get(OUTPUT);
      String duplicates = duplicatesPath(o);
      String rejects = Rejects.path(o, OUTPUT, REJECTS);
      try (RunTables tables = RunTables.of(spark, output, duplicates, rejects, indexPath)) {
        long kept = tables.overwrite(r.kept(), output);
        long removed = tables.overwrite(r.duplicates(), duplicates);
        long rejectedRows = tables.overwrite(rejected, rejects);
        if (!indexPath.isBlank()) {
          if (index == null) {
            tables.overwrite(r.newIndexRows(), indexPath);
          } else {
            DeltaTable.forPath(spark, indexPath)
                .as("t")
                .merge(r.newIndexRows().as("s"), "t." + Columns.ID + " = s." + Columns.ID)
                .whenMatched()
                .updateAll()
                .whenNotMatched()
                .insertAll()
                .execute();
          }
        }

        long input = rows.count();
        Row removedStats =
            r.removed()
                .agg(
                    count(when(col(Deduplicator.SIMILARITY).equalTo(1.0), true)),
                    countDistinct(col(Deduplicator.CLUSTER_ID)))
                .first();
        long identical = removedStats.getLong(0);
        long clusters = removedStats.getLong(1);
        LshParams lsh = dedup.hasher().lsh();
        JobSummary summary =
            new JobSummary("dedup " + o.get(ReaderOptions.INPUT))
                .put("input documents", input)
                .put("kept", kept)
                .put("duplicates", removed)
                .put("  identical shingles", identical)
                .put("  near duplicates", removed - identical)
                .put("rejected", rejectedRows)
                .put(
                    "reject reasons",
                    Histograms.counts(DeltaTables.read(spark, rejects), explode(col(REASONS)), 8))
                .put("clusters with duplicates", clusters)
                .put("LSH candidate pairs", r.candidatePairs())
                .put(
                    "MinHash / LSH",
                    String.format(
                        "threshold %.2f, %d-word shingles, %d perms = %d bands x %d rows "
                            + "(+%d unused), P(candidate | J=threshold) = %.2f, verify %s",
                        dedup.threshold(),
                        dedup.hasher().ngram(),
                        dedup.hasher().numPerm(),
                        lsh.bands(),
                        lsh.rows(),
                        dedup.hasher().numPerm() - lsh.bands() * lsh.rows(),
                        lsh.collisionProbability(dedup.threshold()),
                        dedup.verify()))
                .put("output", output)
                .put("duplicates output", duplicates)
                .put("rejects output", rejects)
                .put("duplicate ids", read.duplicateIdSummary());
        if (!indexPath.isBlank()) {
          summary.put(
              "index",
              indexPath
                  + " ("
                  + indexedBefore
                  + " earlier documents, now "
                  + DeltaTables.read(spark, indexPath).count()
                  + ")");
        }
        summary.reconcile(
            "input = kept + duplicates + rejected", input, kept, removed, rejectedRows);
        return tables.finish(summary);
      }
    } finally {
      features.unpersist();
    }
  }

  /**
   * Removes repeated spans from {@code docs}; {@code notDocuments} (with their reasons) go to the
   * rejects with the documents left too short, and the removed spans to the duplicates table.
   */
  private static JobSummary runSpans(
      SparkSession spark,
      ParsedOptions o,
      SpanDeduplicator spans,
      Documents read,
      long input,
      Dataset<Row> docs,
      Dataset<Row> notDocuments) {
    String[] columns = docs.columns();
    SpanDeduplicator.Result r = spans.run(docs);
    Dataset<Row> documents = r.documents().persist(StorageLevel.MEMORY_AND_DISK());
    String output = o.get(OUTPUT);
    String duplicates = duplicatesPath(o);
    String rejects = Rejects.path(o, OUTPUT, REJECTS);
    try (RunTables tables = RunTables.of(spark, output, duplicates, rejects)) {
      long kept = tables.overwrite(r.kept(columns), output);
      long removedSpans = tables.overwrite(r.removedSpans(), duplicates);
      long rejectedRows = tables.overwrite(notDocuments.unionByName(r.rejected(columns)), rejects);

      Column keptDoc = Rejects.kept();
      Column spansRemoved = col(SpanDeduplicator.SPANS_REMOVED);
      Column charsRemoved = col(SpanDeduplicator.CHARS_REMOVED);
      Row stats =
          documents
              .agg(
                  count(when(spansRemoved.gt(0), true)),
                  sum(when(keptDoc, spansRemoved).otherwise(0)),
                  sum(when(keptDoc, 0).otherwise(spansRemoved)),
                  sum(when(keptDoc, charsRemoved).otherwise(0)),
                  sum(charsRemoved),
                  count(when(array_contains(col(REASONS), SpanDeduplicator.EMPTIED), true)),
                  count(when(array_contains(col(REASONS), SpanDeduplicator.TOO_SHORT), true)),
                  sum(length(col("_original"))))
              .first();
      long emptied = stats.getLong(5);
      long tooShort = stats.getLong(6);
      long inputChars = stats.isNullAt(7) ? 0 : stats.getLong(7);
      Dataset<Row> rejectTable = DeltaTables.read(spark, rejects);
      long outputChars = charsOf(DeltaTables.read(spark, output));
      long rejectedChars =
          charsOf(
              rejectTable.where(
                  array_contains(col(REASONS), SpanDeduplicator.EMPTIED)
                      .or(array_contains(col(REASONS), SpanDeduplicator.TOO_SHORT))));
      JobSummary summary =
          new JobSummary("dedup --level " + o.get(LEVEL) + " " + o.get(ReaderOptions.INPUT))
              .put("input documents", input)
              .put("kept", kept)
              .put("  with spans removed", stats.getLong(0) - emptied - tooShort)
              .put("rejected", rejectedRows)
              .put("  emptied", emptied)
              .put("  too short", tooShort)
              .put("reject reasons", Histograms.counts(rejectTable, explode(col(REASONS)), 8))
              .put("spans removed", removedSpans)
              .put("characters removed", nullToZero(stats, 4))
              .put(
                  "spans",
                  spans.unit() == Spans.Unit.SENTENCE
                      ? spans.spanUnits() + " sentences"
                      : "1 paragraph")
              .put("output", output)
              .put("removed spans output", duplicates)
              .put("rejects output", rejects)
              .put("duplicate ids", read.duplicateIdSummary());
      summary
          .reconcile("input = kept + rejected", input, kept, rejectedRows)
          .reconcile(
              "spans removed = from kept documents + from rejected documents",
              removedSpans,
              nullToZero(stats, 1),
              nullToZero(stats, 2))
          .reconcile(
              "input characters = output + removed from kept documents + rejected documents",
              inputChars,
              outputChars,
              nullToZero(stats, 3),
              rejectedChars);
      return tables.finish(summary);
    } finally {
      documents.unpersist();
    }
  }

  private static long charsOf(Dataset<Row> table) {
    Row row = table.agg(sum(length(col(Columns.TEXT)))).first();
    return row.isNullAt(0) ? 0 : row.getLong(0);
  }

  private static long nullToZero(Row row, int i) {
    return row.isNullAt(i) ? 0 : row.getLong(i);
  }
}
