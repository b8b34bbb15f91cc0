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
