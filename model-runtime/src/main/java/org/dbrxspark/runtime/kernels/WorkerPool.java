package org.dbrxspark.runtime.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * The kernels' threads: the calling thread and {@code threads - 1} workers share out each job's
 * items. A decode step issues dozens of jobs a fraction of a millisecond apart, and waking a parked
 * thread costs tens of microseconds on a virtual machine, so workers spin for a moment after a job
 * before they park, and the caller works instead of waiting.
 *
 * <p>One job at a time: a caller that finds the workers busy with another caller's job (two Spark
 * tasks sharing a model), or a job started from inside a job's item, runs its items alone.
 */
final class WorkerPool implements AutoCloseable {
  /** How long an idle worker spins before it parks: longer than the gaps inside a decode step. */
  private static final long SPIN_NANOS = 200_000;

  private final Worker[] workers;
  private final AtomicBoolean busy = new AtomicBoolean();
  private volatile Job current;
  private volatile boolean closed;

  WorkerPool(int threads) {
    workers = new Worker[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new Worker("dbrx-kernels-" + (i + 1));
      workers[i].start();
    }
  }

  /** Runs {@code body(i)} for every i in {@code [0, count)} and returns when all are done. */
  void run(int count, IntConsumer body) {
    if (count <= 1 || workers.length == 0 || closed || !busy.compareAndSet(false, true)) {
      for (int i = 0; i < count; i++) {
        body.accept(i);
      }
      return;
    }
    Job job = new Job(count, body);
    try {
      current = job;
      for (Worker worker : workers) {
        if (worker.parked) {
          LockSupport.unpark(worker);
        }
      }
      job.work();
      while (job.finished.get() < count) {
        Thread.onSpinWait();
      }
    } finally {
      current = null;
      busy.set(false);
    }
    if (job.failure instanceof RuntimeException e) {
      throw e;
    } else if (job.failure instanceof Error e) {
      throw e;
    } else if (job.failure != null) {
      throw new IllegalStateException(job.failure);
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Worker worker : workers) {
      LockSupport.unpark(worker);
    }
  }

  /** One call's items, claimed one at a time by whichever thread is free. */
  private static final class Job {
    final int count;
    final IntConsumer body;
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger finished = new AtomicInteger();
    volatile Throwable failure;

    Job(int count, IntConsumer body) {
      this.count = count;
      this.body = body;
    }

    /** Runs items until none is left; after a failure the rest are skipped, not run. */
    void work() {
      for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
        try {
          if (failure == null) {
            body.accept(i);
          }
        } catch (Throwable t) {
          failure = t;
        } finally {
          finished.incrementAndGet();
        }
      }
    }
  }

  private final class Worker extends Thread {
    volatile boolean parked;

    Worker(String name) {
      super(name);
      setDaemon(true);
    }

    @Override
    public void run() {
      Job done = null;
      long idleSince = System.nanoTime();
      while (!closed) {
        Job job = current;
        if (job != null && job != done) {
          job.work();
          done = job;
          idleSince = System.nanoTime();
        } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
          Thread.onSpinWait();
        } else {
          parked = true;
          // Checked again after announcing the park: a caller either sees the flag or its job is
          // seen here.
          if (current == null || current == done) {
            LockSupport.park(this);
          }
          parked = false;
        }
      }
    }
  }
}
