package org.dbrxspark.udfs.device;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.spark.TaskContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Which device a task's GPU assignment maps to, and the mapping line each executor logs. The
 * addresses are ones no other test of this JVM uses, as each assignment logs once per JVM.
 */
class DeviceSelectionTest {
  private final List<String> logged = new CopyOnWriteArrayList<>();
  private final Logger logger = (Logger) LogManager.getLogger(DeviceSelection.class);
  private final AbstractAppender capture =
      new AbstractAppender("capture", null, null, true, Property.EMPTY_ARRAY) {
        @Override
        public void append(LogEvent event) {
          logged.add(event.getMessage().getFormattedMessage());
        }
      };

  @BeforeEach
  void captureLog() {
    capture.start();
    logger.addAppender(capture);
  }

  @AfterEach
  void releaseLog() {
    logger.removeAppender(capture);
    capture.stop();
  }

  @Test
  void severalGpusPerTaskUseTheFirstAndSaySo() {
    assertEquals(
        DeviceSelection.gpu("7"), DeviceSelection.select(new String[] {"7", "8"}, () -> "task A"));
    assertEquals(
        List.of("task A -> gpu:7 (first of assigned GPUs 7,8; the others stay idle)"), logged);

    // The same assignment again is not logged again.
    assertEquals(
        DeviceSelection.gpu("7"), DeviceSelection.select(new String[] {"7", "8"}, () -> "task B"));
    assertEquals(1, logged.size(), logged.toString());
  }

  @Test
  void severalGpusLogEvenAfterTheFirstWasUsedAlone() {
    // An executor's earlier stage with one GPU per task, then a stage with two per task.
    DeviceSelection.select(new String[] {"5"}, () -> "task A");
    assertEquals(
        DeviceSelection.gpu("5"), DeviceSelection.select(new String[] {"5", "6"}, () -> "task B"));
    assertEquals(
        List.of(
            "task A -> gpu:5",
            "task B -> gpu:5 (first of assigned GPUs 5,6; the others stay idle)"),
        logged);
  }

  @Test
  void noGpuIsTheCpu() {
    DeviceSelection device = DeviceSelection.select(new String[0], () -> "task A");
    assertEquals(DeviceSelection.cpu(), device);
    assertEquals("cpu", device.key());
  }

  @Test
  void outsideATaskIsTheCpu() {
    assertNull(TaskContext.get());
    assertEquals(DeviceSelection.cpu(), DeviceSelection.forCurrentTask());
  }
}
