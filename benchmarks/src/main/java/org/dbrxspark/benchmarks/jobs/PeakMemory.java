package org.dbrxspark.benchmarks.jobs;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * Peak memory of this JVM while a benchmark runs:
 *
 * <ul>
 *   <li>heap used, sampled every 20 ms (includes garbage not collected yet);
 *   <li>live heap: the heap in use right after a garbage collection, the largest seen (what the
 *       process really had to keep; the figure that shows a blow-up);
 *   <li>resident set size: the kernel's high-water mark {@code VmHWM} of {@code /proc/self/status}
 *       (heap, off-heap buffers, code, threads: what the machine had to provide).
 * </ul>
 */
final class PeakMemory implements AutoCloseable {
  private final AtomicLong heapUsed = new AtomicLong();
  private final AtomicLong liveHeap = new AtomicLong();
  private final Set<String> heapPools = new HashSet<>();
  private final Thread sampler;
  private final NotificationListener listener =
      (notification, handback) -> {
        if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
            notification.getType())) {
          GarbageCollectionNotificationInfo info =
              GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
          long after = 0;
          for (var e : info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
            if (heapPools.contains(e.getKey())) {
              after += e.getValue().getUsed();
            }
          }
          liveHeap.accumulateAndGet(after, Math::max);
        }
      };

  PeakMemory() {
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP) {
        heapPools.add(pool.getName());
      }
    }
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      ((NotificationEmitter) gc).addNotificationListener(listener, null, null);
    }
    sampler =
        Periodic.start(
            "peak-memory",
            20,
            () ->
                heapUsed.accumulateAndGet(
                    ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max));
  }

  long heapUsedPeak() {
    return heapUsed.get();
  }

  long liveHeapPeak() {
    return liveHeap.get();
  }

  /** The resident set size high-water mark in bytes; -1 where /proc is not available. */
  static long residentPeak() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  /** The three peaks in MiB, as JSON. */
  ObjectNode json() {
    ObjectNode peaks = JsonNodeFactory.instance.objectNode();
    peaks.put("heap_used_mib", Math.round(heapUsedPeak() / 1048576.0));
    peaks.put("live_heap_mib", Math.round(liveHeapPeak() / 1048576.0));
    peaks.put("rss_mib", Math.round(residentPeak() / 1048576.0));
    return peaks;
  }

  @Override
  public void close() {
    sampler.interrupt();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      try {
        ((NotificationEmitter) gc).removeNotificationListener(listener);
      } catch (javax.management.ListenerNotFoundException e) {
        // never added to this collector: nothing to remove
      }
    }
  }
}
