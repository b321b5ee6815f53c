/**
 * {@code bin/dbrx}, the runtime's command line: one class per subcommand (init, generate, chat,
 * score, embed, tokenize, logits, bench, plan, quantize), each printing JSON on standard output.
 */
package org.dbrxspark.runtime.cli;
