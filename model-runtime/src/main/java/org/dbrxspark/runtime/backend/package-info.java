/**
 * The seam between the forward pass and the hardware. {@link org.dbrxspark.runtime.backend.Backend}
 * has one method per operation of a DBRX step, over {@link
 * org.dbrxspark.runtime.backend.Activations}, {@link org.dbrxspark.runtime.backend.Weights} and
 * {@link org.dbrxspark.runtime.backend.KvStorage} that the backend holds; {@code Devices.backend}
 * picks one by device name. The CPU backend lives in {@code kernels}; a backend passes the
 * conformance suite in the test tree.
 */
package org.dbrxspark.runtime.backend;
