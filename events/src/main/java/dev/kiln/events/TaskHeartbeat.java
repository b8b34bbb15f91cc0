package dev.kiln.events;

import java.time.Instant;

/**
 * A worker's sign of life for a task it is still running: it renews the task's lease, so the
 * coordinator does not issue the task again. Sent on {@code kiln.results} keyed by build id, like
 * the result that ends the task, so the two stay in order.
 *
 * @param worker the worker running the task
 * @param at when the worker sent it (informational: the coordinator renews from its own clock)
 */
public record TaskHeartbeat(
    String buildId, String taskId, TaskKind kind, int attempt, String worker, Instant at)
    implements EventBody {

  /** A heartbeat for {@code task}, sent now by {@code worker}. */
  public static TaskHeartbeat of(BuildTask task, String worker, Instant at) {
    return new TaskHeartbeat(
        task.buildId(), task.taskId(), task.kind(), task.attempt(), worker, at);
  }

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.text("taskId", taskId);
    Check.present("kind", kind);
    Check.positive("attempt", attempt);
    Check.text("worker", worker);
  }
}
