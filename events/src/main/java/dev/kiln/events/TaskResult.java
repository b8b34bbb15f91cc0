package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.time.Instant;

/**
 * What a worker reports for one task. Exactly one of the success fields or failure is set.
 *
 * @param startedAt when the worker started the task (its clock); null from earlier workers
 * @param waitedMillis from the task's record timestamp (the coordinator wrote it) to the worker
 *     starting it: the hop from coordinator to worker, poll and queue included; null when unknown
 */
public record TaskResult(
    String buildId,
    String taskId,
    TaskKind kind,
    int attempt,
    Outcome outcome,
    CodedMessage failure,
    BuildPlanSummary plan,
    String dependencyKey,
    DependencyLayer layer,
    String image,
    Digest imageDigest,
    String worker,
    long durationMillis,
    Instant startedAt,
    Long waitedMillis)
    implements EventBody {

  @JsonCreator
  public TaskResult {}

  /** A result without hop timing (the worker adds it with {@link #timed}). */
  public TaskResult(
      String buildId,
      String taskId,
      TaskKind kind,
      int attempt,
      Outcome outcome,
      CodedMessage failure,
      BuildPlanSummary plan,
      String dependencyKey,
      DependencyLayer layer,
      String image,
      Digest imageDigest,
      String worker,
      long durationMillis) {
    this(
        buildId,
        taskId,
        kind,
        attempt,
        outcome,
        failure,
        plan,
        dependencyKey,
        layer,
        image,
        imageDigest,
        worker,
        durationMillis,
        null,
        null);
  }

  /** This result, stamped with when its task started and how long it waited to start. */
  public TaskResult timed(Instant started, long waited) {
    return new TaskResult(
        buildId,
        taskId,
        kind,
        attempt,
        outcome,
        failure,
        plan,
        dependencyKey,
        layer,
        image,
        imageDigest,
        worker,
        durationMillis,
        started,
        Math.max(0, waited));
  }

  public enum Outcome {
    SUCCEEDED,
    FAILED
  }

  public static TaskResult failed(
      BuildTask task, CodedMessage failure, String worker, long millis) {
    return new TaskResult(
        task.buildId(),
        task.taskId(),
        task.kind(),
        task.attempt(),
        Outcome.FAILED,
        failure,
        null,
        null,
        null,
        null,
        null,
        worker,
        millis);
  }

  public boolean succeeded() {
    return outcome == Outcome.SUCCEEDED;
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
    Check.present("outcome", outcome);
    if (outcome == Outcome.FAILED) {
      Check.present("failure", failure);
      failure.validate("failure");
      return;
    }
    switch (kind) {
      case DETECT -> Check.present("plan", plan);
      case INSTALL -> Check.present("layer", layer);
      case ASSEMBLE -> {
        Check.text("image", image);
        Check.present("imageDigest", imageDigest);
      }
    }
  }
}
