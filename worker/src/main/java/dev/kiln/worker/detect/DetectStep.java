package dev.kiln.worker.detect;

import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.BuildpackException;
import dev.kiln.buildpack.Diagnostic;
import dev.kiln.buildpack.PlanResult;
import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.worker.install.PipCommand;
import dev.kiln.worker.install.TargetPlatform;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * DETECT: applies the buildpack rules to the fetched commit and names the dependency set. The
 * plan's own log lines go to the build log; a plan failure becomes a {@link StepFailure} with the
 * plan's code and message.
 */
public final class DetectStep implements BuildStep<DetectStep.Detected> {
  private static final Pattern VERSION = Pattern.compile("\\d{1,4}\\.\\d{1,4}(\\.\\d{1,4})?");

  /**
   * @param dependencyKey the dependency-set key, or null when the plan installs nothing (a
   *     Dockerfile build)
   */
  public record Detected(BuildPlanSummary plan, String dependencyKey) {}

  private final BuildPlanner planner;
  private final TargetPlatform platform;

  public DetectStep(BuildPlanner planner, TargetPlatform platform) {
    this.planner = Objects.requireNonNull(planner, "planner");
    this.platform = Objects.requireNonNull(platform, "platform");
  }

  @Override
  public Detected run(StepContext ctx) throws StepFailure {
    BuildTask task = ctx.task();
    String previous = task.previousPython();
    if (previous != null && !VERSION.matcher(previous).matches()) {
      ctx.log()
          .warn(
              "       Ignoring the previous build's Python version '"
                  + previous
                  + "': it is not a version number");
      previous = null;
    }
    BuildInputs inputs =
        BuildInputs.builder()
            .appSpec(toBuildpack(task.appSpec()))
            .buildEnv(task.buildEnv())
            .previousPythonVersion(previous)
            .strict(false)
            .build();
    PlanResult result = planner.plan(ctx.sourceDir(), inputs);
    result.logLines().forEach(ctx.log()::info);
    if (!result.succeeded()) {
      Diagnostic error = result.error().orElseThrow();
      throw new StepFailure(error.code(), error.message());
    }
    BuildPlanSummary summary = summarise(result);
    String key = null;
    if (result.packageManager() != null && summary.pythonVersion() != null) {
      key =
          DependencySetKey.compute(
              summary.pythonVersion(),
              platform,
              result.packageManager(),
              task.buildEnv().get(PipCommand.EXTRA_INDEX_VARIABLE),
              readRequirementFiles(result));
    }
    return new Detected(summary, key);
  }

  /** The installer's input files, read with the planner's own rules (inside the repository). */
  private static Map<String, byte[]> readRequirementFiles(PlanResult result) throws StepFailure {
    try {
      return result.readRequirementFiles();
    } catch (BuildpackException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    }
  }

  static BuildPlanSummary summarise(PlanResult result) {
    var python = result.python();
    var run = result.run();
    List<CodedMessage> warnings =
        result.warnings().stream().map(w -> new CodedMessage(w.code(), w.message())).toList();
    return new BuildPlanSummary(
        result.strategy(),
        result.sourceDir(),
        python == null ? null : python.version(),
        python == null ? null : python.requested(),
        python == null ? null : python.origin(),
        result.packageManager(),
        result.packageManagerFiles(),
        run == null ? null : run.command(),
        run == null ? null : run.source(),
        result.runtimeEnvironment(),
        warnings);
  }

  private static dev.kiln.buildpack.AppSpec toBuildpack(AppSpec spec) {
    return new dev.kiln.buildpack.AppSpec(
        spec.sourceDir(),
        spec.dockerfilePath(),
        spec.buildCommand(),
        spec.runCommand(),
        spec.envs());
  }
}
