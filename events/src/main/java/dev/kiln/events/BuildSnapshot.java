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
 * @param outcomePublished true once image-ready / build-failed / build-cancelled was acknowledged
 *     by Kafka
 * @param steps one entry per step the build went through, in order; snapshots written before steps
 *     were recorded read as an empty list
 * @param queuedReason while QUEUED: which quota it waits for; null otherwise
 * @param leaseExpiresAt while a task is out: when its lease ends unless the worker renews it (then
 *     the task is issued again with the next attempt, or the build fails {@code worker::lost});
 *     null when no task is out, and in snapshots written before leases existed
 * @param supersededBy the newest build of a later push to the same tenant, app and branch, once
 *     there is one while this build runs: it stops at its next step boundary, CANCELLED; null
 *     otherwise
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
    List<StepTiming> steps,
    String queuedReason,
    Instant leaseExpiresAt,
    String supersededBy)
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

  /** A builder holding this snapshot's values, to change a few of them. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /** A new build's first snapshot is built from scratch. */
  public static Builder builder() {
    return new Builder();
  }

  /** Copies a snapshot with some fields changed; {@link #build()} makes the immutable record. */
  public static final class Builder {
    private String buildId;
    private BuildState state;
    private PushEvent push;
    private int attempt;
    private String currentTaskId;
    private BuildPlanSummary plan;
    private String dependencyKey;
    private DependencyLayer layer;
    private String image;
    private Digest imageDigest;
    private TaskKind failedStage;
    private CodedMessage failure;
    private boolean outcomePublished;
    private Instant createdAt;
    private Instant updatedAt;
    private List<StepTiming> steps;
    private String queuedReason;
    private Instant leaseExpiresAt;
    private String supersededBy;

    private Builder() {
      steps = List.of();
    }

    private Builder(BuildSnapshot s) {
      buildId = s.buildId;
      state = s.state;
      push = s.push;
      attempt = s.attempt;
      currentTaskId = s.currentTaskId;
      plan = s.plan;
      dependencyKey = s.dependencyKey;
      layer = s.layer;
      image = s.image;
      imageDigest = s.imageDigest;
      failedStage = s.failedStage;
      failure = s.failure;
      outcomePublished = s.outcomePublished;
      createdAt = s.createdAt;
      updatedAt = s.updatedAt;
      steps = s.steps;
      queuedReason = s.queuedReason;
      leaseExpiresAt = s.leaseExpiresAt;
      supersededBy = s.supersededBy;
    }

    public Builder buildId(String value) {
      buildId = value;
      return this;
    }

    public Builder state(BuildState value) {
      state = value;
      return this;
    }

    public Builder push(PushEvent value) {
      push = value;
      return this;
    }

    public Builder attempt(int value) {
      attempt = value;
      return this;
    }

    public Builder currentTaskId(String value) {
      currentTaskId = value;
      return this;
    }

    public Builder plan(BuildPlanSummary value) {
      plan = value;
      return this;
    }

    public Builder dependencyKey(String value) {
      dependencyKey = value;
      return this;
    }

    public Builder layer(DependencyLayer value) {
      layer = value;
      return this;
    }

    public Builder image(String value) {
      image = value;
      return this;
    }

    public Builder imageDigest(Digest value) {
      imageDigest = value;
      return this;
    }

    public Builder failedStage(TaskKind value) {
      failedStage = value;
      return this;
    }

    public Builder failure(CodedMessage value) {
      failure = value;
      return this;
    }

    public Builder outcomePublished(boolean value) {
      outcomePublished = value;
      return this;
    }

    public Builder createdAt(Instant value) {
      createdAt = value;
      return this;
    }

    public Builder updatedAt(Instant value) {
      updatedAt = value;
      return this;
    }

    public Builder steps(List<StepTiming> value) {
      steps = value;
      return this;
    }

    public Builder queuedReason(String value) {
      queuedReason = value;
      return this;
    }

    public Builder leaseExpiresAt(Instant value) {
      leaseExpiresAt = value;
      return this;
    }

    public Builder supersededBy(String value) {
      supersededBy = value;
      return this;
    }

    public BuildSnapshot build() {
      return new BuildSnapshot(
          buildId,
          state,
          push,
          attempt,
          currentTaskId,
          plan,
          dependencyKey,
          layer,
          image,
          imageDigest,
          failedStage,
          failure,
          outcomePublished,
          createdAt,
          updatedAt,
          steps,
          queuedReason,
          leaseExpiresAt,
          supersededBy);
    }
  }
}
