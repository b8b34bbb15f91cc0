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
 * @param requirementFiles the files INSTALL reads, relative to the source directory (the lock, the
 *     requirements and everything they include, local projects' metadata): exactly the files the
 *     dependency key covers
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
    Digest sourceSnapshot,
    List<String> requirementFiles) {

  public BuildPlanSummary {
    packageManagerFiles =
        packageManagerFiles == null ? List.of() : List.copyOf(packageManagerFiles);
    requirementFiles = requirementFiles == null ? List.of() : List.copyOf(requirementFiles);
    runtimeEnv = runtimeEnv == null ? Map.of() : Map.copyOf(runtimeEnv);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
  }

  /** A plan that names no install inputs (plans written before they were recorded). */
  public BuildPlanSummary(
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
    this(
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
        sourceSnapshot,
        List.of());
  }

  /** The same plan, naming the files INSTALL reads. */
  public BuildPlanSummary withRequirementFiles(List<String> files) {
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
        sourceSnapshot,
        files);
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
        sourceSnapshot,
        requirementFiles);
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
        snapshot,
        requirementFiles);
  }
}
