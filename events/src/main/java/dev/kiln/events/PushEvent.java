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
    for (var e : buildEnv.entrySet()) {
      if (!e.getKey().matches("[A-Za-z_][A-Za-z0-9_]*")) {
        throw new InvalidEventException(
            "buildEnv",
            "'" + Quote.safe(e.getKey(), 60) + "' is not a valid environment variable name");
      }
    }
  }
}
