package org.dbrxspark.runtime.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.dbrxspark.runtime.DbrxRuntime;
import org.dbrxspark.runtime.Devices;
import org.dbrxspark.runtime.backend.DeviceMemory;
import org.dbrxspark.runtime.backend.FixedMemoryProvider;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.Checkpoint;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU part of the memory plan against a device's free memory, on dbrx-instruct's config and an
 * H100's 80 GB, and the runtime's refusal before upload (through {@link FixedMemoryProvider}, a
 * device kind whose free memory the test chooses and which opens no backend).
 */
class DevicePlanTest {
  private static final long GIB = 1L << 30;
  private static final long H100 = 85_029_158_912L; // 79.19 GiB, as cudaMemGetInfo reports it

  @Test
  void dbrxInstructAtBf16DoesNotFitOneH100AndTheWeightsAreNamed() throws Exception {
    DbrxConfig config = MemoryPlanTest.dbrxInstruct();
    EngineOptions options = new EngineOptions(2048, 32, 4096, KvDType.F16, 0);
    MemoryPlan plan = MemoryPlan.of(config, options, MemoryPlan.checkpointBytes(config));
    DevicePlan onGpu = new DevicePlan("cuda:0", plan, new DeviceMemory(H100 - GIB, H100));
    // 263.19 GB of weights + 20 GiB of KV cache + 507,904,000 bytes of activations + 256 MiB.
    assertEquals(263_193_047_040L + 20 * GIB + 507_904_000L + (256L << 20), onGpu.neededBytes());
    assertFalse(onGpu.fits());
    assertEquals(
        "cuda:0: the model needs 265.84 GiB of device memory (weights 245.12 + KV cache 20.00 as"
            + " f16 + activations 0.47 + workspaces 0.25) but 78.19 GiB of its 79.19 GiB are free;"
            + " the weights alone do not fit: quantize them (bin/dbrx quantize --type q8_0 halves"
            + " BF16) or use a GPU with more free memory",
        onGpu.problem());
  }

  @Test
  void aKvCacheOverTheFreeMemoryNamesTheOptionsThatShrinkIt() throws Exception {
    DbrxConfig config = MemoryPlanTest.dbrxInstruct();
    // 10 GB of weights (as if quantized) and an f32 cache of 32 x 32768 positions: 320 KiB each.
    EngineOptions options = new EngineOptions(2048, 32, 32768, KvDType.F32, 0);
    MemoryPlan plan = MemoryPlan.of(config, options, 10L * 1000 * 1000 * 1000);
    assertEquals(320 * GIB, plan.kvCacheBytes());
    DevicePlan onGpu = new DevicePlan("cuda:1", plan, new DeviceMemory(H100, H100));
    assertFalse(onGpu.fits());
    assertTrue(
        onGpu
            .problem()
            .endsWith(
                "lower --max-sequences, --max-seq-len or --kv-cache-tokens (spark.dbrx.maxSequences,"
                    + " maxSeqLen, kvCacheTokens), or store the KV cache as --kv-dtype f16"),
        onGpu.problem());
    // A cache of 32 x 4096 f16 positions (20 GiB) beside the same weights fits.
    MemoryPlan smaller =
        MemoryPlan.of(
            config, new EngineOptions(2048, 32, 4096, KvDType.F16, 0), 10L * 1000 * 1000 * 1000);
    assertNull(new DevicePlan("cuda:1", smaller, new DeviceMemory(H100, H100)).problem());
  }

  @Test
  void theBoundIsTheFreeMemoryNotTheTotal() {
    MemoryPlan plan = new MemoryPlan(GIB, GIB, GIB, 0, Long.MAX_VALUE, Long.MAX_VALUE, KvDType.F16);
    long needed = 3 * GIB + DevicePlan.WORKSPACE_BYTES;
    assertTrue(new DevicePlan("cuda:0", plan, new DeviceMemory(needed, 80 * GIB)).fits());
    assertFalse(new DevicePlan("cuda:0", plan, new DeviceMemory(needed - 1, 80 * GIB)).fits());
  }

  @Test
  void theRuntimeRefusesAModelOverTheDevicesFreeMemoryBeforeUploadingIt() throws Exception {
    Path checkpoint = EngineTest.golden("tiny-bf16");
    // fixedmem:1 has 1 MiB free; the tiny model's weights alone take 1.4 MiB. Its backend throws
    // if opened, so the refusal must come first.
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> DbrxRuntime.load(checkpoint, "fixedmem:1", 1, EngineOptions.defaults()));
    assertTrue(e.getMessage().startsWith("cannot load " + checkpoint + ": fixedmem:1: the model"));
    assertTrue(e.getMessage().contains("but 0.00 GiB of its 80.00 GiB are free"), e.getMessage());
    // With 2 GiB free it fits, and the load goes on to open the device's backend.
    UnsupportedOperationException opened =
        assertThrows(
            UnsupportedOperationException.class,
            () -> DbrxRuntime.load(checkpoint, "fixedmem:2048", 1, EngineOptions.defaults()));
    assertTrue(opened.getMessage().contains("reached the upload"));
    assertEquals(2048L << 20, Devices.memory("fixedmem:2048").freeBytes());
  }

  @Test
  void aCheckpointOpenedOnceIsPlannedAndLoadedWithoutReadingItsFileAgain(@TempDir Path tmp)
      throws Exception {
    Path gguf = EngineTest.golden("tiny-gguf").resolve("model-q8_0.gguf");
    // Each checkpoint's file is gone before the load: a plan or a load that parsed the file's
    // header again would fail on it.
    IllegalArgumentException refused =
        assertThrows(
            IllegalArgumentException.class,
            () -> loadOpenedThenDeleted(gguf, tmp.resolve("a.gguf"), "fixedmem:1"));
    assertTrue(
        refused.getMessage().contains("a.gguf: fixedmem:1: the model"), refused.getMessage());
    UnsupportedOperationException uploaded =
        assertThrows(
            UnsupportedOperationException.class,
            () -> loadOpenedThenDeleted(gguf, tmp.resolve("b.gguf"), "fixedmem:2048"));
    assertTrue(uploaded.getMessage().contains("reached the upload"), uploaded.getMessage());
    int[] prompt = {791, 39935, 374};
    try (DbrxRuntime fromPath = DbrxRuntime.load(gguf, 1, EngineOptions.defaults());
        DbrxRuntime fromOpened = loadOpenedThenDeleted(gguf, tmp.resolve("c.gguf"), Devices.CPU)) {
      assertEquals(greedy(fromPath, prompt), greedy(fromOpened, prompt));
    }
  }

  /**
   * Loads a copy of {@code file} on {@code device} from a checkpoint opened before the copy went.
   */
  private static DbrxRuntime loadOpenedThenDeleted(Path file, Path copy, String device)
      throws IOException {
    Files.copy(file, copy);
    Checkpoint checkpoint = Checkpoint.open(copy);
    Files.delete(copy);
    return DbrxRuntime.load(checkpoint, device, 1, EngineOptions.defaults());
  }

  private static String greedy(DbrxRuntime runtime, int[] prompt) {
    SamplingParams params = SamplingParams.builder().maxNewTokens(4).build();
    return runtime.engine().generate(List.of(new GenerationRequest(prompt, params))).get(0).text();
  }
}
