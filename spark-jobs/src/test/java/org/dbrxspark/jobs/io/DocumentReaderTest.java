package org.dbrxspark.jobs.io;

import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;
import org.apache.spark.SparkRuntimeException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.SharedSpark;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DocumentReaderTest {
  private final SparkSession spark = SharedSpark.get();

  private static final String JSONL =
      """
        {"doc": "alpha text", "url": "http://a"}
        {"doc": "beta text", "url": "http://b"}
        {"doc": "alpha text", "url": "http://c"}
        {"doc": "gamma text", "url": "http://d"}
        """;

  /** text -> id, for comparing ids across inputs. */
  private static Map<String, String> idsByUrl(Dataset<Row> docs) {
    Map<String, String> out = new TreeMap<>();
    docs.select("url", Columns.ID)
        .collectAsList()
        .forEach(r -> out.put(r.getString(0), r.getString(1)));
    return out;
  }

  @Test
  void jsonlPlainAndGzipGiveTheSameStableDerivedIds(@TempDir Path dir) throws Exception {
    Path plain = dir.resolve("web.jsonl");
    Files.writeString(plain, JSONL);
    Path gz = dir.resolve("gz").resolve("web.jsonl.gz");
    Files.createDirectories(gz.getParent());
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
      out.write(JSONL.getBytes(StandardCharsets.UTF_8));
    }
    ReaderOptions o =
        new ReaderOptions(
            plain.toString(), InputFormat.AUTO, "doc", Columns.ID, "", Columns.SOURCE);
    Dataset<Row> a = DocumentReader.read(spark, o).rows();
    assertEquals(List.of(Columns.ID, Columns.SOURCE, Columns.TEXT, "url"), List.of(a.columns()));
    Map<String, String> ids = idsByUrl(a);
    assertEquals(
        4, ids.values().stream().distinct().count(), "duplicate texts still get distinct ids");
    assertTrue(ids.get("http://a").matches("[0-9a-f]{32}"), ids.toString());
    assertEquals(
        ids.get("http://a") + "-2",
        ids.get("http://c"),
        "equal source+text: suffix by other columns");
    assertEquals(
        "web", a.select(Columns.SOURCE).first().getString(0), "source defaults to the file name");

    Dataset<Row> b =
        DocumentReader.read(
                spark,
                new ReaderOptions(
                    gz.getParent().toString(),
                    InputFormat.AUTO,
                    "doc",
                    Columns.ID,
                    "web",
                    Columns.SOURCE))
            .rows();
    assertEquals(ids, idsByUrl(b));
  }

  @Test
  void derivedIdsDoNotDependOnPartitioning(@TempDir Path dir) {
    List<String> texts = new java.util.ArrayList<>();
    for (int i = 0; i < 40; i++) {
      texts.add("document number " + (i % 30));
    }
    Dataset<Row> df = spark.createDataset(texts, Encoders.STRING()).toDF("text");
    df.coalesce(1).write().parquet(dir.resolve("one").toString());
    df.repartition(7).write().parquet(dir.resolve("seven").toString());
    Dataset<Row> one =
        DocumentReader.read(
                spark,
                ReaderOptions.of(dir.resolve("one").toString(), InputFormat.PARQUET)
                    .withSource("s"))
            .rows();
    Dataset<Row> seven =
        DocumentReader.read(
                spark,
                ReaderOptions.of(dir.resolve("seven").toString(), InputFormat.AUTO).withSource("s"))
            .rows();
    List<Row> a = one.select(Columns.ID, Columns.TEXT).orderBy(Columns.ID).collectAsList();
    List<Row> b = seven.select(Columns.ID, Columns.TEXT).orderBy(Columns.ID).collectAsList();
    assertEquals(a, b);
    assertEquals(40, a.stream().map(r -> r.getString(0)).distinct().count());
  }

  @Test
  void csvWithIdAndSourceColumnsAndMultilineText(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("docs.csv");
    Files.writeString(
        csv, "key,origin,body\n7,forum,\"first line\nsecond, line\"\n8,news,plain\n,news,no key\n");
    Dataset<Row> docs =
        DocumentReader.read(
                spark,
                new ReaderOptions(csv.toString(), InputFormat.AUTO, "body", "key", "", "origin"))
            .rows();
    List<Row> rows = docs.orderBy(Columns.ID).collectAsList();
    assertEquals(3, rows.size());
    assertEquals("7", rows.get(0).getString(0));
    assertTrue(rows.get(2).getString(0).matches("[0-9a-f]{32}"), "a null id gets the content hash");
    assertEquals("forum", rows.get(0).getString(1));
    assertEquals("first line\nsecond, line", rows.get(0).getString(2));
  }

  @Test
  void aMisquotedCsvFileIsRefusedNamingTheLine(@TempDir Path dir) throws Exception {
    Path good = dir.resolve("in").resolve("a.csv");
    Files.createDirectories(good.getParent());
    Files.writeString(good, "id,text\n1,\"fine, \"\"quoted\"\"\nover two lines\"\n");
    Path bad = dir.resolve("in").resolve("b.csv");
    // Spark would read row 3 as one field holding rows 3 and 4: no error, one row less.
    Files.writeString(bad, "id,text\n2,plain\n3,\"opens a quote\n4,\"Fourth.\"\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DocumentReader.readWithErrors(
                    spark, ReaderOptions.of(good.getParent().toString(), InputFormat.AUTO)));
    assertTrue(
        e.getMessage().contains("1 CSV file(s) are misquoted")
            && e.getMessage().contains("b.csv line 4: a quote inside the quoted field that opens"),
        e.getMessage());
  }

  @Test
  void plainTextFilesUseTheirRelativePathAsId(@TempDir Path dir) throws Exception {
    Path root = dir.resolve("books");
    Files.createDirectories(root.resolve("sub"));
    Files.writeString(root.resolve("a.txt"), "Text of A.\nSecond line.");
    Files.writeString(root.resolve("sub").resolve("b.txt"), "Text of B.");
    Dataset<Row> docs =
        DocumentReader.read(
                spark,
                new ReaderOptions(
                    root.toString() + "/*/*.txt",
                    InputFormat.TEXT,
                    Columns.TEXT,
                    Columns.ID,
                    "",
                    Columns.SOURCE))
            .rows();
    List<Row> rows = docs.collectAsList();
    assertEquals(1, rows.size());
    assertEquals("sub/b.txt", rows.get(0).getString(0));
    Dataset<Row> all =
        DocumentReader.read(
                spark, ReaderOptions.of(root.toString(), InputFormat.TEXT).withSource("books"))
            .rows();
    Map<String, String> byId = new TreeMap<>();
    all.collectAsList().forEach(r -> byId.put(r.getString(0), r.getString(2)));
    // The folder's own file and its subfolder's, ids relative to the folder.
    assertEquals(Map.of("a.txt", "Text of A.\nSecond line.", "sub/b.txt", "Text of B."), byId);
  }

  @Test
  void everyFileInSubfoldersIsReadAndHiddenDataFilesAreNamed(@TempDir Path dir) throws Exception {
    Path in = dir.resolve("in");
    Map<String, String> files = new TreeMap<>();
    files.put("top.jsonl", "top");
    files.put("2024/a.jsonl", "a");
    files.put("2025/x/b.jsonl", "b");
    files.put("lang=de/c.jsonl", "c");
    // Hidden from Spark: named in the log when it is a data file; a hidden folder is not data.
    files.put("_aside.jsonl", "aside");
    files.put(".git/d.jsonl", "d");
    for (Map.Entry<String, String> f : files.entrySet()) {
      Path file = in.resolve(f.getKey());
      Files.createDirectories(file.getParent());
      Files.writeString(file, "{\"id\": \"" + f.getValue() + "\", \"text\": \"words\"}\n");
    }
    Files.writeString(in.resolve("_SUCCESS"), "");
    InputFiles found = InputFiles.of(in.toString(), spark.sparkContext().hadoopConfiguration());
    assertTrue(found.recursive());
    assertEquals(List.of(in.resolve("_aside.jsonl").toUri().getPath()), paths(found.hidden()));
    Dataset<Row> docs =
        DocumentReader.readWithErrors(spark, ReaderOptions.of(in.toString(), InputFormat.AUTO))
            .rows();
    assertEquals(List.of("a", "b", "c", "top"), ids(docs));

    // Only subfolders: the format is told from their files.
    Dataset<Row> below =
        DocumentReader.readWithErrors(
                spark, ReaderOptions.of(in.resolve("2025").toString(), InputFormat.AUTO))
            .rows();
    assertEquals(List.of("b"), ids(below));

    // Partition folders only: listed as Spark lists them (JSONL lines carry no partition column).
    Path parts = dir.resolve("parts");
    for (String lang : List.of("en", "de")) {
      Path file = parts.resolve("lang=" + lang).resolve("p.jsonl");
      Files.createDirectories(file.getParent());
      Files.writeString(file, "{\"id\": \"" + lang + "\", \"text\": \"words\"}\n");
    }
    assertFalse(
        InputFiles.of(parts.toString(), spark.sparkContext().hadoopConfiguration()).recursive());
    Dataset<Row> partitioned =
        DocumentReader.readWithErrors(spark, ReaderOptions.of(parts.toString(), InputFormat.AUTO))
            .rows();
    assertEquals(List.of("de", "en"), ids(partitioned));
  }

  private static List<String> ids(Dataset<Row> docs) {
    return docs.orderBy(Columns.ID).select(Columns.ID).as(Encoders.STRING()).collectAsList();
  }

  private static List<String> paths(List<String> uris) {
    return uris.stream().map(u -> new org.apache.hadoop.fs.Path(u).toUri().getPath()).toList();
  }

  @Test
  void deltaAndParquetInputKeepTheirIds(@TempDir Path dir) {
    Dataset<Row> df =
        spark.sql(
            "select cast(id as string) as id, 'src' as source, concat('t', id) as text "
                + "from range(5)");
    DeltaTables.overwrite(df, dir.resolve("delta").toString());
    df.write().parquet(dir.resolve("pq").toString());
    for (String p : List.of("delta", "pq")) {
      Dataset<Row> docs =
          DocumentReader.read(spark, ReaderOptions.of(dir.resolve(p).toString(), InputFormat.AUTO))
              .rows();
      assertEquals(df.orderBy("id").collectAsList(), docs.orderBy("id").collectAsList(), p);
    }
  }

  @Test
  void everyJsonlLineIsOneRowWithItsReadError(@TempDir Path dir) throws Exception {
    String f = BadInput.write(dir);
    Dataset<Row> rows =
        DocumentReader.readWithErrors(spark, ReaderOptions.of(f, InputFormat.AUTO)).rows();
    assertEquals(DocumentReader.READ_ERROR, rows.columns()[rows.columns().length - 1]);
    Map<String, String> errors = new TreeMap<>();
    for (Row r : rows.collectAsList()) {
      String error = r.getAs(DocumentReader.READ_ERROR);
      errors.put(
          r.getString(0).length() == 32 ? r.getString(2) : r.getString(0), String.valueOf(error));
    }
    assertEquals(10, errors.size(), errors.toString());
    for (String good : List.of("good-1", "good-2", "good-3", "text-null", "text-missing")) {
      assertEquals(
          "null", errors.get(good), good + " is a row; its text, if null, is the job's to reject");
    }
    assertEquals(
        "text-not-a-string: a number" + BadInput.at(dir, 7),
        errors.get("text-number"),
        "an object keeps its id");
    assertEquals("text-not-a-string: an array" + BadInput.at(dir, 10), errors.get("text-array"));
    assertEquals(
        "not-an-object: an array" + BadInput.at(dir, 5),
        errors.get("[{\"id\": \"in-an-array\", \"text\": \"an array of one object\"}]"),
        "a line that is not an object keeps the line as its text, and gets a content-hash id");
    assertEquals("not-an-object: a string" + BadInput.at(dir, 6), errors.get("\"a bare string\""));
    String unterminated = errors.get("{\"id\": \"unterminated\", \"text\": \"no closing quote");
    assertTrue(unterminated.startsWith("malformed-json: Unexpected end-of-input"), unterminated);
    assertTrue(unterminated.endsWith(BadInput.at(dir, 4)), unterminated);

    SparkRuntimeException strict =
        assertThrows(
            SparkRuntimeException.class,
            () ->
                DocumentReader.read(spark, ReaderOptions.of(f, InputFormat.AUTO))
                    .rows()
                    .collectAsList());
    assertTrue(
        strict.getMessage().contains("--input " + f + ": cannot read the row with id "),
        strict.getMessage());
  }

  @Test
  void tablesAreReadLineByLineAndErrorsNameTheLineAcrossTheFilesParts(@TempDir Path dir)
      throws Exception {
    Path f = dir.resolve("prompts.jsonl");
    try (OutputStream out = Files.newOutputStream(f)) {
      for (int line = 1; line <= 300; line++) {
        String json =
            switch (line) {
              case 2 -> "";
              case 150 -> "{\"id\": 150, \"prompt\": \"caf\u0000 au lait\"}";
              case 250 -> "{\"id\": 250, \"prompt\": \"no closing quote}";
              case 280 -> "{\"id\": 280, \"prompt\": 5}";
              default -> "{\"id\": " + line + ", \"prompt\": \"prompt number " + line + "\"}";
            };
        byte[] bytes = (json + "\n").getBytes(StandardCharsets.UTF_8);
        for (byte b : bytes) {
          out.write(b == 0 ? 0xE9 : b); // é in Latin-1: not UTF-8
        }
      }
    }
    String maxPartitionBytes = "spark.sql.files.maxPartitionBytes";
    spark.conf().set(maxPartitionBytes, "2048");
    try {
      assertTrue(
          spark.read().text(f.toString()).rdd().getNumPartitions() > 3,
          "the file is read in parts");
      Dataset<Row> rows = DocumentReader.readTable(spark, f.toString(), InputFormat.AUTO, "prompt");
      assertEquals(List.of("id", "prompt", DocumentReader.READ_ERROR), List.of(rows.columns()));
      assertTrue(countsParts(rows), "a file read in parts has its parts' lines counted");
      Map<Long, String> errors = new TreeMap<>();
      String at = " at file://" + f.toUri().getPath() + " line ";
      for (Row r : rows.where(col(DocumentReader.READ_ERROR).isNotNull()).collectAsList()) {
        String error = r.getString(2);
        assertTrue(error.contains(at), error);
        errors.put(
            Long.parseLong(error.substring(error.indexOf(at) + at.length())),
            (r.isNullAt(0) ? "null" : r.get(0)) + ": " + error.substring(0, error.indexOf(at)));
      }
      assertEquals(List.of(250L, 280L), List.copyOf(errors.keySet()), errors.toString());
      assertTrue(
          errors.get(250L).startsWith("null: malformed-json: Unexpected end-of-input"),
          errors.get(250L));
      assertEquals("280: prompt-not-a-string: a number", errors.get(280L));
      assertEquals(299, rows.count(), "one row per non-blank line");
      assertEquals(
          "caf\uFFFD au lait",
          rows.where("id = 150").select("prompt").as(Encoders.STRING()).first(),
          "invalid UTF-8 is repaired and the row keeps its id");
    } finally {
      spark.conf().unset(maxPartitionBytes);
    }
  }

  @Test
  void aChatColumnHasOneTypeAndALineWithoutAChatItsReason(@TempDir Path dir) throws Exception {
    Path f =
        BadInput.writeLines(
            dir.resolve("chats.jsonl"),
            "{\"id\": 1, \"conversation\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
            "{\"id\": 2, \"conversation\": \"hi\"}",
            "{\"id\": 3, \"conversation\": [\"hi\"]}",
            "{\"id\": 4, \"conversation\": [{\"role\": null, \"content\": \"hi\"}]}",
            "{\"id\": 5, \"conversation\": null}");
    Dataset<Row> rows =
        DocumentReader.readChats(spark, f.toString(), InputFormat.AUTO, "conversation");
    assertEquals(
        "array<struct<role:string,content:string>>",
        rows.schema().apply("conversation").dataType().simpleString());
    Map<Long, String> read = new TreeMap<>();
    String at = " at file://" + f.toUri().getPath() + " line ";
    for (Row r : rows.collectAsList()) {
      String error = r.getAs(DocumentReader.READ_ERROR);
      read.put(
          r.<Long>getAs("id"),
          (r.isNullAt(r.fieldIndex("conversation"))
                  ? null
                  : r.getList(r.fieldIndex("conversation")))
              + " / "
              + (error == null ? null : error.replace(at, " line ")));
    }
    assertEquals(
        Map.of(
            1L, "[[user,hi]] / null",
            2L, "null / conversation-not-a-chat: a string line 2",
            3L, "null / conversation-not-a-chat: message 0 is a string line 3",
            4L, "null / conversation-not-a-chat: message 0 has a role that is null line 4",
            5L, "null / null"),
        read);
  }

  /**
   * Gzip files are read whole, one task each, so their lines are numbered without the pass that
   * counts the lines of a file's earlier parts.
   */
  @Test
  void gzipFilesAreNumberedWithoutCountingParts(@TempDir Path dir) throws Exception {
    for (String name : List.of("a", "b")) {
      try (OutputStream out =
          new GZIPOutputStream(Files.newOutputStream(dir.resolve(name + ".jsonl.gz")))) {
        for (int line = 1; line <= 40; line++) {
          String json =
              line == 17 && name.equals("b")
                  ? "{\"id\": \"b17\", \"prompt\": [1]}"
                  : "{\"id\": \"" + name + line + "\", \"prompt\": \"p\"}";
          out.write((json + "\n").getBytes(StandardCharsets.UTF_8));
        }
      }
    }
    Dataset<Row> rows =
        DocumentReader.readTable(spark, dir.toString(), InputFormat.JSONL, "prompt");
    assertTrue(!countsParts(rows), "no counting pass for files that are never split");
    List<String> errors =
        rows.where(col(DocumentReader.READ_ERROR).isNotNull())
            .select(DocumentReader.READ_ERROR)
            .as(Encoders.STRING())
            .collectAsList();
    assertEquals(1, errors.size(), errors.toString());
    assertTrue(errors.get(0).endsWith("b.jsonl.gz line 17"), errors.get(0));
    assertEquals(80, rows.count());
  }

  /** Whether reading {@code rows} joins in the line counts of files' earlier parts. */
  private static boolean countsParts(Dataset<Row> rows) {
    return rows.queryExecution().optimizedPlan().toString().contains("Join ");
  }

  @Test
  void hostileDocumentsAreReadAsTheyAre(@TempDir Path dir) throws Exception {
    Dataset<Row> rows =
        DocumentReader.readWithErrors(
                spark, ReaderOptions.of(BadInput.writeHostile(dir), InputFormat.AUTO))
            .rows();
    assertEquals(BadInput.HOSTILE, textById(rows));
    assertEquals(0, rows.where(col(DocumentReader.READ_ERROR).isNotNull()).count());
  }

  @Test
  void invalidUtf8IsRepairedAndTheRowKeepsItsId(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("latin1.jsonl");
    try (OutputStream out = Files.newOutputStream(f)) {
      out.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}); // a byte-order mark
      out.write("{\"id\": \"latin1\", \"text\": \"caf".getBytes(StandardCharsets.UTF_8));
      out.write(0xE9); // é in Latin-1: not UTF-8
      out.write(" au lait\"}\n".getBytes(StandardCharsets.UTF_8));
    }
    Row row =
        DocumentReader.readWithErrors(spark, ReaderOptions.of(f.toString(), InputFormat.AUTO))
            .rows()
            .first();
    assertEquals("latin1", row.getString(0));
    assertEquals("caf\uFFFD au lait", row.getString(2));
    assertTrue(row.isNullAt(row.fieldIndex(DocumentReader.READ_ERROR)));
  }

  @Test
  void documentsBeyondJacksonsStringLimitAreReadAndTheLimitIsAnOption(@TempDir Path dir)
      throws Exception {
    String big = "word ".repeat(5_000_000); // 25 MB, over Jackson's 20 M-character default
    Path f = dir.resolve("big.jsonl");
    Files.writeString(
        f, "{\"id\": \"big\", \"text\": \"" + big + "\"}\n{\"id\": \"small\", \"text\": \"x\"}\n");
    ReaderOptions defaults = ReaderOptions.of(f.toString(), InputFormat.AUTO);
    Map<String, Integer> lengths = new TreeMap<>();
    DocumentReader.read(spark, defaults)
        .rows()
        .collectAsList()
        .forEach(r -> lengths.put(r.getString(0), r.getString(2).length()));
    assertEquals(Map.of("big", big.length(), "small", 1), lengths);

    ReaderOptions limited =
        new ReaderOptions(
            f.toString(),
            InputFormat.AUTO,
            Columns.TEXT,
            Columns.ID,
            "",
            Columns.SOURCE,
            1000,
            "fail");
    List<Row> rows =
        DocumentReader.readWithErrors(spark, limited)
            .rows()
            .where(col(DocumentReader.READ_ERROR).isNotNull())
            .collectAsList();
    assertEquals(1, rows.size());
    assertEquals(
        "too-large: "
            + (big.length() + 25)
            + " bytes > --max-document-bytes 1000 at file://"
            + f.toUri().getPath()
            + " line 1",
        rows.get(0).getAs(DocumentReader.READ_ERROR));
  }

  /**
   * The columns come from the lines that are rows only: each other line names a field of its own,
   * which Spark's own JSON reader would infer (an array of objects, an object followed by more
   * content) or turn into a corrupt-record column (a bare string, an unterminated object).
   */
  @Test
  void theSchemaIsInferredFromTheLinesThatAreRowsOnly(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("hostile.jsonl");
    try (OutputStream out = Files.newOutputStream(f)) {
      out.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}); // a byte-order mark
      String lines =
          """
          {"id": "bom", "text": "after a byte-order mark", "after_bom": 1}
          {"id": "row", "text": "a row", "score": 0.5, "meta": {"lang": "en"}}
          [{"id": "in-array", "text": "an array of objects", "in_array": 1}]
          {"id": "second", "text": "two objects", "first_of_two": 1} {"second_of_two": 1}
          {"id": "garbage", "text": "trailing", "before_garbage": 1} garbage
          {"id": "open", "text": "unterminated", "unterminated": 1
          "a bare string"
          {"id": "number", "text": 5, "text_not_a_string": true}
          {"id": "big", "text": "%s", "too_large": 1}
          """
              .formatted("word ".repeat(100));
      out.write(lines.getBytes(StandardCharsets.UTF_8));
      out.write("{\"id\": \"latin1\", \"text\": \"caf".getBytes(StandardCharsets.UTF_8));
      out.write(0xE9); // é in Latin-1: not UTF-8
      out.write("\", \"latin1\": [1, 2]}\n".getBytes(StandardCharsets.UTF_8));
    }
    Dataset<Row> rows = DocumentReader.readWithErrors(spark, options(f, 300, "fail")).rows();
    assertEquals(
        "struct<id:string,source:string,text:string,after_bom:bigint,latin1:array<bigint>,"
            + "meta:struct<lang:string>,score:double,text_not_a_string:boolean,"
            + DocumentReader.READ_ERROR
            + ":string>",
        rows.schema().simpleString());
    assertEquals(10, rows.count());
  }

  @Test
  void duplicateIdsFailByDefaultOrKeepTheFirstOrAreRenamedInInputOrder(@TempDir Path dir)
      throws Exception {
    Path in = Files.createDirectories(dir.resolve("in"));
    Files.writeString(
        in.resolve("part-0.jsonl"),
        """
            {"id": "a", "text": "a first"}
            {"id": "b", "text": "b first"}
            {"id": "a", "text": "a second"}
            """);
    Files.writeString(
        in.resolve("part-1.jsonl"),
        """
            {"id": "a", "text": "a third"}
            {"id": "b", "text": "b second"}
            {"id": "c", "text": "c only"}
            """);
    IllegalArgumentException fail =
        assertThrows(
            IllegalArgumentException.class,
            () -> DocumentReader.read(spark, ReaderOptions.of(in.toString(), InputFormat.AUTO)));
    assertTrue(
        fail.getMessage().contains("ids on more than one row: 2 (first: a, b)"), fail.getMessage());
    assertTrue(
        fail.getMessage().contains("--on-duplicate-id keep-first or rename"), fail.getMessage());

    Documents first = DocumentReader.read(spark, onDuplicateId(in, "keep-first"));
    assertEquals(Map.of("a", "a first", "b", "b first", "c", "c only"), textById(first.rows()));
    assertEquals(
        "repeated ids: 2, later rows dropped: 3 (--on-duplicate-id keep-first; first ids: a, b)",
        first.duplicateIdSummary());

    Map<String, String> renamed =
        Map.of(
            "a",
            "a first",
            "a-2",
            "a second",
            "a-3",
            "a third",
            "b",
            "b first",
            "b-2",
            "b second",
            "c",
            "c only");
    assertEquals(renamed, textById(DocumentReader.read(spark, onDuplicateId(in, "rename")).rows()));
    Path mix =
        Files.writeString(
            dir.resolve("mix.jsonl"),
            """
            {"id": "m", "copy": 0, "text": "one document"}
            {"id": "m", "copy": 1, "text": "one document"}
            """);
    assertEquals(
        "none",
        DocumentReader.read(spark, ReaderOptions.of(mix.toString(), InputFormat.AUTO))
            .duplicateIdSummary(),
        "a mix's copies of a document are not duplicates");
    Files.writeString(
        mix,
        """
            {"id": "m", "copy": 0, "text": "one document"}
            {"id": "m", "copy": 0, "text": "another document"}
            {"id": "m", "copy": 1, "text": "one document"}
            {"id": "m", "copy": 1, "text": "another document"}
            """);
    assertEquals(
        "repeated ids: 1, later rows dropped: 2 (--on-duplicate-id keep-first; first ids: m)",
        DocumentReader.read(spark, onDuplicateId(mix, "keep-first")).duplicateIdSummary(),
        "an id repeated within each copy is one repeated id");
    // Input order survives files split into many small partitions.
    spark.conf().set("spark.sql.files.maxPartitionBytes", "40");
    try {
      assertEquals(
          renamed, textById(DocumentReader.read(spark, onDuplicateId(in, "rename")).rows()));
    } finally {
      spark.conf().unset("spark.sql.files.maxPartitionBytes");
    }
  }

  private static ReaderOptions onDuplicateId(Path input, String policy) {
    return options(input, 1000, policy);
  }

  private static ReaderOptions options(Path input, long maxDocumentBytes, String onDuplicateId) {
    return new ReaderOptions(
        input.toString(),
        InputFormat.AUTO,
        Columns.TEXT,
        Columns.ID,
        "",
        Columns.SOURCE,
        maxDocumentBytes,
        onDuplicateId);
  }

  private static Map<String, String> textById(Dataset<Row> docs) {
    Map<String, String> out = new TreeMap<>();
    docs.collectAsList().forEach(r -> out.put(r.getString(0), r.getString(2)));
    return out;
  }

  @Test
  void missingTextColumnIsReported(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("x.jsonl");
    Files.writeString(f, "{\"body\": \"x\"}\n");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DocumentReader.read(spark, ReaderOptions.of(f.toString(), InputFormat.AUTO))
                    .rows());
    assertTrue(e.getMessage().contains("--text-col"), e.getMessage());
  }

  @Test
  void aTextColumnThatIsNotTextIsRefusedAndBinaryIsReadAsUtf8(@TempDir Path dir) {
    String numbers = dir.resolve("numbers").toString();
    spark
        .sql("select cast(id as string) as id, id * 7 as text from range(3)")
        .write()
        .parquet(numbers);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                DocumentReader.readWithErrors(spark, ReaderOptions.of(numbers, InputFormat.AUTO)));
    assertTrue(
        e.getMessage().contains("text column 'text' holds bigint values")
            && e.getMessage().contains(numbers),
        e.getMessage());
    String arrays = dir.resolve("arrays").toString();
    spark.sql("select '1' as id, array('a', 'b') as text").write().parquet(arrays);
    assertThrows(
        IllegalArgumentException.class,
        () -> DocumentReader.readWithErrors(spark, ReaderOptions.of(arrays, InputFormat.AUTO)));

    // Binary text, as some writers store strings: UTF-8, with invalid bytes repaired.
    String binary = dir.resolve("binary").toString();
    spark.sql("select '1' as id, unhex('68C3A96C6C6FFF') as text").write().parquet(binary);
    Row row =
        DocumentReader.readWithErrors(spark, ReaderOptions.of(binary, InputFormat.AUTO))
            .rows()
            .selectExpr(Columns.TEXT, "octet_length(" + Columns.TEXT + ")")
            .first();
    assertEquals("h\u00e9llo\ufffd", row.getString(0));
    // Repaired in the row itself (U+FFFD is 3 bytes), not only when Java decodes it.
    assertEquals(9, row.getInt(1));
  }
}
