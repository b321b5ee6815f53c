package org.dbrxspark.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.dbrxspark.runtime.Devices;

/**
 * The golden checkpoints and reference outputs copied into the test resources. A set is a folder
 * name ({@code tiny-bf16}), or a folder and a GGUF type ({@code tiny-gguf/q8_0}) for the GGUF
 * files, whose expected outputs carry the type in their names.
 */
final class GoldenSets {
  /** A float32 runtime matches the float64 references within this, absolute (README.md). */
  static final double TOLERANCE = 1e-3;

  /**
   * A device whose GEMMs take BF16 inputs (CUDA's cuBLAS) rounds each activation to 8 bits of
   * mantissa before the products: the bound for BF16 weights there. Sets stored as float32
   * keep {@link #TOLERANCE} on every device.
   */
  static final double BF16_DEVICE_TOLERANCE = 1e-2;

  private GoldenSets() {}

  /** The bound for set {@code name} on {@code device}: its weights are float32 when named so. */
  static double tolerance(String name, String device) {
    return Devices.CPU.equals(device) || name.contains("f32") ? TOLERANCE : BF16_DEVICE_TOLERANCE;
  }

  static Path dir(String name) {
    String folder = name.contains("/") ? name.substring(0, name.indexOf('/')) : name;
    try {
      return Path.of(GoldenSets.class.getResource("/golden/" + folder).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("golden set " + name + " missing from test resources", e);
    }
  }

  /** What to load: the folder, or the set's GGUF file. */
  static Path model(String name) {
    return isGguf(name) ? dir(name).resolve("model-" + type(name) + ".gguf") : dir(name);
  }

  static JsonNode expectedLogits(String name) throws IOException {
    String file = isGguf(name) ? "expected-logits-" + type(name) + ".json" : "expected-logits.json";
    return new ObjectMapper().readTree(dir(name).resolve(file).toFile());
  }

  /** The prompt ids followed by the reference's greedy continuation. */
  static int[] expectedGreedy(String name) throws IOException {
    String file = isGguf(name) ? "expected-greedy-" + type(name) + ".txt" : "expected-greedy.txt";
    String text = Files.readString(dir(name).resolve(file)).trim();
    return Arrays.stream(text.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
  }

  private static boolean isGguf(String name) {
    return name.contains("/");
  }

  private static String type(String name) {
    return name.substring(name.indexOf('/') + 1);
  }

  static int[] ints(JsonNode array) {
    int[] out = new int[array.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = array.get(i).asInt();
    }
    return out;
  }

  /** Fails unless a logit is within {@link #TOLERANCE} of the reference's (on the CPU). */
  static void assertClose(double want, float got, String name, int position, int id) {
    assertClose(want, got, TOLERANCE, name, Devices.CPU, position, id);
  }

  /**
   * Fails unless a logit computed on {@code device} is within {@code tolerance} of the reference's.
   */
  static void assertClose(
      double want, float got, double tolerance, String name, String device, int position, int id) {
    if (!(Math.abs(want - got) <= tolerance)) {
      throw new AssertionError(
          String.format(
              "%s on %s position %d token %d: expected %.6f, got %.6f (diff %.2e, bound %.0e)",
              name, device, position, id, want, got, Math.abs(want - got), tolerance));
    }
  }
}
