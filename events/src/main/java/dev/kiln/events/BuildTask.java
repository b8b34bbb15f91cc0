package dev.kiln.events;

import java.util.Map;

/**
 * One step of a build for a worker. DETECT needs the source coordinates; INSTALL adds the plan and
 * the dependency-set key; ASSEMBLE adds the dependency layer.
 */
public record BuildTask(
    String buildId,
    String taskId,
    TaskKind kind,
    int attempt,
    String tenant,
    String app,
    String repoUrl,
    String commit,
    AppSpec appSpec,
    Map<String, String> buildEnv,
    String previousPython,
    BuildPlanSummary plan,
    String dependencyKey,
    DependencyLayer layer)
    implements EventBody {

  public BuildTask {
    appSpec = appSpec == null ? AppSpec.empty() : appSpec;
    buildEnv = buildEnv == null ? Map.of() : Map.copyOf(buildEnv);
  }

  public static String taskId(String buildId, TaskKind kind, int attempt) {
    return buildId + "/" + kind.name().toLowerCase(java.util.Locale.ROOT) + "/" + attempt;
  }

  /**
   * Every variable the build steps see: the app spec's build-time envs, then the push's own build
   * variables, which win.
   */
  public Map<String, String> buildTimeEnv() {
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>(appSpec.buildTimeEnv());
    env.putAll(buildEnv);
    return java.util.Collections.unmodifiableMap(env);
  }

  /** The Kafka key: INSTALL tasks of identical dependency sets share a partition. */
  public String partitionKey() {
    return kind == TaskKind.INSTALL && dependencyKey != null ? dependencyKey : buildId;
  }

  @Override
  public void validate() throws InvalidEventException {
    if (!BuildIds.isValid(buildId)) {
      throw new InvalidEventException(
          "buildId", "'" + Quote.safe(buildId, 60) + "' is not a build id");
    }
    Check.present("kind", kind);
    Check.positive("attempt", attempt);
    Check.text("taskId", taskId);
    Check.name("tenant", tenant);
    Check.name("app", app);
    Check.repositoryUrl("repoUrl", repoUrl);
    Check.commit("commit", commit);
    appSpec.validate("appSpec");
    if (kind != TaskKind.DETECT) {
      Check.present("plan", plan);
    }
    if (kind == TaskKind.INSTALL) {
      Check.text("dependencyKey", dependencyKey);
    }
    if (kind == TaskKind.ASSEMBLE && plan.packageManager() != null) {
      Check.present("layer", layer);
    }
  }
}
