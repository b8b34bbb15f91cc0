package dev.kiln.events;

import java.time.Instant;

/**
 * The coordinator's whole knowledge of one build, written to the compacted {@code kiln.builds}
 * topic on every transition so a new coordinator can resume in-flight builds.
 *
 * @param outcomePublished true once image-ready / build-failed was acknowledged by Kafka
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
    Instant updatedAt)
    implements EventBody {

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.present("state", state);
    Check.present("push", push);
    push.validate();
  }
}
