package dev.kiln.events;

import java.time.Instant;
import java.util.Map;

/**
 * A git push of one app's commit: the input of every build.
 *
 * @param ci a CI build ({@code kiln push --ci}, {@code git push -o ci}): the test dependencies are
 *     installed too, and the image is a build of its own, which deployers do not deploy; null
 *     (pushes of earlier versions) reads as false
 */
public record PushEvent(
    String tenant,
    String app,
    String repoUrl,
    String ref,
    String commit,
    AppSpec appSpec,
    Map<String, String> buildEnv,
    Instant pushedAt,
    Boolean ci)
    implements EventBody {

  @com.fasterxml.jackson.annotation.JsonCreator
  public PushEvent {
    appSpec = appSpec == null ? AppSpec.empty() : appSpec;
    buildEnv = buildEnv == null ? Map.of() : Map.copyOf(buildEnv);
    ci = Boolean.TRUE.equals(ci);
  }

  /** A push for a normal (not CI) build. */
  public PushEvent(
      String tenant,
      String app,
      String repoUrl,
      String ref,
      String commit,
      AppSpec appSpec,
      Map<String, String> buildEnv,
      Instant pushedAt) {
    this(tenant, app, repoUrl, ref, commit, appSpec, buildEnv, pushedAt, false);
  }

  /** Whether this push asks for a CI build. */
  public boolean isCi() {
    return Boolean.TRUE.equals(ci);
  }

  /** The same push as a CI build, or not. */
  public PushEvent withCi(boolean ciBuild) {
    return new PushEvent(tenant, app, repoUrl, ref, commit, appSpec, buildEnv, pushedAt, ciBuild);
  }

  /**
   * Every variable the build steps see: the app spec's build-time envs, then the push's own build
   * variables ({@code kiln push --env}), which win.
   */
  public Map<String, String> buildTimeEnv() {
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>(appSpec.buildTimeEnv());
    env.putAll(buildEnv);
    return java.util.Collections.unmodifiableMap(env);
  }

  /** Build variables that name package indexes; Kiln reaches indexes only through its proxy. */
  public static final java.util.Set<String> INDEX_VARIABLES =
      java.util.Set.of("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL");

  /**
   * This push with the credentials taken out of the index URLs its variables name. A build never
   * uses them (the cache-service holds each tenant's index credentials and proxies the index), so
   * they are dropped before the push is recorded anywhere: not in a snapshot, a task or a log.
   */
  public PushEvent withoutIndexCredentials() {
    java.util.Map<String, String> env = new java.util.LinkedHashMap<>(buildEnv);
    env.replaceAll((name, value) -> stripIndexCredentials(name, value));
    java.util.List<AppSpec.EnvVar> envs =
        appSpec.envs().stream()
            .map(
                e ->
                    new AppSpec.EnvVar(
                        e.key(), stripIndexCredentials(e.key(), e.value()), e.scope()))
            .toList();
    AppSpec spec = appSpec.withEnvs(envs);
    return new PushEvent(tenant, app, repoUrl, ref, commit, spec, env, pushedAt, ci);
  }

  private static String stripIndexCredentials(String name, String value) {
    if (value == null || !INDEX_VARIABLES.contains(name)) {
      return value;
    }
    java.util.List<String> urls = new java.util.ArrayList<>();
    for (String url : value.strip().split("\\s+")) {
      urls.add(dev.kiln.events.security.SecretValues.withoutUserInfo(url));
    }
    return String.join(" ", urls);
  }

  /**
   * The same tenant, app and commit always map to the same build; a CI build of the commit is
   * another build.
   */
  public String buildId() {
    return isCi() ? BuildIds.of(tenant, app, commit + "\0ci") : BuildIds.of(tenant, app, commit);
  }

  @Override
  public void validate() throws InvalidEventException {
    Check.name("tenant", tenant);
    Check.name("app", app);
    Check.repositoryUrl("repoUrl", repoUrl);
    Check.commit("commit", commit);
    if (ref != null) {
      Check.text("ref", ref);
    }
    appSpec.validate("appSpec");
    for (var e : buildEnv.entrySet()) {
      if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new InvalidEventException(
            "buildEnv",
            "'" + Quote.safe(e.getKey(), 60) + "' is not a valid environment variable name");
      }
    }
  }
}
