package org.dbrxspark.jobs.core;

import java.io.Serializable;

/**
 * Counts the tokens of a text. Jobs that budget tokens go through this interface, so the
 * estimate below can be replaced by the DBRX tokenizer without touching them.
 */
public interface TokenCounter extends Serializable {
    /** Tokens in {@code text} (0 for null or empty). */
    long count(String text);

    /** A short description for summaries and manifests. */
    String describe();

    /**
     * The estimate used until the DBRX tokenizer is wired in: whitespace-separated words times
     * 4/3, rounded up (English text averages about 0.75 words per cl100k token).
     */
    static TokenCounter whitespaceEstimate() {
        return WhitespaceEstimate.INSTANCE;
    }

    /** See {@link #whitespaceEstimate()}. */
    enum WhitespaceEstimate implements TokenCounter {
        INSTANCE;

        @Override
        public long count(String text) {
            if (text == null) {
                return 0;
            }
            long words = 0;
            boolean inWord = false;
            for (int i = 0; i < text.length(); i++) {
                boolean space = Character.isWhitespace(text.charAt(i));
                if (!space && !inWord) {
                    words++;
                }
                inWord = !space;
            }
            return (words * 4 + 2) / 3;
        }

        @Override
        public String describe() {
            return "estimate: ceil(whitespace words x 4/3)";
        }
    }
}
