package org.dbrxspark.runtime.cuda;

/** Something in GPU memory that a kernel takes as a pointer parameter. */
interface DevicePointer {
  /** Its device address. */
  long address();
}
