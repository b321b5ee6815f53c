/**
 * Structured output (guided decoding): a {@link org.dbrxspark.runtime.structured.ResponseFormat} (a
 * JSON Schema, a regular expression or a list of choices) is compiled to a regular language over
 * UTF-8 bytes, then to a minimal DFA ({@code dk.brics.automaton}), then to a {@link
 * org.dbrxspark.runtime.structured.CompiledFormat}: for every DFA state the sampler can reach, the
 * set of token ids whose bytes keep the text inside the language. The engine's sampler masks every
 * other token, so whatever the weights, a finished output matches the format.
 *
 * <p>The DFA runs over bytes rather than characters because tokens are byte sequences and many hold
 * part of a UTF-8 character: such a token is allowed exactly when its bytes are a valid prefix
 * path, and the language only contains valid UTF-8, so the text always decodes.
 */
package org.dbrxspark.runtime.structured;
