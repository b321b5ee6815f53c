package org.dbrxspark.udfs.registry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compiled response formats of this JVM (an executor, or the driver): each format is compiled
 * once, by the first task that needs it, and shared by every task and job after it. As in {@link
 * ModelRegistry}, compiling one format holds only that format's lock, and a failed compile is not
 * remembered.
 */
public final class FormatRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(FormatRegistry.class);

  /** By the format's JSON text, so that a row's lookup parses nothing. */
  private static final Map<String, Slot> SLOTS = new ConcurrentHashMap<>();

  private FormatRegistry() {}

  /**
   * The compiled form of the {@link ResponseFormat} written as {@code json}, parsing and compiling
   * it first if this JVM has not.
   *
   * @throws IllegalArgumentException for a bad format (naming the part at fault), or one that
   *     nothing the vocabulary can write matches
   */
  public static CompiledFormat compiled(String json) {
    return SLOTS.computeIfAbsent(json, Slot::new).get();
  }

  /** How many formats this JVM has compiled: for tests. */
  public static int compiledCount() {
    return (int) SLOTS.values().stream().filter(slot -> slot.compiled != null).count();
  }

  private static final class Slot {
    private final String json;
    private volatile CompiledFormat compiled;

    Slot(String json) {
      this.json = json;
    }

    synchronized CompiledFormat get() {
      if (compiled == null) {
        compiled = CompiledFormat.compile(ResponseFormat.parse(json));
        LOG.info("compiled response format {}: {}", json, compiled.stats());
      }
      return compiled;
    }
  }
}
