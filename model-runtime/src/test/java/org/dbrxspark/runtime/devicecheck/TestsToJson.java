package org.dbrxspark.runtime.devicecheck;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/**
 * Runs test classes without Maven and writes each test's outcome as JSON: scripts/device-check runs
 * the conformance suite and the golden tests this way from its bundle, on a machine with no build
 * tools. Usage: {@code TestsToJson OUT.json CLASS...}; exits 0 when every test passed, 1 when any
 * failed or none ran.
 */
public final class TestsToJson {
  private TestsToJson() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: TestsToJson OUT.json CLASS...");
      System.exit(2);
    }
    ObjectMapper json = new ObjectMapper();
    ObjectNode report = json.createObjectNode();
    report.put("device", System.getProperty("dbrx.test.devices", "all of TestDevices"));
    ArrayNode tests = report.putArray("tests");
    int[] counts = new int[3]; // passed, failed, skipped
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(
                Arrays.stream(args, 1, args.length).map(DiscoverySelectors::selectClass).toList())
            .build();
    Launcher launcher = LauncherFactory.create();
    launcher.execute(
        request,
        new TestExecutionListener() {
          private TestPlan plan;

          @Override
          public void testPlanExecutionStarted(TestPlan testPlan) {
            plan = testPlan;
          }

          @Override
          public void executionSkipped(TestIdentifier id, String reason) {
            counts[2]++;
            tests.addObject().put("test", name(id)).put("status", "skipped").put("why", reason);
          }

          @Override
          public void executionFinished(TestIdentifier id, TestExecutionResult result) {
            // Containers count only when they fail (a class whose setup throws).
            if (!id.isTest() && result.getStatus() == TestExecutionResult.Status.SUCCESSFUL) {
              return;
            }
            ObjectNode test = tests.addObject().put("test", name(id));
            switch (result.getStatus()) {
              case SUCCESSFUL -> {
                counts[0]++;
                test.put("status", "passed");
              }
              case ABORTED -> {
                counts[2]++;
                test.put("status", "skipped");
              }
              case FAILED -> {
                counts[1]++;
                test.put("status", "failed");
              }
            }
            result
                .getThrowable()
                .ifPresent(
                    t -> {
                      test.put("error", String.valueOf(t));
                      StringWriter trace = new StringWriter();
                      t.printStackTrace(new PrintWriter(trace));
                      String text = trace.toString();
                      test.put("trace", text.substring(0, Math.min(text.length(), 4000)));
                    });
            System.out.println(test.get("status").asText() + " " + test.get("test").asText());
          }

          /** The class and display names from the root down, without the engine. */
          private String name(TestIdentifier id) {
            StringBuilder name = new StringBuilder(id.getDisplayName());
            for (TestIdentifier p = parent(id); p != null; p = parent(p)) {
              if (p.getParentId().isPresent()) {
                name.insert(0, p.getDisplayName() + " > ");
              }
            }
            return name.toString();
          }

          private TestIdentifier parent(TestIdentifier id) {
            return plan == null ? null : plan.getParent(id).orElse(null);
          }
        });
    report.put("passed", counts[0]).put("failed", counts[1]).put("skipped", counts[2]);
    json.writerWithDefaultPrettyPrinter().writeValue(Path.of(args[0]).toFile(), report);
    System.out.printf(
        "%d passed, %d failed, %d skipped -> %s%n", counts[0], counts[1], counts[2], args[0]);
    System.exit(counts[1] == 0 && counts[0] > 0 ? 0 : 1);
  }
}
