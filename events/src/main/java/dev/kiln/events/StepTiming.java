package dev.kiln.events;

/**
 * How long one step of a build took and where it ran: the build report's durations (buildpack-spec
 * §7).
 *
 * @param taskId the step's task id; for a skipped step, the id the task would have had
 * @param worker the worker that ran the step; null when it was skipped
 * @param durationMillis as the worker measured it; 0 when skipped
 * @param skipped true when no worker ran the step (an INSTALL answered by the action cache, or not
 *     needed because the plan has no package manager)
 */
public record StepTiming(
    TaskKind kind, String taskId, String worker, long durationMillis, boolean skipped) {

  /** The timing a worker reported with its result, successful or not. */
  public static StepTiming ran(TaskResult result) {
    return new StepTiming(
        result.kind(), result.taskId(), result.worker(), result.durationMillis(), false);
  }

  /** A step the coordinator decided no worker needs to run. */
  public static StepTiming skipped(TaskKind kind, String taskId) {
    return new StepTiming(kind, taskId, null, 0, true);
  }

  void validate(String field) throws InvalidEventException {
    Check.present(field + ".kind", kind);
    Check.text(field + ".taskId", taskId);
  }
}
