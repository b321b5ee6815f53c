package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.dbrxspark.jobs.cli.OptionSet;
import org.dbrxspark.jobs.cli.OptionSpec;
import org.dbrxspark.jobs.cli.ParsedOptions;

/**
 * Writes a seeded synthetic corpus with planted near-duplicates, and its ground truth.
 *
 * <p>Documents are word sequences drawn from a {@link ZipfVocabulary} headed by the sample corpus's
 * words: a title line, then paragraphs of sentences (6-28 words, some commas), about 350 words at
 * the median (log-normal, 60 to 8,000). Some documents are junk that curate should reject (too
 * short, repeated lines, code with braces); some carry an e-mail address and a phone number for the
 * PII redactor. Everything depends only on the seed and the options: base document {@code i} is
 * drawn from its own random stream, so generation runs in parallel and the output is the same on
 * any machine.
 *
 * <p>A fraction ({@code --dup-rate}) of the regular documents become the original of a cluster with
 * 1 to 3 variants. A variant is an exact copy (one in ten) or has a target Jaccard similarity drawn
 * uniformly from [{@code --min-jaccard}, 1): its original's words are edited at random positions
 * (substituted, deleted or inserted words), as many as bring the 5-word shingle Jaccard closest to
 * the target. The ground truth records every pair within a cluster with its <em>measured</em>
 * Jaccard ({@link Shingles}, on the written texts), never the target.
 *
 * <p>Output under {@code --output}: {@code corpus/part-NNNNN.jsonl.gz} (id, source, text; each
 * document in the part its id hashes to, so a cluster's members are spread over the parts), {@code
 * truth.tsv} ({@code id_a, id_b, jaccard, relation} with id_a &lt; id_b, relation {@code variant}
 * for original-variant pairs and {@code sibling} for two variants) and {@code manifest.json} (the
 * options and the counts).
 */
public final class CorpusGenerator {
  static final OptionSpec<String> OUTPUT =
      OptionSpec.path("output", null, "Folder to write the corpus to");
  static final OptionSpec<Integer> SIZE_MB =
      OptionSpec.integer(
          "size-mb",
          16,
          1,
          "Text to generate, in MB (10^6 bytes of UTF-8 text, not counting JSON or compression)");
  static final OptionSpec<Long> SEED = OptionSpec.longValue("seed", "1", Long.MIN_VALUE, "Seed");
  static final OptionSpec<Double> DUP_RATE =
      OptionSpec.decimal(
          "dup-rate", 0.08, 0, 1, "Fraction of regular documents that get near-duplicate variants");
  static final OptionSpec<Double> MIN_JACCARD =
      OptionSpec.decimal(
          "min-jaccard",
          0.3,
          0,
          1,
          "Lowest target Jaccard similarity of a variant to its original");
  static final OptionSpec<Double> JUNK_RATE =
      OptionSpec.decimal(
          "junk-rate", 0.04, 0, 1, "Fraction of documents that are junk curate should reject");
  static final OptionSpec<Integer> VOCABULARY =
      OptionSpec.integer("vocabulary", 100_000, 100, "Vocabulary size (Zipf exponent 1)");
  static final OptionSpec<String> VOCABULARY_CORPUS =
      OptionSpec.path(
          "vocabulary-corpus",
          "data/sample-corpus/corpus.jsonl.gz",
          "JSONL.gz corpus whose words head the vocabulary");
  static final OptionSpec<Integer> PARTS =
      OptionSpec.integer("parts", 0, 0, "Output files; 0: one per 64 MB of text, at least 4");
  static final List<OptionSpec<?>> OPTIONS =
      List.of(
          OUTPUT,
          SIZE_MB,
          SEED,
          DUP_RATE,
          MIN_JACCARD,
          JUNK_RATE,
          VOCABULARY,
          VOCABULARY_CORPUS,
          PARTS);

  /** Words per shingle of the ground truth: the dedup job's default. */
  static final int NGRAM = 5;

  private static final double EXACT_COPY_RATE = 0.1;
  private static final int BATCH = 2048;

