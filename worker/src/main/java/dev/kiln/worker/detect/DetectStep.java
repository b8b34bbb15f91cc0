package dev.kiln.worker.detect;

import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
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
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
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
  public static final String SOURCE_UNREADABLE = "detect::requirements-unreadable";

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
      ctx.log().warn("       Ignoring the previous build's Python version '" + previous
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
              summary.pythonVersion(), platform, result.packageManager(),
              task.buildEnv().get(PipCommand.EXTRA_INDEX_VARIABLE),
              readRequirementFiles(result.sourceRoot(), result.requirementFiles()));
    }
    return new Detected(summary, key);
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

  private static Map<String, byte[]> readRequirementFiles(Path sourceRoot, List<String> names)
      throws StepFailure {
    Map<String, byte[]> files = new LinkedHashMap<>();
    try {
      Path root = sourceRoot.toRealPath();
      for (String name : names) {
        Path file = sourceRoot.resolve(name).normalize();
        if (!Files.isRegularFile(file)) {
          // Named by the plan but absent: the name alone still goes into the key.
          files.put(name, new byte[0]);
          continue;
        }
        if (!file.toRealPath().startsWith(root)) {
          throw new StepFailure(
              SOURCE_UNREADABLE,
              "'" + name + "' is a symbolic link to a file outside the app's source directory;"
                  + " Kiln only reads files inside it. Replace the link with the file itself.");
        }
        files.put(name, Files.readAllBytes(file));
      }
    } catch (IOException e) {
      throw new StepFailure(
          SOURCE_UNREADABLE,
          "could not read the dependency files " + names + ": " + e.getMessage()
              + "; make sure they are regular, readable files in the repository",
          e);
    }
    return files;
  }

  private static dev.kiln.buildpack.AppSpec toBuildpack(AppSpec spec) {
    return new dev.kiln.buildpack.AppSpec(
        spec.sourceDir(), spec.dockerfilePath(), spec.buildCommand(), spec.runCommand(), spec.envs());
  }
}
