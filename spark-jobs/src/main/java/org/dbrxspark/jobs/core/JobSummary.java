package org.dbrxspark.jobs.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one-screen report a job prints when it ends: labelled counts and values, plus the
 * reconciliation checks (for example input = kept + rejected) that must hold.
 */
public final class JobSummary {
    private final String title;
    private final Map<String, Object> entries = new LinkedHashMap<>();
    private final List<String> checks = new ArrayList<>();
    private boolean balanced = true;

    public JobSummary(String title) {
        this.title = title;
    }

    /** Adds (or replaces) one line. */
    public JobSummary put(String label, Object value) {
        entries.put(label, value);
        return this;
    }

    /** Records the check {@code total = sum(parts)}; a mismatch is shown and makes {@link #balanced()} false. */
    public JobSummary reconcile(String equation, long total, long... parts) {
        long sum = 0;
        for (long p : parts) {
            sum += p;
        }
        boolean ok = sum == total;
        balanced &= ok;
        checks.add(equation + ": " + total + " = " + join(parts) + (ok ? "  [ok]" : "  [MISMATCH: " + sum + "]"));
        return this;
    }

    private static String join(long[] parts) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < parts.length; i++) {
            sb.append(i == 0 ? "" : " + ").append(parts[i]);
        }
        return sb.toString();
    }

    /** Whether every reconciliation check held. */
    public boolean balanced() {
        return balanced;
    }

    @Override
    public String toString() {
        int width = entries.keySet().stream().mapToInt(String::length).max().orElse(0) + 2;
        String rule = "=".repeat(Math.max(40, title.length() + 4));
        StringBuilder sb = new StringBuilder();
        sb.append(rule).append('\n').append("  ").append(title).append('\n').append(rule).append('\n');
        entries.forEach((k, v) -> sb.append(String.format("  %-" + width + "s%s%n", k, v)));
        if (!checks.isEmpty()) {
            sb.append("  ").append("-".repeat(rule.length() - 2)).append('\n');
            checks.forEach(c -> sb.append("  ").append(c).append('\n'));
        }
        sb.append(rule).append('\n');
        return sb.toString();
    }
}
