/**
 * The executor-side model registry: one loaded runtime per JVM and (location, device, load
 * options), shared by tasks and jobs, with a per-host cache for remote checkpoints.
 */
package org.dbrxspark.udfs.registry;
