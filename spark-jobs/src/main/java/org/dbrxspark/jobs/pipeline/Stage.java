package org.dbrxspark.jobs.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.pipeline.PipelineJob.Tables;

/** One stage of the pipeline: the job it runs and how its options follow from the stages before. */
enum Stage {
  CURATE("curate", false) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          o.get(PipelineJob.INPUT),
          "--output",
          t.at("curated"),
          "--rejects-output",
          t.at("curated_rejects"));
    }

    @Override
    String output(Tables t) {
      return t.at("curated") + " (rejects: " + t.at("curated_rejects") + ")";
    }
  },
  DEDUP("dedup", false) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          t.at("curated"),
          "--output",
          t.at("deduped"),
          "--duplicates-output",
          t.at("deduped_duplicates"),
          "--rejects-output",
          t.at("deduped_rejects"));
    }

    @Override
    String output(Tables t) {
      return t.at("deduped")
          + " (duplicates: "
          + t.at("deduped_duplicates")
          + ", rejects: "
          + t.at("deduped_rejects")
          + ")";
    }
  },
  MIX("mix", false) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          t.at("deduped"),
          "--output",
          t.at("mix"),
          "--weights",
          o.get(PipelineJob.WEIGHTS),
          "--budget",
          o.get(PipelineJob.BUDGET).toString());
    }

    @Override
    String output(Tables t) {
      return t.at("mix") + " (manifest: " + t.at("mix_manifest.json") + ")";
    }
  },
  TOKENIZE("tokenize", false) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          t.at("mix"),
          "--output",
          t.at("tokens"),
          "--rejects-output",
          t.at("tokens_rejects"),
          "--pack",
          o.get(PipelineJob.SEQ_LEN).toString(),
          "--validation-fraction",
          "0.05");
    }

    @Override
    String output(Tables t) {
      return t.at("tokens") + " (rejects: " + t.at("tokens_rejects") + ")";
    }
  },
  GENERATE("generate", true) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          o.get(PipelineJob.PROMPTS),
          "--output",
          t.at("generations"),
          "--model",
          model,
          "--chat-template",
          "true",
          "--max-new-tokens",
          o.get(PipelineJob.MAX_NEW_TOKENS).toString(),
          "--temperature",
          "0.8",
          "--top-p",
          "0.95",
          "--seed",
          "7",
          "--overwrite");
    }

    @Override
    String output(Tables t) {
      return t.at("generations");
    }
  },
  RAG_INDEX("rag-index", true) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--input",
          t.at("curated"),
          "--index",
          t.at("rag-index"),
          "--model",
          model,
          "--shards",
          "2");
    }

    @Override
    String output(Tables t) {
      return t.at("rag-index") + " (chunks: " + t.at("rag-index/chunks") + ")";
    }
  },
  RAG_QUERY("rag-query", true) {
    @Override
    List<String> args(Tables t, ParsedOptions o, String model) {
      return List.of(
          "--index",
          t.at("rag-index"),
          "--query",
          o.get(PipelineJob.QUERY),
          "--k",
          "5",
          "--answer",
          "--max-new-tokens",
          o.get(PipelineJob.MAX_NEW_TOKENS).toString(),
          "--model",
          model);
    }

    @Override
    String output(Tables t) {
      return "(hits and answer printed above)";
    }
  };

  static final List<String> NAMES = Arrays.stream(values()).map(Stage::job).toList();

  private final String job;
  private final boolean needsModel;

  Stage(String job, boolean needsModel) {
    this.job = job;
    this.needsModel = needsModel;
  }

  /** The registered job this stage runs. */
  String job() {
    return job;
  }

  boolean needsModel() {
    return needsModel;
  }

  /** The job's command line: inputs are the tables of earlier stages. */
  abstract List<String> args(Tables tables, ParsedOptions options, String model);

  /** Where the stage's tables are, for the summary. */
  abstract String output(Tables tables);

  /** Stages named in a comma-separated list, which must follow pipeline order. */
  static List<Stage> parse(String list) {
    List<Stage> stages = new ArrayList<>();
    for (String name : list.split(",")) {
      Stage stage =
          Arrays.stream(values())
              .filter(s -> s.job.equals(name.trim()))
              .findFirst()
              .orElseThrow(() -> PipelineJob.badStages("unknown stage '" + name.trim() + "'"));
      if (!stages.isEmpty() && stages.get(stages.size() - 1).compareTo(stage) >= 0) {
        throw PipelineJob.badStages("'" + name.trim() + "' is out of order or repeated");
      }
      stages.add(stage);
    }
    return stages;
  }
}
