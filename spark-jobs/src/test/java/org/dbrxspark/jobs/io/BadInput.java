package org.dbrxspark.jobs.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Input that is not all documents, as a new user's files can be, for the jobs' tests. */
public final class BadInput {
    /** Three document rows, then the seven kinds of line that are not one, by id (or line number). */
    public static final String JSONL = """
        {"id": "good-1", "text": "The first good document talks about rivers and the sea."}
        {"id": "good-2", "text": "The second good document talks about mountains and snow."}
        {"id": "good-3", "text": "The third good document talks about cities and their streets."}
        {"id": "unterminated", "text": "no closing quote
        [{"id": "in-an-array", "text": "an array of one object"}]
        "a bare string"
        {"id": "text-number", "text": 42}
        {"id": "text-null", "text": null}
        {"id": "text-missing", "body": "no text field"}
        {"id": "text-array", "text": ["an", "array"]}
        """;

    private BadInput() {
    }

    /** Writes {@link #JSONL} to {@code dir/bad.jsonl} and returns its path. */
    public static String write(Path dir) throws IOException {
        return Files.writeString(dir.resolve("bad.jsonl"), JSONL).toString();
    }
}
