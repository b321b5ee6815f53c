package org.dbrxspark.notebooks;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;

/**
 * Runs a notebook headlessly, as {@code jupyter nbconvert --execute} does: a fresh kernel in the
 * notebook's folder, every code cell in order, stop at the first error. The executed copy, with its
 * outputs, is written to an output folder; the notebook itself is left as it is.
 */
final class NotebookRunner {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** The outputs of one code cell, with the text and images a test checks. */
  record Cell(String source, List<ObjectNode> outputs) {
    /** Everything the cell printed or returned as text: stdout, stderr, text results. */
    String text() {
      StringBuilder text = new StringBuilder();
      for (ObjectNode output : outputs) {
        text.append(output.path("text").asText());
        JsonNode data = output.path("data");
        text.append(data.path("text/plain").asText()).append(data.path("text/html").asText());
      }
      return text.toString();
    }

    /** The PNG images the cell displayed, decoded. */
    List<BufferedImage> images() {
      List<BufferedImage> images = new ArrayList<>();
      for (ObjectNode output : outputs) {
        JsonNode png = output.path("data").path("image/png");
        if (png.isTextual()) {
          byte[] bytes = Base64.getMimeDecoder().decode(png.asText());
          try {
            images.add(ImageIO.read(new ByteArrayInputStream(bytes)));
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
      return images;
    }
  }

  /** An executed notebook: its code cells in order, and where the executed copy was saved. */
  record Executed(Path saved, List<Cell> cells) {
    /** The one cell whose source contains {@code marker}. */
    Cell cell(String marker) {
      List<Cell> found = cells.stream().filter(c -> c.source().contains(marker)).toList();
      if (found.size() != 1) {
        fail(found.size() + " cells contain '" + marker + "' in " + saved);
      }
      return found.get(0);
    }

    /** The text of every cell. */
    String text() {
      return cells.stream().map(Cell::text).collect(Collectors.joining());
    }

    /** Every image of every cell. */
    List<BufferedImage> images() {
      return cells.stream().flatMap(c -> c.images().stream()).toList();
    }
  }

  private NotebookRunner() {}

  /**
   * Executes {@code notebook} on the kernel in {@code kernelSpec} and saves the executed copy under
   * {@code outputDir}. A cell that fails, or runs longer than {@code cellTimeout}, fails the test
   * with the cell's source and the kernel's message.
   */
  static Executed run(Path notebook, Path kernelSpec, Path outputDir, Duration cellTimeout)
      throws IOException {
    ObjectNode document = (ObjectNode) JSON.readTree(notebook.toFile());
    String name = notebook.getFileName().toString();
    Path saved = Files.createDirectories(outputDir).resolve(name);
    Path log = outputDir.resolve(name.replaceFirst("\\.ipynb$", "") + ".kernel.log");
    List<Cell> cells = new ArrayList<>();
    long start = System.nanoTime();
    try (KernelClient kernel =
        KernelClient.start(
            kernelSpec, notebook.toAbsolutePath().getParent(), log, Duration.ofMinutes(2))) {
      System.out.printf("%s: kernel ready in %.1f s%n", name, (System.nanoTime() - start) / 1e9);
      for (JsonNode node : document.withArray("cells")) {
        ObjectNode cell = (ObjectNode) node;
        if (!cell.path("cell_type").asText().equals("code")) {
          continue;
        }
        String source = source(cell);
        long cellStart = System.nanoTime();
        KernelClient.Execution execution = kernel.execute(source, cellTimeout);
        System.out.printf(
            "%s cell %d: %.1f s%n", name, cells.size() + 1, (System.nanoTime() - cellStart) / 1e9);
        cell.put("execution_count", execution.executionCount());
        ArrayNode outputs = cell.putArray("outputs");
        execution.outputs().forEach(outputs::add);
        cells.add(new Cell(source, execution.outputs()));
        if (!execution.status().equals("ok")) {
          JSON.writeValue(saved.toFile(), document);
          fail(
              "cell "
                  + cells.size()
                  + " of "
                  + name
                  + " failed (executed copy: "
                  + saved
                  + "):\n"
                  + source
                  + "\n---\n"
                  + errorText(execution.outputs())
                  + "\n"
                  + kernel.logTail());
        }
      }
      System.out.printf(
          "%s: %.1f s in all, kernel CPU %.1f s%n",
          name, (System.nanoTime() - start) / 1e9, kernel.cpuTime().toMillis() / 1e3);
    }
    JSON.writeValue(saved.toFile(), document);
    return new Executed(saved, cells);
  }

  /** Reads a notebook that something else executed (jupyter nbconvert). */
  static Executed read(Path executed) throws IOException {
    List<Cell> cells = new ArrayList<>();
    for (JsonNode cell : JSON.readTree(executed.toFile()).path("cells")) {
      if (cell.path("cell_type").asText().equals("code")) {
        List<ObjectNode> outputs = new ArrayList<>();
        cell.path("outputs").forEach(o -> outputs.add(joinLines((ObjectNode) o)));
        cells.add(new Cell(source(cell), outputs));
      }
    }
    return new Executed(executed, cells);
  }

  /**
   * nbformat may store multi-line strings as lists of lines; one string each is easier to check.
   */
  private static ObjectNode joinLines(ObjectNode output) {
    ObjectNode joined = output.deepCopy();
    if (joined.path("text").isArray()) {
      joined.put("text", join(joined.path("text")));
    }
    if (joined.path("data").isObject()) {
      ObjectNode data = (ObjectNode) joined.path("data");
      data.fieldNames()
          .forEachRemaining(
              mime -> {
                if (data.path(mime).isArray()) {
                  data.put(mime, join(data.path(mime)));
                }
              });
    }
    return joined;
  }

  private static String join(JsonNode lines) {
    StringBuilder text = new StringBuilder();
    lines.forEach(line -> text.append(line.asText()));
    return text.toString();
  }

  /** A cell's source: nbformat allows one string or a list of lines. */
  static String source(JsonNode cell) {
    JsonNode source = cell.path("source");
    return source.isArray() ? join(source) : source.asText();
  }

  private static String errorText(List<ObjectNode> outputs) {
    StringBuilder text = new StringBuilder();
    for (ObjectNode output : outputs) {
      if (output.path("output_type").asText().equals("error")) {
        text.append(output.path("ename").asText())
            .append(": ")
            .append(output.path("evalue").asText())
            .append('\n');
        output.path("traceback").forEach(line -> text.append(line.asText()).append('\n'));
      } else {
        text.append(output.path("text").asText());
      }
    }
    // Tracebacks carry ANSI colours for the notebook front end.
    return text.toString().replaceAll("\u001B\\[[0-9;]*m", "");
  }
}
