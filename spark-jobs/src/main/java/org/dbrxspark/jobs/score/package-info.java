/**
 * {@code score}: per-document log-probability and perplexity with the udfs scorer, optionally
 * rejecting documents above a perplexity bound.
 */
package org.dbrxspark.jobs.score;
