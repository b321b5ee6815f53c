package org.dbrxspark.jobs.dedup;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.dbrxspark.jobs.text.Words;

/** Seeded test documents with controlled word-shingle Jaccard similarity. */
final class DedupDocs {
  private static final String[] SYLLABLES = {
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "du", "sa", "fi"
  };

  private DedupDocs() {}

  /** {@code docs} (id to text) as a table of id, source ("test") and text. */
  static Dataset<Row> frame(SparkSession spark, Map<String, String> docs) {
    List<Row> rows = new ArrayList<>();
    docs.forEach((id, text) -> rows.add(RowFactory.create(id, "test", text)));
    return spark.createDataFrame(
        rows, new StructType().add("id", "string").add("source", "string").add("text", "string"));
  }

  /** The rows of {@code table} by id, in id order. */
  static Map<String, Row> byId(Dataset<Row> table) {
    Map<String, Row> out = new TreeMap<>();
    table.collectAsList().forEach(r -> out.put(r.getString(r.fieldIndex("id")), r));
    return out;
  }

  /** {@code words} distinct pseudo-words, different for every {@code seed}. */
  static String base(int words, int seed) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) {
      sb.append(i == 0 ? "" : i % 12 == 11 ? ". " : " ").append(word(seed * 100_000 + i));
    }
    return sb.append('.').toString();
  }

  /**
   * {@code text} with {@code count} words replaced by shorter ones, spread evenly, from {@code
   * offset}.
   */
  static String substitute(String text, int count, int offset) {
    String[] words = text.split(" ");
    int step = words.length / count;
    for (int k = 0; k < count; k++) {
      int at = (offset + k * step) % words.length;
      words[at] = "q" + (char) ('a' + k % 26);
    }
    return String.join(" ", words);
  }

  private static String word(int n) {
    StringBuilder sb = new StringBuilder();
    int v = n;
    do {
      sb.append(SYLLABLES[v % SYLLABLES.length]);
      v /= SYLLABLES.length;
    } while (v > 0);
    return sb.toString();
  }

  static double jaccard(MinHasher h, String a, String b) {
    Set<Long> x = new HashSet<>(Arrays.stream(h.shingles(Words.normalise(a))).boxed().toList());
    Set<Long> y = new HashSet<>(Arrays.stream(h.shingles(Words.normalise(b))).boxed().toList());
    Set<Long> inter = new HashSet<>(x);
    inter.retainAll(y);
    Set<Long> union = new HashSet<>(x);
    union.addAll(y);
    return (double) inter.size() / union.size();
  }
}
