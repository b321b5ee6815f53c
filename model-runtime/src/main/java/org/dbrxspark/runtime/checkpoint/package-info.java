/**
 * Checkpoints, memory-mapped and validated: Hugging Face folders (config.json and safetensors) and
 * llama.cpp GGUF files, opened by {@link org.dbrxspark.runtime.checkpoint.Checkpoint#open}; their
 * element and block types ({@link org.dbrxspark.runtime.checkpoint.DType}); and the writers: random
 * checkpoints for tests and benchmarks, and GGUF files ({@link
 * org.dbrxspark.runtime.checkpoint.GgufQuantizer}).
 */
package org.dbrxspark.runtime.checkpoint;
