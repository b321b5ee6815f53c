package org.dbrxspark.runtime.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.TestDevices;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Logits and greedy continuations against the independent float64 reference (golden/README.md). For
 * the GGUF files the reference ran on the dequantized weights, so the same tolerance holds while
 * the runtime computes on the quantized blocks.
 */
class GoldenLogitsTest {
  private static final List<String> SETS =
      List.of(
          "tiny-bf16",
          "small-f32-sharded",
          "tiny-fullvocab-bf16",
          "tiny-gguf/q8_0",
          "tiny-gguf/q4_0");

  /** Every golden set on every device of {@link TestDevices}. */
  static Stream<Arguments> setsAndDevices() {
    return TestDevices.devices().flatMap(d -> SETS.stream().map(name -> Arguments.of(name, d)));
  }

  @ParameterizedTest
  @MethodSource("setsAndDevices")
  void everyLogitMatchesTheReference(String name, String device) throws Exception {
    JsonNode expected = GoldenSets.expectedLogits(name);
    double tolerance = GoldenSets.tolerance(name, device);
    int[] ids = GoldenSets.ints(expected.get("ids"));
    try (Backend backend = TestDevices.open(device, 2);
        DbrxModel model = DbrxModel.load(GoldenSets.model(name), backend)) {
      int vocab = model.config().vocabSize();
      float[] hidden = model.forward(List.of(new Step(model.newCache(), ids, true)));
      float[] logits = new float[ids.length * vocab];
      model.logits(hidden, ids.length, logits);
      for (int t = 0; t < ids.length; t++) {
        float[] row = Arrays.copyOfRange(logits, t * vocab, (t + 1) * vocab);
        if (expected.has("logits")) {
          JsonNode want = expected.get("logits").get(t);
          assertEquals(vocab, want.size());
          for (int v = 0; v < vocab; v++) {
            GoldenSets.assertClose(want.get(v).asDouble(), row[v], tolerance, name, device, t, v);
          }
        } else {
          int[] topIds = GoldenSets.ints(expected.get("top_ids").get(t));
          JsonNode topLogits = expected.get("top_logits").get(t);
          for (int j = 0; j < topIds.length; j++) {
            GoldenSets.assertClose(
                topLogits.get(j).asDouble(), row[topIds[j]], tolerance, name, device, t, topIds[j]);
          }
          // Nothing outside the reference's top set may beat its smallest member.
          float floor = row[topIds[topIds.length - 1]];
          long above = 0;
          for (float value : row) {
            if (value > floor + tolerance) {
              above++;
            }
          }
          assertTrue(
              above < topIds.length,
              name + " position " + t + ": " + above + " logits beat the reference top-16");
        }
      }
    }
  }

  @ParameterizedTest
  @MethodSource("setsAndDevices")
  void greedyDecodingWithTheKvCacheMatchesTheReference(String name, String device)
      throws Exception {
    int[] expected = GoldenSets.expectedGreedy(name);
    int[] prompt = GoldenSets.ints(GoldenSets.expectedLogits(name).get("ids"));
    try (Backend backend = TestDevices.open(device, 2);
        DbrxModel model = DbrxModel.load(GoldenSets.model(name), backend)) {
      int vocab = model.config().vocabSize();
      KvCache cache = model.newCache();
      List<Integer> produced = new ArrayList<>();
      int[] next = prompt;
      float[] logits = new float[vocab];
      for (int i = prompt.length; i < expected.length; i++) {
        float[] hidden = model.forward(List.of(new Step(cache, next, false)));
        model.logits(hidden, 1, logits);
        int argmax = 0;
        for (int v = 1; v < vocab; v++) {
          if (logits[v] > logits[argmax]) {
            argmax = v;
          }
        }
        produced.add(argmax);
        next = new int[] {argmax};
      }
      int[] got = new int[expected.length];
      System.arraycopy(prompt, 0, got, 0, prompt.length);
      for (int i = 0; i < produced.size(); i++) {
        got[prompt.length + i] = produced.get(i);
      }
      assertArrayEquals(expected, got, name);
    }
  }
}
