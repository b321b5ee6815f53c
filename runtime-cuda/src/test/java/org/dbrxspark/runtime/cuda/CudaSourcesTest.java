package org.dbrxspark.runtime.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.dbrxspark.runtime.backend.KvDType;
import org.dbrxspark.runtime.checkpoint.DType;
import org.dbrxspark.runtime.config.DbrxConfig;
import org.junit.jupiter.api.Test;

/**
 * The CUDA sources against the Java that launches them, without a GPU: every launch in {@code
 * CudaBackend} names a kernel the sources define and passes as many arguments as it declares, every
 * kernel is launched, and the codes Java passes for types match the sources' enums.
 */
class CudaSourcesTest {
  private static final CudaSources SOURCES = CudaSources.load();

  private static String backendSource() throws IOException {
    return Files.readString(Path.of("src/main/java/org/dbrxspark/runtime/cuda/CudaBackend.java"));
  }

  /** The top-level, comma-separated arguments of the call whose '(' is at {@code open}. */
  private static List<String> arguments(String source, int open) {
    List<String> args = new ArrayList<>();
    int depth = 0;
    int start = open + 1;
    for (int i = open; ; i++) {
      char c = source.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        args.add(source.substring(start, i).trim());
        return args;
      } else if (c == ',' && depth == 1) {
        args.add(source.substring(start, i).trim());
        start = i + 1;
      }
    }
  }

  @Test
  void everyLaunchNamesAKernelOfTheSourcesWithItsArgumentCount() throws IOException {
    String source = backendSource();
    Matcher launch = Pattern.compile("kernels\\.launch\\(").matcher(source);
    Set<String> launched = new TreeSet<>();
    while (launch.find()) {
      List<String> args = arguments(source, launch.end() - 1);
      // name, grid x, grid y, block threads, then the kernel's own arguments
      int passed = args.size() - 4;
      assertTrue(args.get(0).matches("\"\\w+\""), "a kernel named by a literal: " + args.get(0));
      String name = args.get(0).substring(1, args.get(0).length() - 1);
      List<CudaSources.Param> params = SOURCES.kernels().get(name);
      assertNotNull(params, "CudaBackend launches " + name + ", which the sources lack");
      assertEquals(params.size(), passed, "arguments CudaBackend passes to " + name);
      launched.add(name);
    }
    assertEquals(new TreeSet<>(SOURCES.kernels().keySet()), launched, "kernels never launched");
  }

  @Test
  void theLaunchConstantsJavaReadsAreDefined() throws IOException {
    Matcher constant =
        Pattern.compile("kernels\\.constant\\(\"(\\w+)\"\\)").matcher(backendSource());
    int found = 0;
    while (constant.find()) {
      assertTrue(SOURCES.constant(constant.group(1)) > 0, constant.group(1));
      found++;
    }
    assertTrue(found >= 6, "the backend reads its launch geometry from the sources");
  }

  @Test
  void theCodesJavaPassesMatchTheSourcesEnums() {
    String text = SOURCES.text();
    for (DType dtype : DType.values()) {
      assertTrue(
          text.contains("DT_" + dtype.name() + " = " + CudaBackend.typeCode(dtype)), dtype.name());
    }
    for (KvDType dtype : KvDType.values()) {
      assertTrue(
          text.contains("KV_" + dtype.name() + " = " + CudaBackend.kvTypeCode(dtype)),
          dtype.name());
    }
    for (DbrxConfig.Activation activation : DbrxConfig.Activation.values()) {
      assertTrue(
          text.contains(
              "ACT_" + activation.name() + " = " + CudaBackend.activationCode(activation)),
          activation.name());
    }
  }

  @Test
  void kernelSignaturesAreReadParameterByParameter() {
    Map<String, List<CudaSources.Param>> kernels = SOURCES.kernels();
    assertEquals(
        List.of(
            CudaSources.Param.POINTER,
            CudaSources.Param.INT,
            CudaSources.Param.INT,
            CudaSources.Param.POINTER,
            CudaSources.Param.LONG,
            CudaSources.Param.INT,
            CudaSources.Param.INT,
            CudaSources.Param.POINTER),
        kernels.get("linear"));
    assertEquals(CudaSources.Param.DOUBLE, kernels.get("layer_norm").get(4));
    assertEquals(CudaSources.Param.FLOAT, kernels.get("attend").get(10));
    assertTrue(SOURCES.text().startsWith("#line 1 \"common.cuh\""));
  }
}
