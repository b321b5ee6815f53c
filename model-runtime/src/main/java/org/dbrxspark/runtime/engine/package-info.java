/**
 * What callers run: the continuous-batching {@link org.dbrxspark.runtime.engine.Engine} (generation
 * over the paged KV cache, with admission and preemption), the {@link
 * org.dbrxspark.runtime.engine.Scorer} and {@link org.dbrxspark.runtime.engine.Embedder}, sampling,
 * their requests and results, and the memory plan that sizes the KV budget.
 */
package org.dbrxspark.runtime.engine;
