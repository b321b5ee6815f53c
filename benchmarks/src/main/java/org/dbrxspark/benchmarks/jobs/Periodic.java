package org.dbrxspark.benchmarks.jobs;

/**
 * The benchmark's samplers: a daemon thread that runs a task, then again every period, until
 * interrupted.
 */
final class Periodic {
  private Periodic() {}

  static Thread start(String name, long periodMillis, Runnable task) {
    Thread thread =
        new Thread(
            () -> {
              while (true) {
                task.run();
                try {
                  Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            name);
    thread.setDaemon(true);
    thread.start();
    return thread;
  }
}
