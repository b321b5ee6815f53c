package org.dbrxspark.jobs.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.spark.launcher.JavaModuleOptions;
import org.apache.spark.sql.Row;
import org.dbrxspark.jobs.SharedSpark;
import org.dbrxspark.jobs.io.DeltaTables;
import org.junit.jupiter.api.Test;

/**
 * The cluster path as docs/cluster.md gives it: build the jar with {@code -Pcluster}, then run a
 * job through Spark's own {@code SparkSubmit} in a JVM that has only Spark, Delta and their
 * dependencies on its classpath, as a cluster has. The jar is built by Maven itself, with the
 * documented command, on a copy of the sources under target/, so that the build running this test
 * is left alone; the Spark-only classpath is what Maven resolves for spark-sql, spark-mllib and
 * delta-spark alone. Curate is the job, its options in a YAML file: it needs the jar's own
 * libraries (Lingua's language models, the Jackson YAML reader) and writes two Delta tables.
 */
class ClusterJarTest {
  /** Passes every default filter: enough words, sentences and English stop words. */
  private static final String ENGLISH =
      """
      The old harbour town grew up around a sheltered bay where fishing boats could wait out the \
      winter storms. Its first houses were built of timber, and the families who lived in them \
      traded dried fish for grain with the farms on the hills above the water.

      In the last century the railway reached the coast, and the town changed quickly. Warehouses \
      were built along the quay, and the market square filled with stalls that sold cloth, tools \
      and fruit from the south.

      Today the harbour is quieter, but the town is still busy in the summer. Visitors walk along \
      the sea wall, and the local museum tells the story of the boats and the people who sailed \
      them.""";

  private static final String GERMAN =
      "Die Geschichte des Flusstals beginnt mit den kleinen Bauerndörfern, die vor tausenden"
          + " Jahren an seinen Ufern entstanden. Die ersten Siedler lernten, die Hochwasser der"
          + " Jahreszeiten zu lesen, und pflanzten ihr Getreide, wenn das Wasser zurückging. Über"
          + " die Jahrhunderte verbanden Handelswege diese Dörfer mit fernen Märkten.";

  @Test
  void curateRunsFromTheClusterJarThroughSparkSubmit() throws Exception {
    Path work = Path.of("target", "cluster-jar-test").toAbsolutePath();
    deleteRecursively(work);
    Path sources = copySources(Path.of(property("cluster.test.root")), work.resolve("sources"));

    maven(
        work.resolve("package.log"),
        sources.resolve("pom.xml"),
        "-Pcluster",
        "-pl",
        "spark-jobs",
        "-am",
        "package",
        "-DskipTests",
        // The build running this test has checked the format already.
        "-Dspotless.check.skip=true");
    String version = property("cluster.test.project.version");
    Path jar = sources.resolve("spark-jobs/target/spark-jobs-" + version + "-cluster.jar");
    assertTrue(Files.isRegularFile(jar), jar + " was not built");

    Path sparkOnly = sources.resolve("spark-only/pom.xml");
    Files.createDirectories(sparkOnly.getParent());
    Files.writeString(sparkOnly, sparkOnlyPom(version));
    Path classpath = work.resolve("spark-classpath.txt");
    maven(
        work.resolve("classpath.log"),
        sparkOnly,
        "dependency:build-classpath",
        "-Dmdep.outputFile=" + classpath);

    Path input = writeInput(work);
    String out = work.resolve("curated").toString();
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--add-modules=jdk.incubator.vector");
    // What bin/spark-submit adds to the driver JVM on Java 17.
    command.addAll(Arrays.asList(JavaModuleOptions.defaultModuleOptionArray()));
    command.addAll(
        List.of(
            "-Xmx2g",
            "-cp",
            Files.readString(classpath).trim(),
            "org.apache.spark.deploy.SparkSubmit",
            "--master",
            "local[2]",
            "--class",
            "org.dbrxspark.jobs.DbrxSparkJobs",
            "--conf",
            "spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension",
            "--conf",
            "spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.driver.host=127.0.0.1",
            jar.toString(),
            "curate",
            "--config",
            writeConfig(work, input, out).toString()));
    String log = run(command, work.resolve("submit.log"), work, 300);
    assertTrue(log.contains("input = kept + rejected: 3 = 1 + 2  [ok]"), log);

    List<Row> kept = DeltaTables.read(SharedSpark.get(), out).collectAsList();
    assertEquals(1, kept.size(), kept.toString());
    Row english = kept.get(0);
    assertEquals("english", english.getString(english.fieldIndex("id")));
    assertEquals("en", english.getString(english.fieldIndex("lang")));
    assertEquals("cluster", english.getString(english.fieldIndex("source")));
    List<String> rejected =
        DeltaTables.read(SharedSpark.get(), out + "_rejects").collectAsList().stream()
            .map(r -> r.getString(r.fieldIndex("id")))
            .sorted()
            .toList();
    assertEquals(List.of("german", "short"), rejected);
  }

