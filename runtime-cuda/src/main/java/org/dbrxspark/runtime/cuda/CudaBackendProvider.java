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

  @Override
  public Backend open(int ordinal, int threads) {
    throw new UnsupportedOperationException(
        "cuda:" + ordinal + ": the CUDA backend is not built yet");
  }
}
