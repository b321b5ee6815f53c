package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer;
import org.dbrxspark.runtime.checkpoint.GgufQuantizer.FileType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.Test;

/** The memory plan on dbrx-instruct's real config.json, and the runtime's refusal. */
class MemoryPlanTest {
  private static final long GIB = 1L << 30;

  /** dbrx-instruct's released config.json, from the test resources. */
  static DbrxConfig dbrxInstruct() throws Exception {
    return DbrxConfig.read(
        Path.of(MemoryPlanTest.class.getResource("/dbrx-instruct/config.json").toURI()));
  }

  @Test
  void dbrxInstructWithAnF16CacheFor32SequencesOf4096Tokens() throws Exception {
    DbrxConfig config = dbrxInstruct();
    EngineOptions options = new EngineOptions(2048, 32, 4096, KvDType.F16, 0);
    MemoryPlan plan = MemoryPlan.of(config, options, MemoryPlan.checkpointBytes(config));
    // 131,596,523,520 parameters (the released checkpoint's index), bfloat16.
    assertEquals(2 * 131_596_523_520L, plan.weightBytes());
    // 160 KiB of keys and values per token at 2 bytes (40 layers x K,V x 8 heads x 128).
    assertEquals(32L * 4096 * 160 * 1024, plan.kvCacheBytes());
    assertEquals(20 * GIB, plan.kvCacheBytes());
    // 2048 tokens x (5 x 6144 + 8192 QKV + 2 x 10752 + 16 router) floats, and 32 rows of 100352
    // logits.
    assertEquals((2048L * 60_432 + 32L * 100_352) * 4, plan.activationBytes());
    assertEquals(
        263_193_047_040L + 21_474_836_480L + 507_904_000L + plan.jvmBytes(), plan.totalBytes());
  }

  @Test
  void theJvmCountsItsBaselineAndTheYoungGenerationAndEachTaskItsActivations() throws Exception {
    DbrxConfig config = dbrxInstruct();
    MemoryPlan plan = MemoryPlan.of(config, EngineOptions.defaults(), 0);
    assertEquals(
        MemoryPlan.JVM_BASELINE_BYTES + MemoryPlan.youngGenerationBytes(), plan.jvmBytes());
    // Four tasks stepping at once: four sets of activations, one KV cache.
    MemoryPlan four = MemoryPlan.of(config, EngineOptions.defaults(), 0, 4);
    MemoryPlan one = MemoryPlan.of(config, EngineOptions.defaults(), 0);
    assertEquals(4 * one.activationBytes(), four.activationBytes());
    assertEquals(one.kvCacheBytes(), four.kvCacheBytes());
  }

  @Test
  void dbrxInstructInEachGgufFormat() throws Exception {
    DbrxConfig config = dbrxInstruct();
    // Counted from the Hugging Face tensor shapes, apart from the quantizer's code: the norms (2
    // per layer and
    // norm_f) and the routers (16 x 6144 per layer) stay F32, every other weight is quantized.
    long f32 = 40L * (2 * 6144 + 16 * 6144) + 6144;
    long matrices = 131_596_523_520L - f32;
    assertEquals(matrices / 32 * 34 + f32 * 4, GgufQuantizer.weightBytes(config, FileType.Q8_0));
    assertEquals(matrices / 32 * 18 + f32 * 4, GgufQuantizer.weightBytes(config, FileType.Q4_0));
    // Q4_K_M: Q6_K for the output head, and for attn_qkv and ffn_down_exps in 20 of the 40 layers
    // (llama.cpp's use_more_bits: layers 0-4, 35-39 and every third between); Q4_K elsewhere.
    long head = 100_352L * 6144;
    long qkv = 8192L * 6144;
    long down = 16L * 6144 * 10752;
    long sixBit = head + 20 * (qkv + down);
    long fourBit = matrices - sixBit;
    long q4km = sixBit / 256 * 210 + fourBit / 256 * 144 + f32 * 4;
    assertEquals(q4km, GgufQuantizer.weightBytes(config, FileType.Q4_K_M));
    // 4.5 bits a weight with a quarter of them at 6.56: between the Q4_0 and Q8_0 files.
    assertTrue(
        q4km > GgufQuantizer.weightBytes(config, FileType.Q4_0)
            && q4km < GgufQuantizer.weightBytes(config, FileType.Q8_0));
    EngineOptions options = new EngineOptions(2048, 32, 4096, KvDType.F16, 0);
    for (FileType type :
        new FileType[] {FileType.BF16, FileType.Q8_0, FileType.Q4_0, FileType.Q4_K_M}) {
      long weights = GgufQuantizer.weightBytes(config, type);
      MemoryPlan plan = MemoryPlan.of(config, options, weights);
      assertEquals(
          weights + 20 * GIB + (2048L * 60_432 + 32L * 100_352) * 4 + plan.jvmBytes(),
          plan.totalBytes(),
          type.cliName());
    }
  }

