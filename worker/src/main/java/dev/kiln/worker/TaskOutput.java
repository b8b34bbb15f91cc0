package dev.kiln.worker;

import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import java.util.Objects;

/** What a task's step produced, in the shape a successful {@code TaskResult} carries it. */
public record TaskOutput(
    BuildPlanSummary plan,
    String dependencyKey,
    DependencyLayer layer,
    String image,
    Digest imageDigest) {

  /** DETECT: the plan and, when it installs anything, the dependency-set key. */
  public static TaskOutput detected(BuildPlanSummary plan, String dependencyKey) {
    return new TaskOutput(Objects.requireNonNull(plan, "plan"), dependencyKey, null, null, null);
  }

  /** INSTALL: the dependency layer (fresh or reused). */
  public static TaskOutput installed(DependencyLayer layer) {
    Objects.requireNonNull(layer, "layer");
    return new TaskOutput(null, layer.key(), layer, null, null);
  }

  /** ASSEMBLE: where the image is and its manifest digest. */
  public static TaskOutput assembled(String image, Digest imageDigest) {
    return new TaskOutput(
        null,
        null,
        null,
        Objects.requireNonNull(image, "image"),
        Objects.requireNonNull(imageDigest, "imageDigest"));
  }
}
