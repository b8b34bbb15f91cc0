package dev.kiln.events;

import java.time.Instant;
import java.util.List;

/**
 * The coordinator's whole knowledge of one build, written to the compacted {@code kiln.builds}
 * topic on every transition so a new coordinator can resume in-flight builds.
 *
 * <p>It is also the build's machine-readable report (buildpack-spec §7): the plan holds the Python
 * version and package manager, the layer whether the dependency cache was reused, {@code failure}
 * the failure code and {@code steps} how long each step took.
 *
 * @param outcomePublished true once image-ready / build-failed was acknowledged by Kafka
 * @param steps one entry per step the build went through, in order; snapshots written before steps
 *     were recorded read as an empty list
 */
public record BuildSnapshot(
    String buildId,
    BuildState state,
    PushEvent push,
    int attempt,
    String currentTaskId,
    BuildPlanSummary plan,
    String dependencyKey,
    DependencyLayer layer,
    String image,
    Digest imageDigest,
    TaskKind failedStage,
    CodedMessage failure,
    boolean outcomePublished,
    Instant createdAt,
    Instant updatedAt,
    List<StepTiming> steps)
    implements EventBody {

  public BuildSnapshot {
    steps = steps == null ? List.of() : List.copyOf(steps);
  }

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.present("state", state);
    Check.present("push", push);
    push.validate();
    for (int i = 0; i < steps.size(); i++) {
      steps.get(i).validate("steps[" + i + "]");
    }
  }
}
