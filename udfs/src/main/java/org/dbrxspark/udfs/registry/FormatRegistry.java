package org.dbrxspark.udfs.registry;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.dbrxspark.runtime.structured.CompiledFormat;
import org.dbrxspark.runtime.structured.ResponseFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The compiled response formats of this JVM (an executor, or the driver): each format is compiled
 * once, by the first task that needs it, and shared by every task and job after it. As in {@link
 * ModelRegistry}, compiling one format holds only that format's lock, and a failed compile is not
 * remembered.
 *
 * <p>Params from a column may give every row its own format, so the formats kept are bounded by the
 * heap they hold ({@link #BUDGET_BYTES}, a quarter of the heap): past it, the least recently used
 * are dropped, and compiled again if a row needs them.
 */
public final class FormatRegistry {
  private static final Logger LOG = LoggerFactory.getLogger(FormatRegistry.class);

  /**
   * The heap the compiled formats of a JVM may hold: a quarter of it. A JSON object of five strings
   * of up to 500 characters takes 4.5 MB (22,557 states, 5,772 token sets), a string of up to 5,000
   * characters 3.7 MB.
   */
  static final long BUDGET_BYTES = Runtime.getRuntime().maxMemory() / 4;

  private static final FormatRegistry THIS_JVM = new FormatRegistry(BUDGET_BYTES);

  private final long budgetBytes;

  /**
   * By the format's JSON text, so that a row's lookup parses nothing; least recently used first.
   */
  private final Map<String, Slot> slots = new LinkedHashMap<>(16, 0.75f, true);

  FormatRegistry(long budgetBytes) {
    this.budgetBytes = budgetBytes;
  }

  /**
   * The compiled form of the {@link ResponseFormat} written as {@code json}, parsing and compiling
   * it first if this JVM has not, or has dropped it since.
   *
   * @throws IllegalArgumentException for a bad format (naming the part at fault), or one that
   *     nothing the vocabulary can write matches
   */
  public static CompiledFormat compiled(String json) {
    return THIS_JVM.get(json);
  }

  CompiledFormat get(String json) {
    Slot slot;
    synchronized (slots) {
      slot = slots.computeIfAbsent(json, Slot::new);
    }
    CompiledFormat kept = slot.compiled;
    if (kept != null) {
      return kept; // a row's usual lookup: the total held has not grown
    }
    CompiledFormat format;
    try {
      format = slot.get();
    } catch (RuntimeException e) {
      synchronized (slots) {
        slots.remove(json, slot); // a failed compile is not remembered
      }
      throw e;
    }
    trim(slot);
    return format;
  }

  /** The formats kept now, least recently used first: for tests. */
  List<String> kept() {
    synchronized (slots) {
      return new ArrayList<>(slots.keySet());
    }
  }

  /**
   * Drops the least recently used formats until the rest fit the budget; {@code newest}, just used,
   * is kept whatever its size. Slots still compiling hold nothing yet.
   */
  private void trim(Slot newest) {
    synchronized (slots) {
      long total = 0;
      for (Slot slot : slots.values()) {
        total += slot.bytes();
      }
      for (Iterator<Slot> it = slots.values().iterator(); total > budgetBytes && it.hasNext(); ) {
        Slot slot = it.next();
        if (slot != newest && slot.bytes() > 0) {
          total -= slot.bytes();
          it.remove();
          LOG.info(
              "dropped compiled response format {} ({} MB) to keep this JVM's formats under {} MB",
              slot.json,
              slot.bytes() >> 20,
              budgetBytes >> 20);
        }
      }
    }
  }

  private static final class Slot {
    private final String json;
    private volatile CompiledFormat compiled;

    Slot(String json) {
      this.json = json;
    }

    synchronized CompiledFormat get() {
      if (compiled == null) {
        compiled = CompiledFormat.compile(json);
        LOG.info("compiled response format {}: {}", json, compiled.stats());
      }
      return compiled;
    }

    long bytes() {
      CompiledFormat c = compiled;
      return c == null ? 0 : c.bytes();
    }
  }
}
