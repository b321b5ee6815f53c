package org.dbrxspark.jobs.pipeline;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.dbrxspark.jobs.cli.OptionValues;
import org.dbrxspark.jobs.cli.ParsedOptions;
import org.dbrxspark.jobs.curate.CurateJob;
import org.dbrxspark.jobs.dedup.DedupJob;
import org.dbrxspark.jobs.generate.GenerateJob;
import org.dbrxspark.jobs.inference.ModelOptions;
import org.dbrxspark.jobs.io.ReaderOptions;
import org.dbrxspark.jobs.mix.MixJob;
import org.dbrxspark.jobs.pipeline.PipelineJob.Tables;
import org.dbrxspark.jobs.rag.RagIndexJob;
import org.dbrxspark.jobs.rag.RagQueryJob;
import org.dbrxspark.jobs.tokenize.TokenizeJob;

/**
 * One stage of the pipeline: the job it runs and how its options follow from the pipeline's and
 * from the stages before, as typed values keyed by the job's own option specs.
 */
enum Stage {
  CURATE("curate", false) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(ReaderOptions.INPUT, o.get(PipelineJob.INPUT))
          .with(CurateJob.OUTPUT, t.at("curated"))
          .with(CurateJob.REJECTS, t.at("curated_rejects"));
    }

    @Override
    String output(Tables t) {
      return t.at("curated") + " (rejects: " + t.at("curated_rejects") + ")";
    }
  },
  DEDUP("dedup", false) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(ReaderOptions.INPUT, t.at("curated"))
          .with(DedupJob.OUTPUT, t.at("deduped"))
          .with(DedupJob.DUPLICATES, t.at("deduped_duplicates"))
          .with(DedupJob.REJECTS, t.at("deduped_rejects"));
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
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(ReaderOptions.INPUT, t.at("deduped"))
          .with(MixJob.OUTPUT, t.at("mix"))
          .with(MixJob.REJECTS, t.at("mix_rejects"))
          .with(MixJob.WEIGHTS, o.get(PipelineJob.WEIGHTS))
          .with(MixJob.BUDGET, o.get(PipelineJob.BUDGET));
    }

    @Override
    String output(Tables t) {
      return t.at("mix")
          + " (rejects: "
          + t.at("mix_rejects")
          + ", manifest: "
          + t.at("mix_manifest.json")
          + ")";
    }
  },
  TOKENIZE("tokenize", false) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(ReaderOptions.INPUT, t.at("mix"))
          .with(TokenizeJob.OUTPUT, t.at("tokens"))
          .with(TokenizeJob.REJECTS, t.at("tokens_rejects"))
          .with(TokenizeJob.PACK, o.get(PipelineJob.SEQ_LEN))
          .with(TokenizeJob.VALIDATION_FRACTION, 0.05);
    }

    @Override
    String output(Tables t) {
      return t.at("tokens") + " (rejects: " + t.at("tokens_rejects") + ")";
    }
  },
  GENERATE("generate", true) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(ReaderOptions.INPUT, o.get(PipelineJob.PROMPTS))
          .with(GenerateJob.OUTPUT, t.at("generations"))
          .with(ModelOptions.MODEL, model)
          .with(GenerateJob.CHAT_TEMPLATE, true)
          .with(GenerateJob.MAX_NEW_TOKENS, o.get(PipelineJob.MAX_NEW_TOKENS))
          .with(GenerateJob.TEMPERATURE, 0.8)
          .with(GenerateJob.TOP_P, 0.95)
          .with(GenerateJob.SEED, 7L)
          .with(GenerateJob.OVERWRITE, true);
    }

    @Override
    String output(Tables t) {
      return t.at("generations");
    }
  },
  RAG_INDEX("rag-index", true) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      // The deduplicated documents: an exact copy indexed twice fills two of a query's hits with
      // the same chunk.
      return OptionValues.none()
          .with(ReaderOptions.INPUT, t.at("deduped"))
          .with(RagIndexJob.INDEX, t.at("rag-index"))
          .with(RagIndexJob.MODEL, model)
          .with(RagIndexJob.SHARDS, 2);
    }

    @Override
    String output(Tables t) {
      return t.at("rag-index") + " (chunks: " + t.at("rag-index/chunks") + ")";
    }
  },
  RAG_QUERY("rag-query", true) {
    @Override
    OptionValues options(Tables t, ParsedOptions o, String model) {
      return OptionValues.none()
          .with(RagQueryJob.INDEX, t.at("rag-index"))
          .with(RagQueryJob.QUERY, o.get(PipelineJob.QUERY))
          .with(RagQueryJob.K, 5)
          .with(RagQueryJob.ANSWER, true)
          .with(RagQueryJob.MAX_NEW_TOKENS, o.get(PipelineJob.MAX_NEW_TOKENS))
          .with(RagQueryJob.MODEL, model);
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

  /**
   * The values the pipeline sets for the job (inputs are the tables of earlier stages); they win
   * over the job's section of the pipeline file, and its defaults fill the rest.
   */
  abstract OptionValues options(Tables tables, ParsedOptions options, String model);

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
