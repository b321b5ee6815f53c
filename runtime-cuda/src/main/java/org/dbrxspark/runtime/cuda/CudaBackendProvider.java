package org.dbrxspark.runtime.cuda;

import org.dbrxspark.runtime.backend.Backend;
import org.dbrxspark.runtime.backend.BackendProvider;
import org.dbrxspark.runtime.backend.DeviceMemory;

/** Devices {@code cuda:N}: the N-th GPU as the NVIDIA driver numbers them. */
public final class CudaBackendProvider implements BackendProvider {

  @Override
  public String kind() {
    return "cuda";
  }

  @Override
  public String problem(int ordinal) {
    return CudaLibraries.problem(ordinal);
  }

  @Override
  public DeviceMemory memory(int ordinal) {
    return CudaLibraries.memory(ordinal);
  }

  /** Opens the backend; {@code threads} is unused, every operation runs on the GPU. */
  @Override
  public Backend open(int ordinal, int threads) {
    return new CudaBackend(ordinal);
  }
}
