package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.time.Instant;

/**
 * How long one step of a build took and where it ran: the build report's durations (buildpack-spec
 * §7).
 *
 * @param taskId the step's task id; for a skipped step, the id the task would have had
 * @param worker the worker that ran the step; null when it was skipped
 * @param durationMillis as the worker measured it; 0 when skipped
 * @param skipped true when no worker ran the step (an INSTALL answered by the action cache, or not
 *     needed because the plan has no package manager)
 * @param waitedMillis the hop to the worker: from the coordinator writing the task to a worker
 *     starting it; null when unknown (skipped steps, earlier workers)
 * @param reportedMillis the hop back: from the worker finishing the step to the coordinator taking
 *     its result; null when unknown. Both hops compare two machines' clocks, so across machines
 *     they are as exact as the clocks are in sync
 */
public record StepTiming(
    TaskKind kind,
    String taskId,
    String worker,
    long durationMillis,
    boolean skipped,
    Long waitedMillis,
    Long reportedMillis) {

  @JsonCreator
  public StepTiming {}

  public StepTiming(
      TaskKind kind, String taskId, String worker, long durationMillis, boolean skipped) {
    this(kind, taskId, worker, durationMillis, skipped, null, null);
  }

  /** The timing a worker reported with its result, successful or not, taken at {@code now}. */
  public static StepTiming ran(TaskResult result, Instant now) {
    Long reported =
        result.startedAt() == null
            ? null
            : Math.max(
                0,
                now.toEpochMilli() - result.startedAt().toEpochMilli() - result.durationMillis());
    return new StepTiming(
        result.kind(),
        result.taskId(),
        result.worker(),
        result.durationMillis(),
        false,
        result.waitedMillis(),
        reported);
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
