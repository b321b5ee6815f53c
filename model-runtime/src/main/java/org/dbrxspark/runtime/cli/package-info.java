/**
 * {@code bin/dbrx}, the runtime's command line: one class per subcommand (init, generate, chat,
 * score, embed, tokenize, logits, bench, plan, quantize), each printing JSON on standard output.
 * Parsing, {@code --help} and bash completion are picocli's, declared from {@link
 * org.dbrxspark.runtime.cli.Option}s; {@link org.dbrxspark.runtime.cli.CliConventions} holds what
 * this CLI shares with {@code bin/dbrx-spark} (exit codes, help layout, error wording).
 */
package org.dbrxspark.runtime.cli;
