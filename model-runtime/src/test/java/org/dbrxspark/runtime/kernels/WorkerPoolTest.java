package org.dbrxspark.runtime.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernels' threads: every item runs once, failures reach the caller, callers do not collide.
 */
@Timeout(120)
class WorkerPoolTest {

  private static void assertEachRanOnce(AtomicIntegerArray runs) {
    for (int i = 0; i < runs.length(); i++) {
      assertEquals(1, runs.get(i), "item " + i);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void runsEveryItemOnce(int threads) {
    try (WorkerPool pool = new WorkerPool(threads)) {
      for (int count : new int[] {0, 1, 2, 7, 1000}) {
        AtomicIntegerArray runs = new AtomicIntegerArray(count);
        pool.run(count, runs::incrementAndGet);
        assertEachRanOnce(runs);
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3})
  void everyThreadTakesAShare(int threads) throws Exception {
    try (WorkerPool pool = new WorkerPool(threads)) {
      // Each of the first items holds its thread until as many threads hold one: the job completes
      // only if the pool's threads all took work, however the scheduler orders them.
      CountDownLatch holding = new CountDownLatch(threads);
      Set<Thread> seen = ConcurrentHashMap.newKeySet();
      boolean[] met = new boolean[threads];
      pool.run(
          threads * 4,
          i -> {
            seen.add(Thread.currentThread());
            if (i < threads) {
              holding.countDown();
              try {
                met[i] = holding.await(60, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            }
          });
      for (int i = 0; i < threads; i++) {
        assertTrue(met[i], "item " + i + " waited in vain for the other threads");
      }
      assertEquals(threads, seen.size(), "threads that ran items");
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2})
  void aFailingItemFailsTheCallAndLeavesThePoolUsable(int threads) {
    try (WorkerPool pool = new WorkerPool(threads)) {
      IllegalArgumentException thrown =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  pool.run(
                      50,
                      i -> {
                        if (i == 17) {
                          throw new IllegalArgumentException("item 17 is bad");
                        }
                      }));
      assertEquals("item 17 is bad", thrown.getMessage());
      AtomicIntegerArray runs = new AtomicIntegerArray(50);
      pool.run(50, runs::incrementAndGet);
      assertEachRanOnce(runs);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void concurrentCallersAndNestedCallsEachGetAllTheirItems(int threads) throws Exception {
    try (WorkerPool pool = new WorkerPool(threads)) {
      ExecutorService callers = Executors.newFixedThreadPool(4);
      try {
        List<Future<AtomicIntegerArray>> results = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
          results.add(
              callers.submit(
                  () -> {
                    AtomicIntegerArray runs = new AtomicIntegerArray(64 * 8);
                    for (int round = 0; round < 50; round++) {
                      // Each item starts a job of its own: it runs on the thread that claimed the
                      // item.
                      pool.run(
                          64, outer -> pool.run(8, inner -> runs.addAndGet(outer * 8 + inner, 1)));
                    }
                    return runs;
                  }));
        }
        for (Future<AtomicIntegerArray> result : results) {
          AtomicIntegerArray runs = result.get();
          for (int i = 0; i < runs.length(); i++) {
            assertEquals(50, runs.get(i), "item " + i);
          }
        }
      } finally {
        callers.shutdown();
      }
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void aClosedPoolStillRunsItemsOnTheCaller(int threads) {
    WorkerPool pool = new WorkerPool(threads);
    pool.close();
    Set<Thread> seen = ConcurrentHashMap.newKeySet();
    AtomicIntegerArray runs = new AtomicIntegerArray(20);
    pool.run(
        20,
        i -> {
          runs.incrementAndGet(i);
          seen.add(Thread.currentThread());
        });
    assertEachRanOnce(runs);
    assertTrue(seen.equals(Set.of(Thread.currentThread())), "ran on " + seen);
  }
}
