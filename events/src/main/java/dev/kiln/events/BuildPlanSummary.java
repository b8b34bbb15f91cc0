package dev.kiln.events;

import java.util.List;
import java.util.Map;

/** What DETECT decided, as later steps and deployers need it. */
public record BuildPlanSummary(
    String strategy,
    String sourceDir,
    String pythonVersion,
    String pythonRequested,
    String pythonOrigin,
    String packageManager,
    List<String> packageManagerFiles,
    String runCommand,
    String runSource,
    Map<String, String> runtimeEnv,
    List<CodedMessage> warnings) {

  public BuildPlanSummary {
    packageManagerFiles =
        packageManagerFiles == null ? List.of() : List.copyOf(packageManagerFiles);
    runtimeEnv = runtimeEnv == null ? Map.of() : Map.copyOf(runtimeEnv);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
  }
}
