package dev.kiln.worker;

import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.TaskKind;
import dev.kiln.worker.assemble.AssembleStep;
import dev.kiln.worker.assemble.AssembledImage;
import dev.kiln.worker.assemble.DockerfileBuild;
import dev.kiln.worker.assemble.ImageTarget;
import dev.kiln.worker.assemble.LayerBlobSource;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.buildsteps.PreCompile;
import dev.kiln.worker.detect.DetectStep;
import dev.kiln.worker.fetch.SourceSnapshots;
import dev.kiln.worker.fs.ScratchSlots;
import dev.kiln.worker.install.InstallStep;
import dev.kiln.worker.install.PipTool;
import dev.kiln.worker.install.SandboxPip;
import dev.kiln.worker.install.SourceBuilds;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.steps.BuildStep;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;

/**
 * Which step runs each kind of task on this worker. A worker without an ASSEMBLE step reports
 * ASSEMBLE tasks as failed with {@value TaskRunner#UNSUPPORTED_TASK}.
 *
 * <pre>{@code
 * new WorkerVerticle(config, resources ->
 *     TaskSteps.complete(resources, runtimeStore, buildStepRunner, target, jibExecutor));
 * }</pre>
 */
public final class TaskSteps {
  private final Map<TaskKind, BuildStep<TaskOutput>> steps;

  private TaskSteps(Map<TaskKind, BuildStep<TaskOutput>> steps) {
    this.steps = steps;
  }

  public static TaskSteps none() {
    return new TaskSteps(new EnumMap<>(TaskKind.class));
  }

  /**
   * DETECT with the buildpack rules and INSTALL against the cache-service, without a build sandbox
   * (an app with {@code bin/pre_compile} fails at DETECT; unpinned requirements and sdists fail at
   * INSTALL).
   */
  public static TaskSteps standard(WorkerResources resources, RuntimeCatalog catalog) {
    return none()
        .withDetect(
            new DetectStep(
                new BuildPlanner(catalog)
                    .withPythonRequirements(new dev.kiln.worker.detect.RequiresPythonCheck())))
        .withInstall(install(resources));
  }

  /**
   * Everything a farm's worker runs: DETECT (with {@code bin/pre_compile} in the build sandbox),
   * INSTALL, and ASSEMBLE to {@code target} on the verified runtimes of {@code runtimes}, with the
   * app's build steps in the sandbox.
   *
   * @param jibExecutor threads for jib, shared by the workers of a process; the caller shuts it
   *     down
   */
  public static TaskSteps complete(
      WorkerResources resources,
      RuntimeStore runtimes,
      BuildStepRunner buildSteps,
      ImageTarget target,
      ExecutorService jibExecutor) {
    return complete(resources, runtimes, buildSteps, target, jibExecutor, null);
  }

  /**
   * As {@link #complete(WorkerResources, RuntimeStore, BuildStepRunner, ImageTarget,
   * ExecutorService)}, and Dockerfile apps are built with Docker as {@code dockerfileBuilder} says
   * (null: this worker has no Dockerfile builder, and DETECT fails Dockerfile apps with {@value
   * DockerfileBuild#NO_BUILDER}).
   */
  public static TaskSteps complete(
      WorkerResources resources,
      RuntimeStore runtimes,
      BuildStepRunner buildSteps,
      ImageTarget target,
      ExecutorService jibExecutor,
      DockerfileBuild.Settings dockerfileBuilder) {
    Path workDir = resources.config().workDir();
    PreCompile preCompile =
        new PreCompile(
            runtimes,
            buildSteps,
            new SourceSnapshots(workDir, resources.cache()),
            new ScratchSlots(workDir.resolve("pre-compile"), resources.deleter()));
    SandboxPip pip = new SandboxPip(buildSteps.sandbox(), buildSteps.index(), buildSteps.limits());
    PipTool pipTool = new PipTool(resources.cache(), workDir.resolve("tools"));
    return none()
        .withDetect(
            new DetectStep(
                    new BuildPlanner(runtimes.catalog())
                        .withPythonRequirements(new dev.kiln.worker.detect.RequiresPythonCheck()),
                    preCompile)
                .withDockerfileBuilder(dockerfileBuilder != null))
        .withInstall(
            new InstallStep(
                resources.cache(),
                InstallStep.Settings.defaults(workDir),
                resources.deleter(),
                new InstallStep.Sandboxed(runtimes, pip, pipTool)))
        .withAssemble(
            AssembleStep.builder()
                .runtimes(runtimes)
                .target(target)
                .layerBlobs(LayerBlobSource.cacheService(resources.cache()))
                .buildSteps(buildSteps)
                .localProjects(new SourceBuilds(pip), pipTool)
                .deleter(resources.deleter())
                .workDir(workDir)
                .jibExecutor(jibExecutor)
                .dockerfileBuild(
                    dockerfileBuilder == null
                        ? null
                        : new DockerfileBuild(dockerfileBuilder, target, workDir, jibExecutor))
                .build());
  }

  private static InstallStep install(WorkerResources resources) {
    return new InstallStep(
        resources.cache(),
        InstallStep.Settings.defaults(resources.config().workDir()),
        resources.deleter());
  }

  public TaskSteps with(TaskKind kind, BuildStep<TaskOutput> step) {
    Map<TaskKind, BuildStep<TaskOutput>> copy = new EnumMap<>(TaskKind.class);
    copy.putAll(steps);
    copy.put(kind, step);
    return new TaskSteps(copy);
  }

  public TaskSteps withDetect(BuildStep<DetectStep.Detected> detect) {
    return with(
        TaskKind.DETECT,
        ctx -> {
          DetectStep.Detected detected = detect.run(ctx);
          return TaskOutput.detected(detected.plan(), detected.dependencyKey());
        });
  }

  public TaskSteps withInstall(BuildStep<dev.kiln.events.DependencyLayer> install) {
    return with(TaskKind.INSTALL, ctx -> TaskOutput.installed(install.run(ctx)));
  }

  public TaskSteps withAssemble(BuildStep<AssembledImage> assemble) {
    return with(
        TaskKind.ASSEMBLE,
        ctx -> {
          AssembledImage image = assemble.run(ctx);
          return TaskOutput.assembled(image.reference(), image.digest());
        });
  }

  public Optional<BuildStep<TaskOutput>> step(TaskKind kind) {
    return Optional.ofNullable(steps.get(kind));
  }
}
