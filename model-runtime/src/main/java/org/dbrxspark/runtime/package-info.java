/**
 * The pure-Java DBRX runtime: {@link org.dbrxspark.runtime.DbrxRuntime} loads a checkpoint (Hugging
 * Face safetensors or GGUF, memory-mapped) onto a device and gives its tokenizer, its
 * continuous-batching generation engine, its scorer and its embedder. {@code docs/runtime.md} tells
 * how the pieces fit.
 */
package org.dbrxspark.runtime;
