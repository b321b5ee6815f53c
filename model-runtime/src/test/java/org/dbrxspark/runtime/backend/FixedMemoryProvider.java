package org.dbrxspark.runtime.backend;

/**
 * A device kind for tests of device selection and memory planning on hosts without a GPU: {@code
 * fixedmem:N} reports N MiB free of 80 GiB and opens no backend, so that a test shows a refusal
 * comes before any upload. Registered in the test resources' META-INF/services.
 */
public final class FixedMemoryProvider implements BackendProvider {
  public static final String KIND = "fixedmem";
  public static final long TOTAL_BYTES = 80L << 30;

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public String problem(int ordinal) {
    return null;
  }

  @Override
  public DeviceMemory memory(int ordinal) {
    return new DeviceMemory((long) ordinal << 20, TOTAL_BYTES);
  }

  @Override
  public Backend open(int ordinal, int threads) {
    throw new UnsupportedOperationException(
        KIND + ":" + ordinal + " has no kernels: a test reached the upload");
  }
}
