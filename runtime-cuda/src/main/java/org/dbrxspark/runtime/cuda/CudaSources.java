package org.dbrxspark.runtime.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The backend's CUDA C, resource files beside this class, assembled into one translation unit:
 * {@code common.cuh} first, then a file per concern. {@code #line} directives make NVRTC's errors
 * name the file and line. The kernels' signatures and the launch constants ({@code #define}s such
 * as {@code ATTEND_THREADS}) are read from the source itself, so Java never restates them.
 */
final class CudaSources {
  static final List<String> FILES =
      List.of("common.cuh", "matmul.cu", "norm.cu", "elementwise.cu", "attention.cu", "route.cu");

  /** What a kernel parameter takes, by its declared type. */
  enum Param {
    POINTER,
    INT,
    LONG,
    FLOAT,
    DOUBLE;

    static Param of(String declaration, String kernel) {
      String type = declaration.substring(0, declaration.lastIndexOf(' ')).trim();
      if (type.endsWith("*")) {
        return POINTER;
      }
      return switch (type) {
        case "int" -> INT;
        case "long long" -> LONG;
        case "float" -> FLOAT;
        case "double" -> DOUBLE;
        default ->
            throw new IllegalStateException(
                "kernel " + kernel + ": parameter '" + declaration + "' has an unsupported type");
      };
    }
  }

  private static final Pattern KERNEL =
      Pattern.compile("extern \"C\" __global__ void (\\w+)\\s*\\(([^)]*)\\)");

  private static final Pattern DEFINE = Pattern.compile("(?m)^#define (\\w+) (\\d+)\\s*$");

  private final String text;
  private final Map<String, List<Param>> kernels = new LinkedHashMap<>();
  private final Map<String, Integer> constants = new LinkedHashMap<>();

  private CudaSources(String text) {
    this.text = text;
    Matcher k = KERNEL.matcher(text);
    while (k.find()) {
      List<Param> params = new ArrayList<>();
      for (String declaration : k.group(2).split(",")) {
        params.add(Param.of(declaration.trim(), k.group(1)));
      }
      if (kernels.put(k.group(1), List.copyOf(params)) != null) {
        throw new IllegalStateException("kernel " + k.group(1) + " is defined twice");
      }
    }
    Matcher d = DEFINE.matcher(text);
    while (d.find()) {
      constants.put(d.group(1), Integer.parseInt(d.group(2)));
    }
  }

  /** The sources as shipped in this module. */
  static CudaSources load() {
    StringBuilder text = new StringBuilder();
    for (String file : FILES) {
      try (InputStream in = CudaSources.class.getResourceAsStream(file)) {
        if (in == null) {
          throw new IllegalStateException(
              "CUDA source " + file + " is missing from the class path");
        }
        text.append("#line 1 \"")
            .append(file)
            .append("\"\n")
            .append(new String(in.readAllBytes(), StandardCharsets.UTF_8))
            .append('\n');
      } catch (IOException e) {
        throw new UncheckedIOException("reading CUDA source " + file, e);
      }
    }
    return new CudaSources(text.toString());
  }

  /** The translation unit NVRTC compiles. */
  String text() {
    return text;
  }

  /** Every {@code extern "C"} kernel, with what each of its parameters takes, in order. */
  Map<String, List<Param>> kernels() {
    return kernels;
  }

  /** The value of {@code #define name N}; the launch geometry the kernels are written for. */
  int constant(String name) {
    Integer value = constants.get(name);
    if (value == null) {
      throw new IllegalStateException("the CUDA sources define no constant " + name);
    }
    return value;
  }
}
