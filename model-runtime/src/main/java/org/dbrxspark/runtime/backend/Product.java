package org.dbrxspark.runtime.backend;

/** One matrix product of a grouped call: activations {@code x}, weights {@code w}, the output. */
public record Product(Activations x, Weights w, Activations out) {}
