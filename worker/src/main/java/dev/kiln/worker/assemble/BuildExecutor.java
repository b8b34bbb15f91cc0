package dev.kiln.worker.assemble;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Executor;
import java.util.concurrent.Phaser;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One build's view of the shared jib pool, which knows when all of the build's tasks are done.
 *
 * <p>When one of jib's steps fails, {@code containerize} throws at once while its other steps
 * (building layers, pulling blobs) keep running. Waiting for them before the step returns means a
 * failed build leaves nothing still writing to the work directory behind it.
 */
final class BuildExecutor extends AbstractExecutorService {
  private final Executor shared;
  private final Phaser inFlight = new Phaser(1);

  BuildExecutor(Executor shared) {
    this.shared = shared;
  }

  @Override
  public void execute(Runnable task) {
    inFlight.register();
    try {
      shared.execute(
          () -> {
            try {
              task.run();
            } finally {
              inFlight.arriveAndDeregister();
            }
          });
    } catch (RuntimeException e) {
      inFlight.arriveAndDeregister();
      throw e;
    }
  }

  /** Waits until every task submitted so far has finished; call once, after the build. */
  void awaitTasks(Duration timeout) throws InterruptedException, TimeoutException {
    inFlight.awaitAdvanceInterruptibly(
        inFlight.arrive(), timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  // jib never shuts down an executor it was given; the shared pool belongs to the worker.
  @Override
  public void shutdown() {
    throw new UnsupportedOperationException("the shared jib pool is shut down by its owner");
  }

  @Override
  public List<Runnable> shutdownNow() {
    throw new UnsupportedOperationException("the shared jib pool is shut down by its owner");
  }

  @Override
  public boolean isShutdown() {
    return false;
  }

  @Override
  public boolean isTerminated() {
    return false;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return false;
  }
}
