package dev.kiln.events;

import java.util.Map;

/** The App Platform app-spec fields of one component that shape a build; all optional. */
public record AppSpec(
    String sourceDir,
    String dockerfilePath,
    String buildCommand,
    String runCommand,
    Map<String, String> envs) {

  public AppSpec {
    envs = envs == null ? Map.of() : Map.copyOf(envs);
  }

  public static AppSpec empty() {
    return new AppSpec(null, null, null, null, Map.of());
  }
}
