/**
 * The jobs' command-line options: typed option specs (from which a picocli command is built for
 * parsing, {@code --help} and completion), typed values given in code (how the pipeline hands each
 * stage its options), the parsed values, and the usage error that names the option at fault.
 */
package org.dbrxspark.jobs.cli;
