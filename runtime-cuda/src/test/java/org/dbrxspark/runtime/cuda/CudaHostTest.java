package org.dbrxspark.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.checkpoint.DType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels' arithmetic checked without a GPU: the CUDA sources compiled for the host by g++ and
 * run by {@code host/emulator.h} (a block's threads as host threads, barriers for {@code
 * __syncthreads} and warp shuffles). Only the two PTX f16 conversions are swapped for the host's
 * {@code _Float16}, which rounds the same way. What this cannot see: the driver, the launch through
 * it, the GPU's own memory and timing.
 */
class CudaHostTest {
  @TempDir Path tmp;

  @BeforeEach
  void hostSources() throws IOException, InterruptedException {
    for (String file : List.of("emulator.h", "kernel-checks.cpp", "decode-check.cpp")) {
      try (InputStream in = CudaHostTest.class.getResourceAsStream("host/" + file)) {
        Files.write(tmp.resolve(file), in.readAllBytes());
      }
    }
    Files.writeString(tmp.resolve("kernels.h"), hostKernels());
    Files.writeString(tmp.resolve("probe.cpp"), "#include <barrier>\nint main() { return 0; }\n");
    assumeTrue(
        run("g++", "-std=c++20", "-o", "probe", "probe.cpp") == 0,
        "no g++ with C++20 (<barrier>) here: the host checks of the kernels need one");
  }

  /** Every kernel source, the PTX f16 conversions replaced by the host's. */
  private static String hostKernels() {
    String source = CudaSources.load().text();
    source =
        replaceFunction(
            source,
            "float f16_to_float(u16 h)",
            "{ _Float16 v; memcpy(&v, &h, 2); return (float) v; }");
    return replaceFunction(
        source,
        "u16 float_to_f16(float f)",
        "{ _Float16 v = (_Float16) f; u16 h; memcpy(&h, &v, 2); return h; }");
  }

  private static String replaceFunction(String source, String signature, String body) {
    Matcher m =
        Pattern.compile(Pattern.quote(signature) + " \\{.*?\\n\\}", Pattern.DOTALL).matcher(source);
    assertTrue(
        m.find(), "common.cuh no longer defines " + signature + " as the host checks expect");
    return source.substring(0, m.start()) + signature + " " + body + source.substring(m.end());
  }

  @Test
  void everyKernelMatchesItsFloat64Reference() throws Exception {
    String checks = Files.readString(tmp.resolve("kernel-checks.cpp"));
    for (String kernel : CudaSources.load().kernels().keySet()) {
      assertTrue(checks.contains(kernel + "("), "kernel-checks.cpp never runs " + kernel);
    }
    compile("kernel-checks.cpp", "kernel-checks");
    int status = run(tmp.resolve("kernel-checks").toString());
    assertEquals(0, status, output());
    assertEquals("0 failures", output().trim());
  }

  /** Random bytes of every weight type (F32 to Q6_K), 3 rows of 512, decoded both ways. */
  @Test
  void everyWeightTypeDecodesAsTheRuntimeDequantizes() throws Exception {
    compile("decode-check.cpp", "decode-check");
    int rows = 3;
    int cols = 512;
    List<String> command = new ArrayList<>(List.of(tmp.resolve("decode-check").toString()));
    command.addAll(List.of(String.valueOf(rows), String.valueOf(cols)));
    SplittableRandom random = new SplittableRandom(15);
    for (DType dtype : DType.values()) {
      byte[] raw = new byte[Math.toIntExact(rows * dtype.bytesFor(cols))];
      for (int i = 0; i < raw.length; i++) {
        raw[i] = (byte) random.nextInt(256);
      }
      float[] want = new float[rows * cols];
      dtype.decode(ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN), 0, want, 0, want.length);
      ByteBuffer floats = ByteBuffer.allocate(4 * want.length).order(ByteOrder.LITTLE_ENDIAN);
      floats.asFloatBuffer().put(want);
      Files.write(tmp.resolve(dtype + ".bin"), raw);
      Files.write(tmp.resolve(dtype + ".f32"), floats.array());
      command.addAll(
          List.of(
              dtype.name(),
              String.valueOf(CudaBackend.typeCode(dtype)),
              String.valueOf(dtype.bytesFor(cols))));
    }
    int status = run(command.toArray(String[]::new));
    assertEquals(0, status, output());
    assertTrue(output().contains("Q6_K: 0 of " + rows * cols), output());
  }

  private void compile(String source, String binary) throws InterruptedException {
    assertEquals(
        0,
        run("g++", "-std=c++20", "-O1", "-pthread", "-ffp-contract=fast", "-o", binary, source),
        this::output);
  }

  /** Runs a command in the test's folder, its output to out.txt; its exit status, -1 unstarted. */
  private int run(String... command) throws InterruptedException {
    try {
      Process p =
          new ProcessBuilder(command)
              .directory(tmp.toFile())
              .redirectErrorStream(true)
              .redirectOutput(tmp.resolve("out.txt").toFile())
              .start();
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    }
  }

  private String output() {
    try {
      return Files.readString(tmp.resolve("out.txt"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