  /**
   * What follows a word: a space, a comma, a sentence end, a paragraph end, the title's end, the
   * last word.
   */
  private static final String[] AFTER = {" ", ", ", ". ", "? ", ".\n\n", "\n\n", "."};

  private static final byte SPACE = 0;
  private static final byte COMMA = 1;
  private static final byte PERIOD = 2;
  private static final byte QUESTION = 3;
  private static final byte PARAGRAPH = 4;
  private static final byte TITLE = 5;
  private static final byte END = 6;

  private final ZipfVocabulary vocabulary;
  private final long seed;
  private final double dupRate;
  private final double minJaccard;
  private final double junkRate;

  CorpusGenerator(
      ZipfVocabulary vocabulary, long seed, double dupRate, double minJaccard, double junkRate) {
    this.vocabulary = vocabulary;
    this.seed = seed;
    this.dupRate = dupRate;
    this.minJaccard = minJaccard;
    this.junkRate = junkRate;
  }

  /** One written document. */
  record Doc(String id, String text) {}

  /** A ground-truth pair, {@code a < b}. */
  record Pair(String a, String b, double jaccard, String relation) {
    static Pair of(String x, String y, double jaccard, String relation) {
      return x.compareTo(y) < 0
          ? new Pair(x, y, jaccard, relation)
          : new Pair(y, x, jaccard, relation);
    }
  }

  /** Base document {@code index} and its planted variants, with the pairs among them. */
  record Group(List<Doc> docs, List<Pair> pairs) {}

  /** What the generator wrote. */
  record Summary(
      long docs, long textBytes, long clusters, long variants, long pairs, long pairsAtLeast08) {}

  public static void main(String[] args) throws IOException {
    OptionSet set = new OptionSet("corpus-generator", OPTIONS);
    ParsedOptions o = set.parse(args);
    if (o.helpRequested()) {
      System.out.print(
          set.help(
              "Writes a seeded synthetic corpus with planted near-duplicates and its "
                  + "ground truth (see the class comment)."));
      return;
    }
    long started = System.nanoTime();
    Summary s = generate(o);
    System.out.printf(
        Locale.ROOT,
        "wrote %,d documents, %.1f MB of text, %,d clusters (%,d variants), "
            + "%,d truth pairs (%,d at J >= 0.8) to %s in %.1f s%n",
        s.docs(),
        s.textBytes() / 1e6,
        s.clusters(),
        s.variants(),
        s.pairs(),
        s.pairsAtLeast08(),
        o.get(OUTPUT),
        (System.nanoTime() - started) / 1e9);
  }

  /** Generates the corpus the options describe (see the class comment). */
  static Summary generate(ParsedOptions o) throws IOException {
    ZipfVocabulary vocabulary =
        ZipfVocabulary.fromCorpus(Path.of(o.get(VOCABULARY_CORPUS)), o.get(VOCABULARY), 1.0);
    CorpusGenerator generator =
        new CorpusGenerator(
            vocabulary, o.get(SEED), o.get(DUP_RATE), o.get(MIN_JACCARD), o.get(JUNK_RATE));
    long target = o.get(SIZE_MB) * 1_000_000L;
    int parts = o.get(PARTS) > 0 ? o.get(PARTS) : (int) Math.max(4, target / 64_000_000L);
    Path out = Path.of(o.get(OUTPUT));
    Summary summary = generator.write(out, target, parts);
    ObjectMapper json = new ObjectMapper();
    ObjectNode manifest = json.createObjectNode();
    for (OptionSpec<?> spec : OPTIONS) {
      if (spec != OUTPUT) {
        manifest.put(spec.name(), String.valueOf(o.get(spec)));
      }
    }
    manifest
        .put("parts", parts)
        .put("docs", summary.docs())
        .put("text_bytes", summary.textBytes())
        .put("clusters", summary.clusters())
        .put("variants", summary.variants())
        .put("pairs", summary.pairs())
        .put("pairs_at_least_0.8", summary.pairsAtLeast08());
    json.writerWithDefaultPrettyPrinter()
        .writeValue(out.resolve("manifest.json").toFile(), manifest);
    return summary;
  }

