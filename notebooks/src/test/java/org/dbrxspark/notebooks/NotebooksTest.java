package org.dbrxspark.notebooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.dbrxspark.notebooks.NotebookRunner.Executed;
import org.junit.jupiter.api.Test;

/**
 * Executes every notebook of this folder on the project's Jupyter kernel, the way a user's
 * Jupyter would (kernel.json, connection file, messaging protocol), and checks what the cells
 * printed and displayed. The executed copies go to {@code target/executed-notebooks/}.
 */
class NotebooksTest {
    private static final Path KERNEL = Path.of("target", "jupyter", "kernels", "dbrx-spark-java");
    private static final Path EXECUTED = Path.of("target", "executed-notebooks");
    private static final Duration CELL_TIMEOUT = Duration.ofMinutes(5);

    private static Executed run(String notebook) throws IOException {
        return NotebookRunner.run(Path.of(notebook), KERNEL, EXECUTED, CELL_TIMEOUT);
    }

    @Test
    void generateAndScore() throws IOException {
        Executed nb = run("02-generate-and-score.ipynb");

        // Six prompts, one null: five generated within their budgets (16, 24, 8), one error row.
        Matcher totals = find(nb.cell("generations: rows=").text(),
            "generations: rows=(\\d+) generated_tokens=(\\d+) errors=(\\d+)");
        assertEquals("6", totals.group(1));
        assertEquals(3 * 16 + 24 + 8, Integer.parseInt(totals.group(2)));
        assertEquals("1", totals.group(3));
        assertTrue(nb.cell("generations: rows=").text().contains("the prompt is null"));

        assertTrue(nb.text().contains("same text from 1 and 3 partitions as stored: true"));
        assertTrue(nb.text().contains("scored: rows=5 errors=0"));
        assertTrue(nb.text().contains("SQL and transformer agree on 5 of 5 prompts"));
        assertTrue(nb.cell("temprature").text().contains("temprature"), "the bad key is named in the row's error");

        List<BufferedImage> charts = nb.cell("CategoryChartBuilder").images();
        assertEquals(1, charts.size());
        assertEquals(640, charts.get(0).getWidth());
    }

    @Test
    void gpuExecutors() throws IOException {
        Executed nb = run("04-gpu-executors.ipynb");

        assertTrue(nb.text().contains("generations: rows=16 errors=0"));
        // A CPU executor of the default profile, and a GPU executor of profile 1 with both GPUs.
        String executors = nb.cell("allexecutors").text();
        find(executors, "(?m)^\\d+\\s+0\\s+1\\s*$");
        find(executors, "(?m)^\\d+\\s+1\\s+2\\s+\\[\"0\",\"1\"\\]$");
        // Tasks were pinned to each GPU, and each GPU got its own model instance.
        String logs = nb.cell("DeviceSelection").text();
        for (String gpu : List.of("gpu:0", "gpu:1")) {
            find(logs, "task \\d+ \\(stage \\d+, partition \\d+\\) -> " + gpu);
            find(logs, "loaded DBRX model \\S+ on " + gpu);
        }
        assertTrue(nb.text().contains("16 of 16 rows equal the driver's own decode"));
    }

    /** Notebooks are committed without outputs: they are produced here, never stored stale. */
    @Test
    void committedNotebooksHaveNoOutputs() throws IOException {
        List<Path> notebooks = notebooks();
        assertFalse(notebooks.isEmpty());
        ObjectMapper json = new ObjectMapper();
        for (Path notebook : notebooks) {
            JsonNode document = json.readTree(notebook.toFile());
            assertEquals("dbrx-spark-java", document.path("metadata").path("kernelspec").path("name").asText(),
                notebook + " uses the project's kernel");
            for (JsonNode cell : document.path("cells")) {
                if (cell.path("cell_type").asText().equals("code")) {
                    assertTrue(cell.path("outputs").isEmpty() && cell.path("execution_count").isNull(),
                        notebook + " has outputs in the cell:\n" + NotebookRunner.source(cell));
                }
            }
        }
    }

    private static List<Path> notebooks() throws IOException {
        try (Stream<Path> files = Files.list(Path.of("."))) {
            return files.filter(f -> f.toString().endsWith(".ipynb")).sorted().toList();
        }
    }

    private static Matcher find(String text, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        assertTrue(matcher.find(), () -> "no match for /" + regex + "/ in:\n" + text);
        return matcher;
    }
}