  @Test
  void theDefaultCacheHoldsEverySequenceAtTheModelsFullContext() throws Exception {
    DbrxConfig config = dbrxInstruct();
    EngineOptions defaults = EngineOptions.defaults();
    assertEquals(32768, defaults.maxSeqLen(config));
    // 32 x 32768 tokens x 160 KiB (f16) = 160 GiB; f32 doubles it.
    assertEquals(160 * GIB, MemoryPlan.of(config, defaults, 0).kvCacheBytes());
    assertEquals(
        320 * GIB,
        MemoryPlan.of(config, new EngineOptions(2048, 32, 0, KvDType.F32, 0), 0).kvCacheBytes());
    // A cache budget below max-sequences x max-seq-len is what the plan counts.
    assertEquals(
        5 * GIB,
        MemoryPlan.of(config, new EngineOptions(2048, 32, 0, KvDType.BF16, 32768), 0)
            .kvCacheBytes());
  }

  @Test
  void aPlanOverThePhysicalMemoryIsRefusedWithItsNumbers() throws Exception {
    Path checkpoint = EngineTest.golden("tiny-bf16");
    // 2^40 positions of the tiny model's 512 bytes of f32 keys and values: 512 TiB.
    EngineOptions huge = new EngineOptions(2048, 32, 0, KvDType.F32, 1L << 40);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DbrxRuntime.load(checkpoint, 1, huge));
    // 512 TiB of KV cache, and the JVM: its baseline here (G1 gives the young generation no bound).
    assertTrue(e.getMessage().startsWith("the memory plan needs 524288."), e.getMessage());
    assertTrue(e.getMessage().contains("KV cache 524288.00 as f32"), e.getMessage());
    assertTrue(
        e.getMessage()
            .endsWith(
                "lower --max-sequences, --max-seq-len or --kv-cache-tokens,"
                    + " or store the KV cache as --kv-dtype f16 (half the bytes)"),
        e.getMessage());
    assertFalse(MemoryPlan.of(DbrxConfig.read(checkpoint.resolve("config.json")), huge, 0).fits());
  }

  @Test
  void aKvCacheOverTheJvmsDirectMemoryLimitIsRefusedNamingTheFlag() throws Exception {
    Path checkpoint = EngineTest.golden("tiny-bf16");
    // 512 bytes a position (f32): one GiB over the direct-memory limit (the test JVM's -Xmx6g).
    long tokens = (MemoryPlan.directMemoryLimitBytes() + GIB) / 512;
    EngineOptions over = new EngineOptions(2048, 32, 0, KvDType.F32, tokens);
    MemoryPlan plan = MemoryPlan.of(DbrxConfig.read(checkpoint.resolve("config.json")), over, 0);
    assumeTrue(
        plan.totalBytes() <= plan.hostBytes(),
        "this host's memory is below the JVM's direct limit");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DbrxRuntime.load(checkpoint, 1, over));
    assertTrue(e.getMessage().startsWith("the KV cache needs"), e.getMessage());
    assertTrue(e.getMessage().contains("raise -XX:MaxDirectMemorySize"), e.getMessage());
  }

  @Test
  void weightsOverTheHostAreNamedAsTheProblem() throws Exception {
    DbrxConfig config = dbrxInstruct();
    MemoryPlan plan =
        new MemoryPlan(
            MemoryPlan.checkpointBytes(config),
            20 * GIB,
            GIB / 2,
            GIB / 8,
            64 * GIB,
            64 * GIB,
            KvDType.F16);
    assertEquals(
        "the memory plan needs 265.74 GiB (weights 245.12 + KV cache 20.00 as f16 + activations 0.50"
            + " + JVM 0.13)"
            + " but this host has 64.00 GiB of physical memory; the weights alone do not fit: use a host with more memory",
        plan.problem());
  }
}
