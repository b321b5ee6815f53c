package org.dbrxspark.benchmarks.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Samples the 1-minute load average ({@code /proc/loadavg}) every 5 seconds and files each sample
 * under the phase running at the time: the machine is shared, and the figures only mean something
 * next to the load they were measured under.
 */
final class LoadMonitor implements AutoCloseable {
  private final Map<String, List<Double>> samples = new LinkedHashMap<>();
  private final Thread thread;
  private volatile String phase = "start";

  LoadMonitor() {
    thread = Periodic.start("load-monitor", 5000, this::record);
  }

  /** Files the following samples under {@code name}, starting with one taken now. */
  void phase(String name) {
    phase = name;
    record();
  }

  private synchronized void record() {
    double load = now();
    if (load >= 0) {
      samples.computeIfAbsent(phase, k -> new ArrayList<>()).add(load);
    }
  }

  /** The current 1-minute load average; -1 where /proc is not available. */
  static double now() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** Mean and maximum of a phase's samples, e.g. "5.1 (max 7.9)"; "n/a" without samples. */
  synchronized String summary(String name) {
    List<Double> s = samples.get(name);
    if (s == null || s.isEmpty()) {
      return "n/a";
    }
    double mean = s.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    double max = s.stream().mapToDouble(Double::doubleValue).max().orElse(0);
    return String.format(java.util.Locale.ROOT, "%.1f (max %.1f)", mean, max);
  }

  @Override
  public void close() {
    thread.interrupt();
  }
}
