/**
 * DBRX tokenization: {@link org.dbrxspark.runtime.tokenizer.DbrxTokenizer#shared()} encodes and
 * decodes, {@link org.dbrxspark.runtime.tokenizer.ChatTemplate#dbrx()} builds chat prompts, and a
 * {@link org.dbrxspark.runtime.tokenizer.StreamingDecoder} turns generated ids into text as they
 * arrive. {@code docs/runtime.md} says how the tokenizer and the chat template are checked.
 */
package org.dbrxspark.runtime.tokenizer;
