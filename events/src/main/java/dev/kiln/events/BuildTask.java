package dev.kiln.events;

import com.fasterxml.jackson.annotation.JsonCreator;
import dev.kiln.events.security.Tokens;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One step of a build for a worker. DETECT needs the source coordinates; INSTALL adds the plan and
 * the dependency-set key; ASSEMBLE adds the dependency layer.
 *
 * <p>The task id is {@code <build>/<kind>/<attempt>/<16 hex random>}: the coordinator accepts a
 * result only for the exact id it issued, so a result cannot be forged by guessing the id.
 *
 * @param indexes the tenant's configured package indexes (names and URLs, never credentials)
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
    DependencyLayer layer,
    List<IndexRef> indexes)
    implements EventBody {

  private static final Pattern ISSUED_TASK_ID =
      Pattern.compile("b-[0-9a-f]{20}/(detect|install|assemble)/[1-9][0-9]*/[0-9a-f]{16}");

  @JsonCreator
  public BuildTask {
    appSpec = appSpec == null ? AppSpec.empty() : appSpec;
    buildEnv = buildEnv == null ? Map.of() : Map.copyOf(buildEnv);
    indexes = indexes == null ? List.of() : List.copyOf(indexes);
  }

  /** A task of a tenant without configured indexes. */
  public BuildTask(
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
      DependencyLayer layer) {
    this(
        buildId,
        taskId,
        kind,
        attempt,
        tenant,
        app,
        repoUrl,
        commit,
        appSpec,
        buildEnv,
        previousPython,
        plan,
        dependencyKey,
        layer,
        List.of());
  }

  /**
   * A new, unguessable task id: {@code <build>/<kind>/<attempt>/<16 hex random>}. Every call gives
   * a different id; the coordinator records the one it issued in the build's snapshot.
   */
  public static String taskId(String buildId, TaskKind kind, int attempt) {
    return buildId
        + "/"
        + kind.name().toLowerCase(Locale.ROOT)
        + "/"
        + attempt
        + "/"
        + Tokens.randomHex(8);
  }

  /** True for an id of the form {@link #taskId} issues (older ids lack the random part). */
  public static boolean isUnguessable(String taskId) {
    return taskId != null && ISSUED_TASK_ID.matcher(taskId).matches();
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
    for (int i = 0; i < indexes.size(); i++) {
      Check.present("indexes[" + i + "]", indexes.get(i));
      indexes.get(i).validate("indexes[" + i + "]");
    }
  }
}
