/**
 * The CUDA backend (device {@code cuda:N}): weights, activations and the paged KV cache in GPU
 * memory, and the operations of a forward step as CUDA C kernels that NVRTC compiles at load for
 * the device's own architecture. {@link org.dbrxspark.runtime.cuda.CudaBackendProvider} is found by
 * {@code Devices} through {@link java.util.ServiceLoader}; {@link
 * org.dbrxspark.runtime.cuda.CudaLibraries} says, by library and driver version, why a host cannot
 * use CUDA.
 */
package org.dbrxspark.runtime.cuda;