  /** Writes documents until their text reaches {@code targetBytes}. */
  Summary write(Path out, long targetBytes, int parts) throws IOException {
    Path corpus = out.resolve("corpus");
    Files.createDirectories(corpus);
    List<Writer> writers = new ArrayList<>();
    ObjectMapper json = new ObjectMapper();
    long docs = 0;
    long bytes = 0;
    long clusters = 0;
    long variants = 0;
    long pairs = 0;
    long high = 0;
    Set<String> ids = new HashSet<>();
    try (Writer truth = Files.newBufferedWriter(out.resolve("truth.tsv"))) {
      for (int p = 0; p < parts; p++) {
        writers.add(
            gzipWriter(corpus.resolve(String.format(Locale.ROOT, "part-%05d.jsonl.gz", p))));
      }
      truth.write("id_a\tid_b\tjaccard\trelation\n");
      for (int next = 0; bytes < targetBytes; next += BATCH) {
        List<Group> batch =
            IntStream.range(next, next + BATCH).parallel().mapToObj(this::group).toList();
        for (Group g : batch) {
          if (bytes >= targetBytes) {
            break;
          }
          for (Doc d : g.docs()) {
            if (!ids.add(d.id())) {
              throw new IllegalStateException("id collision: " + d.id());
            }
            ObjectNode line =
                json.createObjectNode()
                    .put("id", d.id())
                    .put("source", "synthetic")
                    .put("text", d.text());
            Writer w = writers.get(Math.floorMod(d.id().hashCode(), parts));
            w.write(json.writeValueAsString(line));
            w.write('\n');
            bytes += d.text().getBytes(StandardCharsets.UTF_8).length;
            docs++;
          }
          if (g.docs().size() > 1) {
            clusters++;
            variants += g.docs().size() - 1;
          }
          for (Pair p : g.pairs()) {
            truth.write(p.a() + "\t" + p.b() + "\t" + p.jaccard() + "\t" + p.relation() + "\n");
            pairs++;
            high += p.jaccard() >= 0.8 ? 1 : 0;
          }
        }
      }
    } finally {
      for (Writer w : writers) {
        w.close();
      }
    }
    return new Summary(docs, bytes, clusters, variants, pairs, high);
  }

  private static Writer gzipWriter(Path path) throws IOException {
    OutputStream file = Files.newOutputStream(path);
    OutputStream gzip =
        new GZIPOutputStream(file, 1 << 16) {
          {
            def.setLevel(Deflater.BEST_SPEED);
          }
        };
    return new BufferedWriter(new OutputStreamWriter(gzip, StandardCharsets.UTF_8), 1 << 16);
  }

