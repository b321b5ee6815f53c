package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/** The benchmark's results as Markdown (for BENCHMARKS.md) and JSON. */
final class Report {
  private Report() {}

  /** Everything one benchmark run measured. */
  record Context(
      String date,
      String machine,
      String arguments,
      String generated,
      JsonNode manifest,
      double mb,
      long docs,
      String loadBefore,
      LoadMonitor load,
      List<DataPrepBenchmark.Run> runs,
      DataPrepBenchmark.Run dedup,
      DataPrepBenchmark.Run mllib,
      String dedupOptions,
      DedupQuality.Report quality) {}

  static String markdown(Context c) {
    StringBuilder md = new StringBuilder();
    JsonNode m = c.manifest();
    md.append(String.format(Locale.ROOT, "## Result (%s; %s)%n%n", c.date(), c.machine()));
    md.append(String.format(Locale.ROOT, "Arguments: `%s`.%n%n", c.arguments()));
    md.append(
        String.format(
            Locale.ROOT,
            "Corpus: %,d documents, %.1f MB of text in %d gzip JSONL files; %,d "
                + "clusters with %,d planted variants; %,d ground-truth pairs, %,d of them at J >= 0.8; %s.%n%n",
            c.docs(),
            c.mb(),
            m.get("parts").asInt(),
            m.get("clusters").asLong(),
            m.get("variants").asLong(),
            m.get("pairs").asLong(),
            m.get("pairs_at_least_0.8").asLong(),
            c.generated()));
    md.append("Load average (1 minute, on 2 cores; mean and max over each phase): before ")
        .append(c.loadBefore());
    for (DataPrepBenchmark.Run r : c.runs()) {
      md.append(", ").append(r.name()).append(' ').append(c.load().summary(r.name()));
    }
    md.append(", quality evaluation ").append(c.load().summary("quality")).append(".\n\n");

    md.append(
        "| run | time (s) | MB/s | docs/s | peak heap used (MiB) | peak live heap (MiB) | peak RSS (MiB) |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    for (DataPrepBenchmark.Run r : c.runs()) {
      String label =
          switch (r.name()) {
            case "dedup" ->
                "dedup `" + c.dedupOptions().replaceAll("--input \\S+ --output \\S+ ", "") + "`";
            case "mllib" -> "MLlib `MinHashLSH` + `approxSimilarityJoin`";
            default -> r.name();
          };
      String time;
      String rates;
      if (r.stopped()) {
        time =
            String.format(Locale.ROOT, "> %.0f (stopped at the %s)", r.seconds(), r.stopReason());
        rates =
            String.format(
                Locale.ROOT, "< %.2f | < %.0f", c.mb() / r.seconds(), c.docs() / r.seconds());
      } else if (r.failure() != null) {
        time =
            String.format(
                Locale.ROOT,
                "failed after %.0f: %s",
                r.seconds(),
                r.failure().length() > 120 ? r.failure().substring(0, 120) + "..." : r.failure());
        rates = "- | -";
      } else {
        time = String.format(Locale.ROOT, "%.1f", r.seconds());
        rates =
            String.format(Locale.ROOT, "%.2f | %.0f", c.mb() / r.seconds(), c.docs() / r.seconds());
      }
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %s | %s | %s |%n",
              label,
              time,
              rates,
              mib(r.memory(), "heap_used_mib"),
              mib(r.memory(), "live_heap_mib"),
              mib(r.memory(), "rss_mib")));
    }
    md.append('\n');
    if (c.mllib() != null) {
      double ratio = c.mllib().seconds() / c.dedup().seconds();
      if (c.mllib().stopped()) {
        md.append(
            String.format(
                Locale.ROOT,
                "**dedup against MLlib in the same run: more than %.1fx faster** "
                    + "(MLlib stopped after %.0f s at the %s, before it finished).%n%n",
                ratio,
                c.mllib().seconds(),
                c.mllib().stopReason()));
      } else if (c.mllib().failure() != null) {
        md.append(
            String.format(
                Locale.ROOT,
                "**MLlib failed after %.0f s** (%s); dedup finished in %.1f s on "
                    + "the same data with the same heap. No speed ratio.%n%n",
                c.mllib().seconds(),
                c.mllib().failure(),
                c.dedup().seconds()));
      } else {
        md.append(
            String.format(
                Locale.ROOT,
                "**dedup against MLlib in the same run: %s** " + "(%.1f s against %.1f s).%n%n",
                ratio >= 1
                    ? String.format(Locale.ROOT, "%.1fx faster", ratio)
                    : String.format(Locale.ROOT, "%.1fx slower", 1 / ratio),
                c.dedup().seconds(),
                c.mllib().seconds()));
      }
    }

    DedupQuality.Report q = c.quality();
    md.append(
        String.format(
            Locale.ROOT,
            "Quality at threshold %.2f (dedup's LSH: %d bands x %d rows):%n%n",
            q.threshold(),
            q.lsh().bands(),
            q.lsh().rows()));
    md.append("| | dedup | MLlib |\n|---|---|---|\n");
    md.append(
        String.format(
            Locale.ROOT,
            "| planted pairs at J >= %.2f | %,d | %,d |%n",
            q.threshold(),
            q.truthAbove(),
            q.truthAbove()));
    md.append(
        String.format(
            Locale.ROOT,
            "| recall (planted pairs found) | **%.4f** (%,d) | %s |%n",
            q.recall(),
            q.recalled(),
            q.mllib() == null
                ? "-"
                : String.format(Locale.ROOT, "%.4f (%,d)", q.mllibRecall(), q.mllibRecalled())));
    md.append(
        String.format(
            Locale.ROOT,
            "| precision (declared pairs at J >= %.2f, exact Jaccard) | **%.4f** "
                + "(%,d of %,d same-cluster pairs) | %s |%n",
            q.threshold(),
            q.clusterPairs().precision(),
            q.clusterPairs().correct(),
            q.clusterPairs().declared(),
            q.mllib() == null
                ? "-"
                : String.format(
                    Locale.ROOT,
                    "%.4f (%,d of %,d pairs)",
                    q.mllib().precision(),
                    q.mllib().correct(),
                    q.mllib().declared())));
    md.append(
        String.format(
            Locale.ROOT,
            "| precision of removals (removed document against its survivor) | "
                + "%.4f (%,d of %,d) | - |%n",
            q.removals().precision(),
            q.removals().correct(),
            q.removals().declared()));
    md.append(
        String.format(
            Locale.ROOT,
            "| same-cluster pairs at J >= %.2f that were not planted | %,d | - |%n",
            q.threshold(),
            q.unplanted()));
    md.append(String.format(Locale.ROOT, "| largest cluster | %,d | - |%n%n", q.largestCluster()));

    md.append(
        "Planted pairs by measured Jaccard: the share that became LSH candidates (sharing a band key), "
            + "against the theoretical rate 1 - (1 - s^r)^b averaged over the same pairs, and the share dedup "
            + "put in one cluster:\n\n");
    md.append(
        "| Jaccard | pairs | candidate rate, measured | theoretical | in one cluster |\n|---|---|---|---|---|\n");
    for (DedupQuality.Bucket b : q.buckets()) {
      String range =
          b.from() == 1
              ? "1 (identical shingles)"
              : String.format(Locale.ROOT, "[%.2f, %.2f)", b.from(), b.to());
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %,d | %.3f | %.3f | %.3f |%n",
              range,
              b.pairs(),
              (double) b.candidates() / b.pairs(),
              b.expectedRate(),
              (double) b.sameCluster() / b.pairs()));
    }
    md.append('\n');
    for (DataPrepBenchmark.Run r : c.runs()) {
      if (!r.output().isBlank()) {
        md.append("<details><summary>")
            .append(r.name())
            .append(" summary</summary>\n\n```\n")
            .append(r.output().strip())
            .append("\n```\n\n</details>\n\n");
      }
    }
    return md.toString();
  }

  private static String mib(JsonNode memory, String field) {
    return memory == null || !memory.has(field)
        ? "-"
        : String.format(Locale.ROOT, "%,d", memory.get(field).asLong());
  }

  static ObjectNode json(
      ObjectMapper json,
      JsonNode manifest,
      List<DataPrepBenchmark.Run> runs,
      DedupQuality.Report quality) {
    ObjectNode root = json.createObjectNode();
    root.set("corpus", manifest);
    ObjectNode r = root.putObject("runs");
    for (DataPrepBenchmark.Run run : runs) {
      ObjectNode o =
          r.putObject(run.name())
              .put("seconds", run.seconds())
              .put("stopped", run.stopped())
              .put("exit_code", run.exitCode())
              .put("failure", run.failure());
      o.set("memory", run.memory());
    }
    root.set("quality", json.valueToTree(quality));
    return root;
  }
}
