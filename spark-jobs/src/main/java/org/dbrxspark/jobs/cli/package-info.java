/**
 * The jobs' command-line options: typed option specs, the parsed values, and the usage error that
 * names the option at fault.
 */
package org.dbrxspark.jobs.cli;
