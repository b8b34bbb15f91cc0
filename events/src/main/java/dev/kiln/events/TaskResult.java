package dev.kiln.events;

/** What a worker reports for one task. Exactly one of the success fields or failure is set. */
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
    long durationMillis)
    implements EventBody {

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
