package dev.kiln.worker.steps;

/**
 * One step of a build task (fetch, detect, install, assemble). Steps are plain blocking Java: the
 * worker runs them on a worker thread, never on an event loop.
 *
 * @param <T> what the step produces for the task result or for the next step
 */
@FunctionalInterface
public interface BuildStep<T> {
  /**
   * Runs the step.
   *
   * @throws StepFailure when the build cannot go on, with a stable code and a message for the user
   */
  T run(StepContext ctx) throws StepFailure;
}
