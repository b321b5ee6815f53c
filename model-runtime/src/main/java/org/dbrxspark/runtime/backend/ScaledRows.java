package org.dbrxspark.runtime.backend;

/**
 * One term of a grouped {@link Backend#addScaledRows(java.util.List, Activations)}: {@code src}'s
 * row i, times {@code scales[i]}, goes to row {@code rows[i]} of the destination (an expert's
 * output, added into the residual stream).
 */
public record ScaledRows(Activations src, int[] rows, float[] scales) {}
