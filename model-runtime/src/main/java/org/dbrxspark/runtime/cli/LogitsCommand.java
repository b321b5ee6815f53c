package org.dbrxspark.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Arrays;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.model.DbrxModel;
import org.dbrxspark.runtime.model.Step;

/** Raw logits of every position: the hook for comparing against a reference implementation. */
final class LogitsCommand extends Command {
  LogitsCommand() {
    super(
        "logits",
        "raw logits (no masking) for every input position: {\"ids\":[...],\"logits\":[[...],...]}");
  }

  @Override
  List<Option> options() {
    return CommonOptions.concat(
        CommonOptions.model(),
        List.of(Option.required("ids", "comma-separated token ids, e.g. 1,2,3")));
  }

  @Override
  void run(Args args, CliOutput out) throws Exception {
    int[] ids;
    try {
      ids =
          Arrays.stream(args.string("ids").split(","))
              .map(String::trim)
              .mapToInt(Integer::parseInt)
              .toArray();
    } catch (NumberFormatException e) {
      throw new InvalidCommandLineException(
          "option --ids: expected comma-separated integers, got '" + args.string("ids") + "'");
    }
    try (DbrxRuntime runtime = CommonOptions.load(args)) {
      DbrxModel model = runtime.model();
      int vocab = model.config().vocabSize();
      float[] hidden = model.forward(List.of(new Step(model.newCache(), ids, true)));
      float[] logits = new float[ids.length * vocab];
      model.logits(hidden, ids.length, logits);
      float[][] rows = new float[ids.length][];
      for (int t = 0; t < ids.length; t++) {
        rows[t] = Arrays.copyOfRange(logits, t * vocab, (t + 1) * vocab);
      }
      ObjectNode json = out.object();
      json.putPOJO("ids", ids);
      json.putPOJO("logits", rows);
      out.json(json);
    }
  }
}
