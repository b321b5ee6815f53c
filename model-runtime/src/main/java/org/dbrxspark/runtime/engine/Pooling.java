package org.dbrxspark.runtime.engine;

/** How a sequence's final hidden states become one embedding. */
public enum Pooling {
  /** Mean over every token of the sequence. */
  MEAN,
  /** The last token's state: it alone has attended to the whole sequence. */
  LAST
}
