package org.dbrxspark.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** The golden checkpoints and reference outputs copied into the test resources. */
final class GoldenSets {
  static final String[] NAMES = {"tiny-bf16", "small-f32-sharded", "tiny-fullvocab-bf16"};

  private GoldenSets() {}

  static Path dir(String name) {
    try {
      return Path.of(GoldenSets.class.getResource("/golden/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("golden set " + name + " missing from test resources", e);
    }
  }

  static JsonNode expectedLogits(String name) throws IOException {
    return new ObjectMapper().readTree(dir(name).resolve("expected-logits.json").toFile());
  }

  /** The prompt ids followed by the reference's greedy continuation. */
  static int[] expectedGreedy(String name) throws IOException {
    String text = Files.readString(dir(name).resolve("expected-greedy.txt")).trim();
    return Arrays.stream(text.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }
}
