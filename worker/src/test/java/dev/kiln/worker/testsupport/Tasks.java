package dev.kiln.worker.testsupport;

import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildIds;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.TaskKind;
import java.util.List;
import java.util.Map;

/** Build tasks as the coordinator would send them. */
public final class Tasks {
  private Tasks() {}

  public static BuildTask detect(String tenant, String app, String repoUrl, String commit) {
    String buildId = BuildIds.of(tenant, app, commit);
    return new BuildTask(
        buildId,
        BuildTask.taskId(buildId, TaskKind.DETECT, 1),
        TaskKind.DETECT,
        1,
        tenant,
        app,
        repoUrl,
        commit,
        AppSpec.empty(),
        Map.of(),
        null,
        null,
        null,
        null);
  }

  public static BuildTask install(
      BuildPlanSummary plan, String dependencyKey, Map<String, String> buildEnv) {
    String commit = "0123456789abcdef0123456789abcdef01234567";
    String buildId = BuildIds.of("acme", "web", commit);
    return new BuildTask(
        buildId,
        BuildTask.taskId(buildId, TaskKind.INSTALL, 1),
        TaskKind.INSTALL,
        1,
        "acme",
        "web",
        "file:///nowhere",
        commit,
        AppSpec.empty(),
        buildEnv,
        null,
        plan,
        dependencyKey,
        null);
  }

  /** A pip plan for the given exact Python version, app at the repository root. */
  public static BuildPlanSummary pipPlan(String pythonVersion) {
    return plan(pythonVersion, "pip", List.of("requirements.txt"), List.of("requirements.txt"));
  }

  /**
   * A plan for the runtime with this exact Python on bookworm's glibc, installing with {@code
   * manager} from {@code requirementFiles}.
   */
  public static BuildPlanSummary plan(
      String pythonVersion,
      String manager,
      List<String> packageManagerFiles,
      List<String> requirementFiles) {
    return new BuildPlanSummary(
        "buildpack",
        ".",
        pythonVersion,
        pythonVersion,
        ".python-version",
        "registry:example.test/python:" + pythonVersion,
        "2.36",
        manager,
        packageManagerFiles,
        "gunicorn app:app",
        "procfile",
        Map.of(),
        List.of(),
        null,
        requirementFiles);
  }
}
