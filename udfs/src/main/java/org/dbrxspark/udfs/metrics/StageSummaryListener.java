package org.dbrxspark.udfs.metrics;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.CollectionConverters;

/** Logs one summary line per completed stage that updated {@code dbrx.*} accumulators. */
final class StageSummaryListener extends SparkListener {
  private static final Logger LOG = LoggerFactory.getLogger(StageSummaryListener.class);

  /** Application ids of the SparkContexts already listened to. */
  private static final Set<String> INSTALLED = ConcurrentHashMap.newKeySet();

  static void installOn(SparkContext sc) {
    if (INSTALLED.add(sc.applicationId())) {
      sc.addSparkListener(new StageSummaryListener());
    }
  }

  @Override
  public void onStageCompleted(SparkListenerStageCompleted event) {
    StageInfo stage = event.stageInfo();
    Map<String, Object> values = new TreeMap<>();
    for (AccumulableInfo info : CollectionConverters.asJava(stage.accumulables().values())) {
      if (info.name().isDefined()
          && info.name().get().startsWith(DbrxMetrics.PREFIX)
          && info.value().isDefined()) {
        values.put(info.name().get(), info.value().get());
      }
    }
    if (!values.isEmpty()) {
      long millis =
          stage.completionTime().isDefined() && stage.submissionTime().isDefined()
              ? (Long) stage.completionTime().get() - (Long) stage.submissionTime().get()
              : -1;
      LOG.info(
          "stage {} ({} tasks, {} ms) dbrx totals: {}",
          stage.stageId(),
          stage.numTasks(),
          millis,
          values);
    }
  }
}
