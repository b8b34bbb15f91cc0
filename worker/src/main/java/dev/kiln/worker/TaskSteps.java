package dev.kiln.worker;

import dev.kiln.buildpack.BuildPlanner;
import dev.kiln.buildpack.RuntimeCatalog;
import dev.kiln.events.TaskKind;
import dev.kiln.worker.assemble.AssembledImage;
import dev.kiln.worker.detect.DetectStep;
import dev.kiln.worker.install.InstallStep;
import dev.kiln.worker.install.TargetPlatform;
import dev.kiln.worker.steps.BuildStep;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which step runs each kind of task on this worker. A worker without an ASSEMBLE step reports
 * ASSEMBLE tasks as failed with {@value TaskRunner#UNSUPPORTED_TASK}.
 *
 * <pre>{@code
 * new WorkerVerticle(config, resources ->
 *     TaskSteps.standard(resources, RuntimeCatalog.loadDefault())
 *         .withAssemble(new AssembleStep(...)));
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

  /** DETECT with the buildpack rules and INSTALL with pip against the cache-service. */
  public static TaskSteps standard(WorkerResources resources, RuntimeCatalog catalog) {
    DetectStep detect = new DetectStep(new BuildPlanner(catalog), TargetPlatform.LINUX_X86_64);
    InstallStep install =
        new InstallStep(
            resources.cache(),
            InstallStep.Settings.defaults(resources.config().workDir()),
            resources.deleter());
    return none().withDetect(detect).withInstall(install);
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
