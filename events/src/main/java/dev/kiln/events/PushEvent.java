package dev.kiln.events;

import java.time.Instant;
import java.util.Map;

/** A git push of one app's commit: the input of every build. */
public record PushEvent(
    String tenant,
    String app,
    String repoUrl,
    String ref,
    String commit,
    AppSpec appSpec,
    Map<String, String> buildEnv,
    Instant pushedAt)
    implements EventBody {

  public PushEvent {
    appSpec = appSpec == null ? AppSpec.empty() : appSpec;
    buildEnv = buildEnv == null ? Map.of() : Map.copyOf(buildEnv);
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
    AppSpec spec =
        new AppSpec(
            appSpec.sourceDir(),
            appSpec.dockerfilePath(),
            appSpec.buildCommand(),
            appSpec.runCommand(),
            envs);
    return new PushEvent(tenant, app, repoUrl, ref, commit, spec, env, pushedAt);
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

  /** The same tenant, app and commit always map to the same build. */
  public String buildId() {
    return BuildIds.of(tenant, app, commit);
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
