package org.dbrxspark.jobs.dedup;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.dbrxspark.jobs.SharedSpark;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ConnectedComponentsTest {
  /** 11 edges: 0 forces the distributed rounds, 11 the one-task union-find; both must agree. */
  @ParameterizedTest
  @ValueSource(longs = {0, 11})
  void componentsAreTransitiveAndLabelledBySmallestId(long inOneTaskMaxEdges) {
    SparkSession spark = SharedSpark.get();
    // A path whose ids zig-zag (the worst case for label propagation), a triangle, a pair and a
    // self-loop.
    List<String[]> edges =
        List.of(
            new String[] {"n5", "n2"},
            new String[] {"n2", "n7"},
            new String[] {"n7", "n1"},
            new String[] {"n1", "n9"},
            new String[] {"n9", "n3"},
            new String[] {"t2", "t3"},
            new String[] {"t3", "t1"},
            new String[] {"t1", "t2"},
            new String[] {"p1", "p2"},
            new String[] {"p2", "p1"},
            new String[] {"s", "s"});
    Dataset<Row> df =
        spark.createDataFrame(
            edges.stream().map(e -> org.apache.spark.sql.RowFactory.create(e[0], e[1])).toList(),
            new org.apache.spark.sql.types.StructType().add("src", "string").add("dst", "string"));
    Map<String, String> label = new TreeMap<>();
    ConnectedComponents.of(df, inOneTaskMaxEdges)
        .collectAsList()
        .forEach(r -> label.put(r.getString(0), r.getString(1)));
    Map<String, String> want = new TreeMap<>();
    for (String n : List.of("n1", "n2", "n3", "n5", "n7", "n9")) {
      want.put(n, "n1");
    }
    for (String n : List.of("t1", "t2", "t3")) {
      want.put(n, "t1");
    }
    want.put("p1", "p1");
    want.put("p2", "p1");
    assertEquals(want, label);
  }
}
