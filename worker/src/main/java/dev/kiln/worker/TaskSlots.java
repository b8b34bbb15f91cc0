package dev.kiln.worker;

import dev.kiln.events.TaskKind;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.Map;
import java.util.Queue;

/**
 * How many tasks of each kind one worker runs at once. The worker takes up to {@code concurrency}
 * tasks (one per partition); INSTALL (unzipping, packing, compressing) and ASSEMBLE (jib's layer
 * compression and image writing) are each bounded further, so a burst of one kind cannot take every
 * thread and every core while DETECTs, which are short and mostly wait on git, queue behind it.
 *
 * <p>A task whose kind is at its bound waits here, without holding a thread, in arrival order.
 * Thread-safe; {@code granted} runs on the thread that calls {@link #acquire} or {@link #release}.
 */
public final class TaskSlots {
  private final Map<TaskKind, Integer> limits = new EnumMap<>(TaskKind.class);
  private final Map<TaskKind, Integer> running = new EnumMap<>(TaskKind.class);
  private final Map<TaskKind, Queue<Runnable>> waiting = new EnumMap<>(TaskKind.class);

  /**
   * @param installs how many INSTALL tasks may run at once (at least 1)
   * @param assembles how many ASSEMBLE tasks may run at once (at least 1)
   * @param detects how many DETECT tasks may run at once (at least 1)
   */
  public TaskSlots(int installs, int assembles, int detects) {
    limits.put(TaskKind.INSTALL, requirePositive(installs, "installs"));
    limits.put(TaskKind.ASSEMBLE, requirePositive(assembles, "assembles"));
    limits.put(TaskKind.DETECT, requirePositive(detects, "detects"));
    for (TaskKind kind : TaskKind.values()) {
      running.put(kind, 0);
      waiting.put(kind, new ArrayDeque<>());
    }
  }

  /**
   * The bounds for a worker running {@code concurrency} tasks at once: DETECT up to all of them,
   * INSTALL and ASSEMBLE each up to half (at least one), so either kind always leaves room for the
   * other and for DETECTs.
   */
  public static TaskSlots forConcurrency(int concurrency) {
    int half = Math.max(1, concurrency / 2);
    return new TaskSlots(half, half, Math.max(1, concurrency));
  }

  /** Runs {@code granted} once a slot of {@code kind} is free: now, or when one is released. */
  public void acquire(TaskKind kind, Runnable granted) {
    synchronized (this) {
      if (running.get(kind) >= limits.get(kind)) {
        waiting.get(kind).add(granted);
        return;
      }
      running.merge(kind, 1, Integer::sum);
    }
    granted.run();
  }

  /** Frees the slot a finished task of {@code kind} held, handing it to the next waiting task. */
  public void release(TaskKind kind) {
    Runnable next;
    synchronized (this) {
      next = waiting.get(kind).poll();
      if (next == null) {
        running.merge(kind, -1, Integer::sum);
        if (running.get(kind) < 0) {
          running.put(kind, 0);
          throw new IllegalStateException("released a " + kind + " slot that was not held");
        }
        return;
      }
    }
    next.run(); // the slot passes on: the running count stays
  }

  /** Tasks of {@code kind} running now. */
  public synchronized int running(TaskKind kind) {
    return running.get(kind);
  }

  /** Tasks of {@code kind} waiting for a slot now. */
  public synchronized int waiting(TaskKind kind) {
    return waiting.get(kind).size();
  }

  /** The bound of {@code kind}. */
  public int limit(TaskKind kind) {
    return limits.get(kind);
  }

  private static int requirePositive(int value, String what) {
    if (value < 1) {
      throw new IllegalArgumentException(what + " is " + value + "; at least 1 must run at a time");
    }
    return value;
  }
}
