/**
 * Which device a task's model instance is bound to: the GPU Spark assigned to the task, or the CPU.
 */
package org.dbrxspark.udfs.device;
