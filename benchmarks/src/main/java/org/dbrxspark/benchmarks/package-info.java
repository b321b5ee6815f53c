/**
 * The benchmarks behind BENCHMARKS.md, one package per module they measure: {@code runtime}, {@code
 * udfs} and {@code jobs}. Each public class with a {@code main} is a benchmark that {@code
 * bin/bench NAME [args]} builds and runs; each answers {@code --help}. Benchmarks print figures,
 * they never assert timings; this module's tests check only the tools (the corpus generator) and
 * that BENCHMARKS.md's commands run.
 */
package org.dbrxspark.benchmarks;
