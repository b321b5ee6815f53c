/**
 * Which device a task's model instance is bound to and computes on: the GPU Spark assigned to the
 * task, or the CPU ({@link org.dbrxspark.udfs.device.DeviceSelection}), under the device settings
 * ({@link org.dbrxspark.udfs.device.DevicePolicy}).
 */
package org.dbrxspark.udfs.device;
