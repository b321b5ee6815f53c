package org.dbrxspark.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.checkpoint.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kernels' weight decoding ({@code load_element} and the unit decoders of {@code common.cuh}),
 * compiled for the host by g++ and run on random bytes of every weight type, gives the same bits as
 * the runtime's own dequantization ({@code DType.decode}): the GPU path's most intricate
 * arithmetic, checked without a GPU. Only the two PTX f16 conversions are swapped for the host's
 * {@code _Float16}, which converts the same way; a NaN matches any NaN.
 */
class CudaDecodeTest {
  private static final int ROWS = 3;
  private static final int COLS = 512;

  @TempDir Path tmp;

  @Test
  void everyWeightTypeDecodesAsTheRuntimeDequantizes() throws Exception {
    assumeTrue(
        run(tmp, "g++", "--version") == 0,
        "g++ is not on the PATH: the host check of the kernels' weight decoding needs it");
    StringBuilder cases = new StringBuilder();
    SplittableRandom random = new SplittableRandom(15);
    for (DType dtype : DType.values()) {
      byte[] raw = new byte[Math.toIntExact(ROWS * dtype.bytesFor(COLS))];
      for (int i = 0; i < raw.length; i++) {
        raw[i] = (byte) random.nextInt(256);
      }
      float[] want = new float[ROWS * COLS];
      dtype.decode(ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN), 0, want, 0, ROWS * COLS);
      ByteBuffer floats = ByteBuffer.allocate(4 * want.length).order(ByteOrder.LITTLE_ENDIAN);
      floats.asFloatBuffer().put(want);
      Files.write(tmp.resolve(dtype + ".bin"), raw);
      Files.write(tmp.resolve(dtype + ".f32"), floats.array());
      cases.append(
          String.format(
              "  failures += check(\"%s\", DT_%s, %d);%n", dtype, dtype, dtype.bytesFor(COLS)));
    }
    Files.writeString(tmp.resolve("decode.cpp"), harness(cases.toString()));
    assertEquals(
        0,
        run(tmp, "g++", "-std=c++17", "-O2", "-ffp-contract=fast", "-o", "decode", "decode.cpp"),
        () -> "g++ failed: " + read(tmp.resolve("out.txt")));
    int failures = run(tmp, tmp.resolve("decode").toString());
    String report = read(tmp.resolve("out.txt"));
    assertEquals(0, failures, report);
    assertTrue(report.contains("Q6_K: 0 of " + ROWS * COLS), report);
  }

  /** common.cuh with host f16 conversions, and a main that compares each type's files. */
  private static String harness(String cases) {
    String common = CudaSources.load().text();
    common = common.substring(0, common.indexOf("#line 1 \"matmul.cu\""));
    common =
        replaceFunction(
            common,
            "float f16_to_float(u16 h)",
            "{ _Float16 v; memcpy(&v, &h, 2); return (float) v; }");
    common =
        replaceFunction(
            common,
            "u16 float_to_f16(float f)",
            "{ _Float16 v = (_Float16) f; u16 h; memcpy(&h, &v, 2); return h; }");
    return """
        #include <cmath>
        #include <cstdio>
        #include <cstring>
        #include <vector>
        #define __device__
        #define __forceinline__ inline
        #define __shfl_down_sync(mask, v, offset) (v)
        static float __uint_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
        static unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
        static float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
        """
        + common
        + """
        static std::vector<char> slurp(const char* path) {
          std::vector<char> bytes;
          FILE* f = fopen(path, "rb");
          char buffer[4096];
          size_t n;
          while ((n = fread(buffer, 1, sizeof buffer, f)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
          fclose(f);
          return bytes;
        }
        static int check(const char* name, int dtype, long rowBytes) {
          char path[64];
          snprintf(path, sizeof path, "%s.bin", name);
          std::vector<char> raw = slurp(path);
          snprintf(path, sizeof path, "%s.f32", name);
          std::vector<char> want = slurp(path);
          int differ = 0;
          for (int r = 0; r < ROWS; r++) {
            for (int c = 0; c < COLS; c++) {
              float got = load_element(dtype, (const u8*) raw.data() + r * rowBytes, c);
              float expected;
              memcpy(&expected, want.data() + 4 * (r * COLS + c), 4);
              bool same = memcmp(&got, &expected, 4) == 0 || (std::isnan(got) && std::isnan(expected));
              if (!same && differ++ < 3) printf("%s row %d col %d: %a, not %a\\n", name, r, c, got, expected);
            }
          }
          printf("%s: %d of %d elements differ\\n", name, differ, ROWS * COLS);
          return differ;
        }
        int main() {
          int failures = 0;
        """
            .replace("ROWS", String.valueOf(ROWS))
            .replace("COLS", String.valueOf(COLS))
        + cases
        + "  return failures != 0;\n}\n";
  }

  /** {@code source} with the body of the function whose signature is {@code signature} replaced. */
  private static String replaceFunction(String source, String signature, String body) {
    Matcher m =
        Pattern.compile(Pattern.quote(signature) + " \\{.*?\\n\\}", Pattern.DOTALL).matcher(source);
    assertTrue(m.find(), "common.cuh no longer defines " + signature);
    return source.substring(0, m.start()) + signature + " " + body + source.substring(m.end());
  }

  /**
   * Runs a command in {@code dir}, its output to out.txt; its exit status, -1 if it cannot start.
   */
  private static int run(Path dir, String... command) throws InterruptedException {
    try {
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("out.txt").toFile())
              .start();
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " timed out");
      return p.exitValue();
    } catch (IOException e) {
      return -1;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