  /** Base document {@code index} with its variants, if it is planted. */
  Group group(int index) {
    SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + index);
    String id = id(index, 0);
    double kind = random.nextDouble();
    if (kind < junkRate) {
      return new Group(List.of(new Doc(id, junk(random))), List.of());
    }
    Draft original = draft(random, wordCount(random));
    if (kind >= junkRate + dupRate * (1 - junkRate)) {
      String text = original.render(vocabulary);
      return new Group(
          List.of(new Doc(id, random.nextDouble() < 0.02 ? withContact(text, random) : text)),
          List.of());
    }
    double r = random.nextDouble();
    int count = r < 0.7 ? 1 : r < 0.9 ? 2 : 3;
    List<Doc> docs = new ArrayList<>(List.of(new Doc(id, original.render(vocabulary))));
    for (int v = 1; v <= count; v++) {
      Draft variant =
          random.nextDouble() < EXACT_COPY_RATE
              ? original
              : variant(original, minJaccard + random.nextDouble() * (1 - minJaccard), random);
      docs.add(new Doc(id(index, v), variant.render(vocabulary)));
    }
    List<Pair> pairs = new ArrayList<>();
    List<Set<String>> shingles = docs.stream().map(d -> Shingles.of(d.text(), NGRAM)).toList();
    for (int x = 0; x < docs.size(); x++) {
      for (int y = x + 1; y < docs.size(); y++) {
        pairs.add(
            Pair.of(
                docs.get(x).id(),
                docs.get(y).id(),
                Shingles.jaccard(shingles.get(x), shingles.get(y)),
                x == 0 ? "variant" : "sibling"));
      }
    }
    return new Group(docs, pairs);
  }

  /** An opaque id: 64 hashed bits of (seed, index, variant) in hex. */
  private String id(int index, int variant) {
    return String.format("%016x", mix(seed ^ mix(((long) index << 4) | variant)));
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** Words in a regular document: log-normal, median 350, within [60, 8000]. */
  private static int wordCount(SplittableRandom random) {
    double gaussian =
        Math.sqrt(-2 * Math.log(1 - random.nextDouble()))
            * Math.cos(2 * Math.PI * random.nextDouble());
    return (int) Math.max(60, Math.min(8000, Math.round(350 * Math.exp(0.7 * gaussian))));
  }

  /**
   * A document being written: word ids, what follows each word ({@link #AFTER}) and which words are
   * capitalised.
   */
  record Draft(int[] words, byte[] after, boolean[] capital) {
    String render(ZipfVocabulary vocabulary) {
      StringBuilder sb = new StringBuilder(words.length * 7);
      for (int i = 0; i < words.length; i++) {
        String w = vocabulary.word(words[i]);
        if (capital[i]) {
          sb.append(Character.toUpperCase(w.charAt(0))).append(w, 1, w.length());
        } else {
          sb.append(w);
        }
        sb.append(AFTER[after[i]]);
      }
      return sb.toString();
    }
  }

  /**
   * A title of 4-9 words, then paragraphs of 2-7 sentences of 6-28 words until {@code words} is
   * reached.
   */
  private Draft draft(SplittableRandom random, int words) {
    int titleWords = 4 + random.nextInt(6);
    int n = titleWords + words;
    int[] ids = new int[n];
    byte[] after = new byte[n];
    boolean[] capital = new boolean[n];
    for (int i = 0; i < n; i++) {
      ids[i] = vocabulary.sample(random);
    }
    capital[0] = true;
    after[titleWords - 1] = TITLE;
    int i = titleWords;
    while (i < n) {
      int sentences = 2 + random.nextInt(6);
      for (int s = 0; s < sentences && i < n; s++) {
        int end = Math.min(n, i + 6 + random.nextInt(23));
        capital[i] = true;
        for (int j = i; j < end - 1; j++) {
          after[j] = random.nextDouble() < 0.06 ? COMMA : SPACE;
        }
        after[end - 1] = random.nextDouble() < 0.05 ? QUESTION : PERIOD;
        i = end;
      }
      after[i - 1] = after[i - 1] == QUESTION ? QUESTION : PARAGRAPH;
    }
    after[n - 1] = END;
    return new Draft(ids, after, capital);
  }

  /**
   * The variant of {@code original} whose 5-word shingle Jaccard is closest to {@code target}: the
   * first m edits of a random edit sequence (distinct positions in random order, each a
   * substitution, deletion or insertion of a Zipf-drawn word), m found by bisection.
   */
  Draft variant(Draft original, double target, SplittableRandom random) {
    int n = original.words().length;
    int[] order = IntStream.range(0, n).toArray();
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    byte[] type = new byte[n];
    int[] word = new int[n];
    for (int i = 0; i < n; i++) {
      double r = random.nextDouble();
      type[i] = (byte) (r < 0.6 ? 1 : r < 0.8 ? 2 : 3);
      word[i] = vocabulary.sample(random);
    }
    Set<ShingleKey> base = ShingleKey.of(original.words());
    int lo = 1;
    int hi = n;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Shingles.jaccard(base, ShingleKey.of(edit(original, order, type, word, mid).words()))
          > target) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    Draft at = edit(original, order, type, word, lo);
    if (lo > 1) {
      Draft before = edit(original, order, type, word, lo - 1);
      double gapBefore = Shingles.jaccard(base, ShingleKey.of(before.words())) - target;
      double gapAt = target - Shingles.jaccard(base, ShingleKey.of(at.words()));
      return gapBefore < gapAt ? before : at;
    }
    return at;
  }

  /**
   * {@code original} with the edits at positions {@code order[0..m)} applied: 1 substitutes the
   * word, 2 deletes it (a substitution where it carries punctuation or a capital), 3 inserts a word
   * before it.
   */
  private static Draft edit(Draft original, int[] order, byte[] type, int[] word, int m) {
    int n = original.words().length;
    byte[] op = new byte[n];
    for (int k = 0; k < m; k++) {
      op[order[k]] = type[k];
    }
    int[] ids = new int[n + m];
    byte[] after = new byte[n + m];
    boolean[] capital = new boolean[n + m];
    int out = 0;
    for (int i = 0; i < n; i++) {
      int w = original.words()[i];
      byte a = original.after()[i];
      boolean c = original.capital()[i];
      switch (op[i]) {
        case 1 -> w = word[i];
        case 2 -> {
          if (a == SPACE && !c) {
            continue;
          }
          w = word[i];
        }
        case 3 -> {
          ids[out] = word[i];
          after[out] = SPACE;
          capital[out++] = c;
          c = false;
        }
        default -> {}
      }
      ids[out] = w;
      after[out] = a;
      capital[out++] = c;
    }
    return new Draft(
        Arrays.copyOf(ids, out), Arrays.copyOf(after, out), Arrays.copyOf(capital, out));
  }

  /** An exact 5-word shingle of word ids (each below 2^21), packed into two longs. */
  record ShingleKey(long high, long low) {
    static Set<ShingleKey> of(int[] words) {
      Set<ShingleKey> out = new HashSet<>();
      int count = Math.max(1, words.length - NGRAM + 1);
      for (int i = 0; i < count && words.length > 0; i++) {
        long[] packed = new long[2];
        for (int j = 0; j < NGRAM; j++) {
          long v = i + j < words.length ? words[i + j] + 1 : 0;
          packed[j / 3] = (packed[j / 3] << 21) | v;
        }
        out.add(new ShingleKey(packed[0], packed[1]));
      }
      return out;
    }
  }

  /** A document curate should reject: too short, repeated lines, or code. */
  private String junk(SplittableRandom random) {
    return switch (random.nextInt(3)) {
      case 0 -> draft(random, 5 + random.nextInt(30)).render(vocabulary);
      case 1 -> {
        List<String> lines = new ArrayList<>();
        for (int l = 0; l < 3 + random.nextInt(3); l++) {
          lines.add(draft(random, 1 + random.nextInt(8)).render(vocabulary).replace("\n\n", " "));
        }
        StringBuilder sb = new StringBuilder();
        for (int r = 0; r < 20 + random.nextInt(20); r++) {
          sb.append(lines.get(random.nextInt(lines.size()))).append('\n');
        }
        yield sb.toString().strip();
      }
      default -> {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l < 10 + random.nextInt(30); l++) {
          String f = vocabulary.word(vocabulary.sample(random));
          String x = vocabulary.word(vocabulary.sample(random));
          sb.append(
                  l % 4 == 0
                      ? "function " + f + "(" + x + ") {"
                      : l % 4 == 3
                          ? "}"
                          : "  " + x + " = " + f + "(" + x + ", " + random.nextInt(100) + ");")
              .append('\n');
        }
        yield sb.toString().strip();
      }
    };
  }

  /** {@code text} with a contact line holding an e-mail address and a phone number. */
  private String withContact(String text, SplittableRandom random) {
    String name =
        vocabulary.word(vocabulary.sample(random))
            + "."
            + vocabulary.word(vocabulary.sample(random));
    return text
        + "\n\nFor questions write to "
        + name
        + "@example.org or call ("
        + (200 + random.nextInt(800))
        + ") "
        + (200 + random.nextInt(800))
        + "-"
        + (1000 + random.nextInt(9000))
        + " during office hours.";
  }
}
