package dev.kiln.worker.detect;

import dev.kiln.buildpack.BuildInputs;
import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.BuildStepRules;
import dev.kiln.buildpack.BuildpackException;
import dev.kiln.buildpack.BuildpackLevel;
import dev.kiln.buildpack.Diagnostic;
import dev.kiln.buildpack.PlanResult;
import dev.kiln.events.AppSpec;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.CodedMessage;
import dev.kiln.events.Digest;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.buildsteps.PreCompile;
import dev.kiln.worker.install.InstallInputs;
import dev.kiln.worker.install.PrivateIndex;
import dev.kiln.worker.install.TargetPlatform;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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
  private final PreCompile preCompile;
  private final boolean dockerfileBuilder;

  /** DETECT without a build sandbox: an app with {@code bin/pre_compile} fails. */
  public DetectStep(BuildPlanner planner) {
    this(planner, null);
  }

  /**
   * @param preCompile runs {@code bin/pre_compile} before the plan is made from what it left
   */
  public DetectStep(BuildPlanner planner, PreCompile preCompile) {
    this(planner, preCompile, false);
  }

  private DetectStep(BuildPlanner planner, PreCompile preCompile, boolean dockerfileBuilder) {
    this.planner = Objects.requireNonNull(planner, "planner");
    this.preCompile = preCompile;
    this.dockerfileBuilder = dockerfileBuilder;
  }

  /**
   * This step on a worker that has (true) or has not (false, the default) a Dockerfile builder: a
   * Dockerfile app on a worker without one fails here with the planner's {@code
   * dockerfile::no-builder}.
   */
  public DetectStep withDockerfileBuilder(boolean available) {
    return new DetectStep(planner, preCompile, available);
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
    BuildpackLevel level = level(task);
    // Strictness comes with the level (v351 makes the three package-manager findings errors);
    // the farm's own rules keep them warnings.
    BuildInputs inputs =
        BuildInputs.builder()
            .appSpec(toBuildpack(task.appSpec()))
            .buildEnv(task.buildTimeEnv())
            .previousPythonVersion(previous)
            .strict(false)
            .level(level)
            .ci(task.isCi())
            .dockerfileBuilderAvailable(dockerfileBuilder)
            .build();
    BuildPlanner planner = level == null ? this.planner : this.planner.atLevel(level);
    if (level != null) {
      ctx.log().info("-----> Building with the behaviour of buildpack version " + level.version());
    }
    PlanResult result = planner.plan(ctx.sourceDir(), inputs);
    Optional<BuildStepRules.Hook> hook =
        result.sourceRoot() == null || PlanResult.STRATEGY_DOCKERFILE.equals(result.strategy())
            ? Optional.empty()
            : BuildStepRules.preCompile(result.sourceRoot());
    if (hook.isEmpty()) {
      return finish(result, task, ctx.log(), null);
    }
    return afterPreCompile(ctx, task, planner, inputs, result, hook.get());
  }

  /** The task's buildpack level, or null for the farm's own rules. */
  private static BuildpackLevel level(BuildTask task) throws StepFailure {
    if (task.buildpackLevel() == null) {
      return null;
    }
    try {
      return BuildpackLevel.of(task.buildpackLevel());
    } catch (BuildpackException e) {
      throw new StepFailure(
          e.code(),
          e.getMessage()
              + " The tenant's level was set by a coordinator that knows more levels than this"
              + " worker: run the same Kiln version on every node.",
          e);
    }
  }

  private Detected afterPreCompile(
      StepContext ctx,
      BuildTask task,
      BuildPlanner planner,
      BuildInputs inputs,
      PlanResult result,
      BuildStepRules.Hook hook)
      throws StepFailure {
    if (preCompile == null) {
      throw new StepFailure(
          BuildStepRunner.SANDBOX_UNAVAILABLE,
          "This app has bin/pre_compile, but this worker runs no build sandbox to run it in."
              + " Start the workers with the build sandbox (bubblewrap) configured.");
    }
    // The buildpack runs the hook before it looks for a package manager: plan again on what the
    // hook left, and build every later step from that.
    String python =
        result.python() != null && result.python().version() != null
            ? result.python().version()
            : planner.catalog().newestPatch(planner.catalog().defaultMinor()).orElseThrow();
    try (PreCompile.Run run =
        preCompile.run(
            hook,
            ctx.sourceDir(),
            result.sourceDir(),
            python,
            task.buildTimeEnv(),
            task.tenant(),
            ctx.log())) {
      return finish(planner.plan(run.repository(), inputs), task, ctx.log(), run.snapshot());
    } catch (IOException e) {
      throw new StepFailure(
          BuildStepRunner.PRE_COMPILE_FAILED,
          "The worker could not release the copy bin/pre_compile ran on: " + e.getMessage(),
          e);
    }
  }

  private static Detected finish(PlanResult result, BuildTask task, LogSink log, Digest snapshot)
      throws StepFailure {
    result.logLines().forEach(log::info);
    if (!result.succeeded()) {
      Diagnostic error = result.error().orElseThrow();
      // The plan's log lines above already frame the error with its code.
      throw StepFailure.alreadyShown(error.code(), error.message());
    }
    BuildPlanSummary summary =
        summarise(result)
            .withSourceSnapshot(snapshot)
            .withRequirementFiles(result.requirementFiles())
            .withProcesses(result.processes());
    String key = null;
    if (result.packageManager() != null && summary.pythonVersion() != null) {
      Map<String, byte[]> files = readRequirementFiles(result);
      // An index option the tenant has not configured fails here, before anything is installed.
      PrivateIndex.of(task, files);
      String extraIndex = task.buildTimeEnv().get(PrivateIndex.EXTRA_INDEX_VARIABLE);
      boolean locked =
          InstallInputs.isLocked(
              result.packageManager(), files, InstallInputs.target(summary), task.isCi());
      key =
          DependencySetKey.compute(
              summary.pythonVersion(),
              TargetPlatform.forRuntimeGlibc(summary.glibc()),
              result.packageManager(),
              extraIndex,
              files,
              keyedFor(locked, extraIndex, task),
              task.isCi());
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
        result.runtime() == null ? null : result.runtime().image(),
        result.runtime() == null ? null : result.runtime().glibc(),
        result.packageManager(),
        result.packageManagerFiles(),
        run == null ? null : run.command(),
        run == null ? null : run.source(),
        result.runtimeEnvironment(),
        warnings,
        null);
  }

  static dev.kiln.buildpack.AppSpec toBuildpack(AppSpec spec) {
    return new dev.kiln.buildpack.AppSpec(
        spec.sourceDir(),
        spec.dockerfilePath(),
        spec.buildCommand(),
        spec.runCommand(),
        spec.envs().stream()
            .map(
                env ->
                    new dev.kiln.buildpack.AppSpec.Env(
                        env.key(),
                        env.value(),
                        dev.kiln.buildpack.AppSpec.Scope.valueOf(env.scope().name())))
            .toList(),
        spec.processes());
  }

  /**
   * Whose key this is: unpinned inputs resolve per tenant and app; a set that takes files from the
   * tenant's private index is the tenant's (any of its apps); a locked public set is everyone's.
   */
  private static DependencySetKey.ResolvedFor keyedFor(
      boolean locked, String extraIndex, BuildTask task) {
    if (!locked) {
      return new DependencySetKey.ResolvedFor(task.tenant(), task.app());
    }
    if (extraIndex != null && !extraIndex.isBlank()) {
      return new DependencySetKey.ResolvedFor(task.tenant(), "*");
    }
    return null;
  }
}
