package org.dbrxspark.jobs.io;

/** Names of the columns every document table has. */
public final class Columns {
    /** Stable document id (string). */
    public static final String ID = "id";
    /** Where the document came from (string). */
    public static final String SOURCE = "source";
    /** The document text (string). */
    public static final String TEXT = "text";
    /** In a mix, which copy of a document the row is (int): rows of one id differ by it. */
    public static final String COPY = "copy";

    private Columns() {
    }
}
