/**
 * The model's shape: {@link org.dbrxspark.runtime.config.DbrxConfig}, read from a checkpoint's
 * config.json or GGUF metadata, and the named presets (dbrx-instruct, and small random ones for
 * tests and benchmarks).
 */
package org.dbrxspark.runtime.config;
