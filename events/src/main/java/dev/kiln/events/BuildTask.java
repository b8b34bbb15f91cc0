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
 * @param leaseMillis how long the coordinator waits for a sign of life from the worker running the
 *     task before it issues the task again: the worker renews the lease ({@link TaskHeartbeat}) at
 *     least every third of it. 0 when not stated (tasks of earlier coordinators); the worker then
 *     renews every {@link #DEFAULT_RENEW_MILLIS} ms. Boxed so that tasks without it read (as 0)
 * @param buildpackLevel DETECT only: the classic-buildpack version whose behaviour the tenant chose
 *     for this app ({@code kiln tenants update --buildpack-version}); null for the farm's own rules
 * @param ci a CI build: the test dependencies are installed too, into a layer and an image of their
 *     own; null (tasks of earlier coordinators) reads as false
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
    List<IndexRef> indexes,
    Long leaseMillis,
    Integer buildpackLevel,
    Boolean ci)
    implements EventBody {

  /** How often a worker renews the lease of a task that does not state its lease. */
  public static final long DEFAULT_RENEW_MILLIS = 10_000;

  private static final Pattern ISSUED_TASK_ID =
      Pattern.compile("b-[0-9a-f]{20}/(detect|install|assemble)/[1-9][0-9]*/[0-9a-f]{16}");

  @JsonCreator
  public BuildTask {
    appSpec = appSpec == null ? AppSpec.empty() : appSpec;
    buildEnv = buildEnv == null ? Map.of() : Map.copyOf(buildEnv);
    indexes = indexes == null ? List.of() : List.copyOf(indexes);
    leaseMillis = leaseMillis == null ? 0L : Math.max(0L, leaseMillis);
    ci = Boolean.TRUE.equals(ci);
  }

  /** A task without a buildpack level or CI flag. */
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
      DependencyLayer layer,
      List<IndexRef> indexes,
      Long leaseMillis) {
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
        indexes,
        leaseMillis,
        null,
        false);
  }

  /** Whether this is a CI build, which installs the test dependencies too. */
  public boolean isCi() {
    return Boolean.TRUE.equals(ci);
  }

  /** A task without a stated lease. */
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
      DependencyLayer layer,
      List<IndexRef> indexes) {
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
        indexes,
        0L);
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

  /**
   * How often the worker running this task renews its lease: a third of the lease, so two renewals
   * may be lost or late before it runs out.
   */
  public long renewEveryMillis() {
    return leaseMillis > 0 ? Math.max(50, leaseMillis / 3) : DEFAULT_RENEW_MILLIS;
  }

  /** The same task with its lease stated. */
  public BuildTask withLeaseMillis(long millis) {
    return copy(millis, buildpackLevel, ci);
  }

  /** The same task for a build at this classic-buildpack level (null: the farm's own rules). */
  public BuildTask withBuildpackLevel(Integer level) {
    return copy(leaseMillis, level, ci);
  }

  /** The same task for a CI build, or not. */
  public BuildTask withCi(boolean ciBuild) {
    return copy(leaseMillis, buildpackLevel, ciBuild);
  }

  private BuildTask copy(Long lease, Integer level, Boolean ciBuild) {
    return new BuildTask(
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
        indexes,
        lease,
        level,
        ciBuild);
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
    Tenant.checkBuildpackLevel("buildpackLevel", buildpackLevel);
  }
}
