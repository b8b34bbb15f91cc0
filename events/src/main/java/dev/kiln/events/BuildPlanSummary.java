package dev.kiln.events;

import java.util.List;
import java.util.Map;

/**
 * What DETECT decided, as later steps and deployers need it.
 *
 * @param pythonVersion the exact version of the runtime image (verified data of the runtime
 *     catalog: what {@code python3 --version} prints in the image)
 * @param runtimeImage the catalog's image reference for that version
 * @param glibc the glibc of that runtime; INSTALL chooses wheels for it
 * @param sourceSnapshot the app's files as {@code bin/pre_compile} left them, stored in the CAS (a
 *     tar of the repository); later steps build from it instead of the commit. Null when the app
 *     has no pre_compile hook.
 */
public record BuildPlanSummary(
    String strategy,
    String sourceDir,
    String pythonVersion,
    String pythonRequested,
    String pythonOrigin,
    String runtimeImage,
    String glibc,
    String packageManager,
    List<String> packageManagerFiles,
    String runCommand,
    String runSource,
    Map<String, String> runtimeEnv,
    List<CodedMessage> warnings,
    Digest sourceSnapshot) {

  public BuildPlanSummary {
    packageManagerFiles =
        packageManagerFiles == null ? List.of() : List.copyOf(packageManagerFiles);
    runtimeEnv = runtimeEnv == null ? Map.of() : Map.copyOf(runtimeEnv);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
  }

  /** The same plan for an app in another directory of the repository. */
  public BuildPlanSummary withSourceDir(String newSourceDir) {
    return new BuildPlanSummary(
        strategy,
        newSourceDir,
        pythonVersion,
        pythonRequested,
        pythonOrigin,
        runtimeImage,
        glibc,
        packageManager,
        packageManagerFiles,
        runCommand,
        runSource,
        runtimeEnv,
        warnings,
        sourceSnapshot);
  }

  /** The same plan, built from a stored snapshot of the app's files. */
  public BuildPlanSummary withSourceSnapshot(Digest snapshot) {
    return new BuildPlanSummary(
        strategy,
        sourceDir,
        pythonVersion,
        pythonRequested,
        pythonOrigin,
        runtimeImage,
        glibc,
        packageManager,
        packageManagerFiles,
        runCommand,
        runSource,
        runtimeEnv,
        warnings,
        snapshot);
  }
}
