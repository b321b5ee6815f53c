package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.kernels.CpuBackend;
import org.dbrxspark.runtime.model.DbrxModel;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Embeddings of the golden prompts against the float64 numpy reference
 * (src/test/python/dbrx_reference.py, which reproduces the shared golden logits within 1e-6): the
 * output of norm_f pooled over all tokens (mean) or at the last token, scaled to unit length.
 */
class EmbedderGoldenTest {
  /**
   * Tolerances per component of a unit vector. With an f32 KV cache the runtime is a float32
   * forward pass: a few layers of d_model-long sums leave about 1e-7 (seen: up to 2e-7), so 1e-5.
   * With the default f16 cache each K and V element is rounded by up to 2^-11 (4.9e-4) relative,
   * which reaches the components at about that size times theirs (seen: up to 4e-4), so 1e-3. A
   * wrong state, pooling or norm moves components by 2e-2 or more (pooling from the second token,
   * the last-but-one token, or the state before norm_f's gain, on these sets).
   */
  @ParameterizedTest
  @CsvSource({
    "tiny-bf16, F32, 1e-5",
    "small-f32-sharded, F32, 1e-5",
    "tiny-fullvocab-bf16, F32, 1e-5",
    "tiny-bf16, F16, 1e-3",
    "small-f32-sharded, F16, 1e-3",
    "tiny-fullvocab-bf16, F16, 1e-3"
  })
  void meanAndLastTokenEmbeddingsMatchTheReference(String name, KvDType kv, double tolerance)
      throws Exception {
    JsonNode expected =
        new ObjectMapper()
            .readTree(EngineTest.golden(name).resolve("expected-embeddings.json").toFile());
    int[] ids = new int[expected.get("ids").size()];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = expected.get("ids").get(i).asInt();
    }
    try (Backend kernels = new CpuBackend(2);
        DbrxModel model = DbrxModel.load(EngineTest.golden(name), kernels)) {
      Embedder embedder = new Embedder(model, new EngineOptions(2048, 4, 0, kv, 0));
      for (Pooling pooling : Pooling.values()) {
        EmbeddingResult got = embedder.embed(List.of(ids), pooling).get(0);
        assertNull(got.error());
        JsonNode want = expected.get(pooling.name().toLowerCase(java.util.Locale.ROOT));
        assertEquals(want.size(), got.vector().length, name + " " + pooling + " size");
        double worst = 0;
        for (int i = 0; i < want.size(); i++) {
          worst = Math.max(worst, Math.abs(want.get(i).asDouble() - got.vector()[i]));
        }
        System.out.printf(
            "%s %s KV %s: max |runtime - reference| = %.2e%n", name, pooling, kv, worst);
        for (int i = 0; i < want.size(); i++) {
          double diff = Math.abs(want.get(i).asDouble() - got.vector()[i]);
          if (!(diff <= tolerance)) {
            throw new AssertionError(
                String.format(
                    "%s %s pooling, component %d: expected %.6f, got %.6f (diff %.2e)",
                    name, pooling, i, want.get(i).asDouble(), got.vector()[i], diff));
          }
        }
      }
    }
  }
}
