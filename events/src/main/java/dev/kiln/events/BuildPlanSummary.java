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
 * @param processes every process type the image can run, name → command ({@code web} first, the
 *     image's default command): the Procfile's lines and the app spec's workers and jobs that run
 *     from this component's source. Empty in plans written before they were recorded
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
    List<String> requirementFiles,
    Map<String, String> processes) {

  @com.fasterxml.jackson.annotation.JsonCreator
  public BuildPlanSummary {
    packageManagerFiles =
        packageManagerFiles == null ? List.of() : List.copyOf(packageManagerFiles);
    requirementFiles = requirementFiles == null ? List.of() : List.copyOf(requirementFiles);
    runtimeEnv = runtimeEnv == null ? Map.of() : Map.copyOf(runtimeEnv);
    warnings = warnings == null ? List.of() : List.copyOf(warnings);
    processes =
        processes == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(processes));
  }

  /** A plan without recorded process types. */
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
      Digest sourceSnapshot,
      List<String> requirementFiles) {
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
        requirementFiles,
        Map.of());
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
    return copy(sourceDir, sourceSnapshot, files, processes);
  }

  /** The same plan for an app in another directory of the repository. */
  public BuildPlanSummary withSourceDir(String newSourceDir) {
    return copy(newSourceDir, sourceSnapshot, requirementFiles, processes);
  }

  /** The same plan, built from a stored snapshot of the app's files. */
  public BuildPlanSummary withSourceSnapshot(Digest snapshot) {
    return copy(sourceDir, snapshot, requirementFiles, processes);
  }

  /** The same plan with these process types. */
  public BuildPlanSummary withProcesses(Map<String, String> processTypes) {
    return copy(sourceDir, sourceSnapshot, requirementFiles, processTypes);
  }

  private BuildPlanSummary copy(
      String dir, Digest snapshot, List<String> files, Map<String, String> processTypes) {
    return new BuildPlanSummary(
        strategy,
        dir,
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
        files,
        processTypes);
  }
}
