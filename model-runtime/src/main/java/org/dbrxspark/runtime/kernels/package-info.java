/**
 * The CPU backend: {@link org.dbrxspark.runtime.kernels.CpuBackend} and the Vector API kernels
 * behind it (BF16 int-pair rows, block-quantized tiles widened once per batch and Q8_0/Q4_0 blocks
 * for a single token, widened rows for the other types), the worker pool they share, and the
 * off-heap KV storage. Nothing outside this package calls a kernel.
 */
package org.dbrxspark.runtime.kernels;