  /** The root pom, and each module's pom and main sources: what a package build reads. */
  private static Path copySources(Path root, Path target) throws IOException {
    Files.createDirectories(target);
    Files.copy(root.resolve("pom.xml"), target.resolve("pom.xml"));
    try (Stream<Path> modules = Files.list(root)) {
      for (Path module : modules.filter(m -> Files.isRegularFile(m.resolve("pom.xml"))).toList()) {
        Path copy = Files.createDirectories(target.resolve(module.getFileName().toString()));
        Files.copy(module.resolve("pom.xml"), copy.resolve("pom.xml"));
        Path main = module.resolve("src/main");
        if (Files.isDirectory(main)) {
          try (Stream<Path> files = Files.walk(main)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
              Path to = copy.resolve(module.relativize(file).toString());
              Files.createDirectories(to.getParent());
              Files.copy(file, to);
            }
          }
        }
      }
    }
    return target;
  }

  /** What a cluster provides: Spark (SQL and MLlib, as its distribution has) and Delta. */
  private static String sparkOnlyPom(String version) {
    return """
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <modelVersion>4.0.0</modelVersion>
          <parent>
            <groupId>org.dbrxspark</groupId>
            <artifactId>dbrx-spark</artifactId>
            <version>%s</version>
          </parent>
          <artifactId>spark-only</artifactId>
          <packaging>pom</packaging>
          <dependencies>
            <dependency>
              <groupId>org.apache.spark</groupId>
              <artifactId>spark-sql_${scala.binary.version}</artifactId>
            </dependency>
            <dependency>
              <groupId>org.apache.spark</groupId>
              <artifactId>spark-mllib_${scala.binary.version}</artifactId>
            </dependency>
            <dependency>
              <groupId>io.delta</groupId>
              <artifactId>delta-spark_${scala.binary.version}</artifactId>
            </dependency>
          </dependencies>
        </project>
        """
        .formatted(version);
  }

  private static Path writeInput(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, String> doc :
        Map.of("english", ENGLISH, "german", GERMAN, "short", "Too short to keep.").entrySet()) {
      lines.add(json.writeValueAsString(Map.of("id", doc.getKey(), "text", doc.getValue())));
    }
    return Files.write(dir.resolve("docs.jsonl"), lines);
  }

  /** The job's options as YAML, which the jar reads with its own YAML library. */
  private static Path writeConfig(Path dir, Path input, String output) throws IOException {
    String yaml =
        """
        curate:
          input: %s
          output: %s
          languages: [en]
          lid-candidates: [en, de, fr]
          source: cluster
        """
            .formatted(input, output);
    return Files.writeString(dir.resolve("curate.yaml"), yaml);
  }

  /** Runs the Maven that runs this build, with its local repository and offline setting. */
  private static void maven(Path log, Path pom, String... args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(property("cluster.test.maven.home"), "bin", "mvn").toString());
    command.addAll(
        List.of(
            "-B",
            "-f",
            pom.toString(),
            "-Dmaven.repo.local=" + property("cluster.test.maven.repo")));
    if (property("cluster.test.maven.mode").equals("offline=true")) {
      command.add("-o");
    }
    command.addAll(Arrays.asList(args));
    run(command, log, pom.getParent(), 600);
  }

  /** Runs {@code command}, its output to {@code log}; fails with the output's tail unless 0. */
  private static String run(List<String> command, Path log, Path dir, int timeoutSeconds)
      throws Exception {
    Process process =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean done = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
    if (!done) {
      process.destroyForcibly().waitFor();
    }
    String output = Files.readString(log);
    String tail = output.substring(Math.max(0, output.length() - 6000));
    assertTrue(
        done, command.get(0) + " ran over " + timeoutSeconds + " s; see " + log + "\n" + tail);
    assertEquals(
        0, process.exitValue(), String.join(" ", command) + " failed; " + log + "\n" + tail);
    return output;
  }

  private static String property(String name) {
    String value = System.getProperty(name);
    if (value == null || value.isEmpty()) {
      throw new IllegalStateException(
          name + " is not set: run this test under Maven (spark-jobs' pom passes it)");
    }
    return value;
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> files = Files.walk(dir)) {
        for (Path file : files.sorted((a, b) -> b.compareTo(a)).toList()) {
          Files.delete(file);
        }
      }
    }
  }
}
