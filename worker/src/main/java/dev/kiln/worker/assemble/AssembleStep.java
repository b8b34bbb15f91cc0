package dev.kiln.worker.assemble;

import com.google.cloud.tools.jib.api.CacheDirectoryCreationException;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.Port;
import dev.kiln.buildpack.BuildStepRules;
import dev.kiln.buildpack.BuildpackException;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.DependencyLayer;
import dev.kiln.events.Digest;
import dev.kiln.events.TaskKind;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.fs.AppTree;
import dev.kiln.worker.fs.BackgroundDeleter;
import dev.kiln.worker.fs.ScratchSlots;
import dev.kiln.worker.install.PipTool;
import dev.kiln.worker.install.SourceBuilds;
import dev.kiln.worker.runtime.RuntimeImageReference;
import dev.kiln.worker.runtime.RuntimeStore;
import dev.kiln.worker.steps.BuildStep;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepContext;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.regex.Pattern;

/**
 * ASSEMBLE: the runtime image for the build's Python (verified to have exactly that version, see
 * {@link RuntimeStore}), plus three layers — the launcher, the dependencies (unpacked once per
 * dependency set, see {@link MaterializedLayers}) and the app at {@code /app} — with the run-time
 * environment, a non-root user and the run command; delivered to the {@link ImageTarget}. Before
 * the app layer is made, the app's own build steps (NLTK corpora, collectstatic, {@code
 * bin/post_compile}, the app spec's {@code build_command}) run in the build sandbox on a private
 * copy of the app, and the app layer is that copy. The creation time is the epoch and every file
 * time is fixed, so the same inputs give the same image digest.
 *
 * <p>Work directory layout: {@code layers/<hex>/} unpacked dependency layers, {@code launcher/} the
 * launcher script, {@code jib/base} and {@code jib/app} jib's caches, {@code app-builds/<n>/} the
 * reusable slots where build steps run.
 *
 * <pre>{@code
 * AssembleStep assemble = AssembleStep.builder()
 *     .runtimes(runtimeStore)
 *     .target(ImageTarget.registry("registry.internal:5000"))
 *     .layerBlobs(LayerBlobSource.cacheService(cacheUrl))
 *     .buildSteps(new BuildStepRunner(sandbox, URI.create(cacheUrl), SandboxLimits.defaults()))
 *     .workDir(workDir)
 *     .jibExecutor(AssembleStep.newJibExecutor())
 *     .build();
 * }</pre>
 */
public final class AssembleStep implements BuildStep<AssembledImage> {
  public static final String FAILED = "assemble::failed";
  public static final String PUSH_FAILED = "assemble::push-failed";
  public static final String BASE_IMAGE_UNAVAILABLE = "assemble::base-image-unavailable";

  private static final Duration JIB_SETTLE_TIMEOUT = Duration.ofMinutes(2);

  static final String LABEL_BUILD_ID = "dev.kiln.build-id";
  static final String LABEL_COMMIT = "dev.kiln.commit";
  static final String LABEL_PYTHON_VERSION = "dev.kiln.python-version";
  static final String LABEL_RUNTIME = "dev.kiln.runtime";
  static final String LABEL_RESOLVED_SET = "dev.kiln.resolved-set";

  /** {@code dev.kiln.process.<name>}: the command of each process type the image runs. */
  static final String LABEL_PROCESS_PREFIX = "dev.kiln.process.";

  private final RuntimeStore runtimes;
  private final ImageTarget target;
  private final LayerBlobSource layerBlobs;
  private final MaterializedLayers dependencyLayers;
  private final BuildStepRunner buildSteps;
  private final ScratchSlots appBuilds;
  private final Path workDir;
  private final ExecutorService jibExecutor;
  private final LocalProjects localProjects;
  private final DockerfileBuild dockerfileBuild;

  private AssembleStep(Builder builder) {
    this.runtimes = Objects.requireNonNull(builder.runtimes, "runtimes");
    this.target = Objects.requireNonNull(builder.target, "target");
    this.workDir = Objects.requireNonNull(builder.workDir, "workDir").toAbsolutePath().normalize();
    this.layerBlobs = Objects.requireNonNull(builder.layerBlobs, "layerBlobs");
    this.dependencyLayers =
        MaterializedLayers.ofDependencyLayers(this.workDir.resolve("layers"), layerBlobs);
    this.buildSteps = Objects.requireNonNull(builder.buildSteps, "buildSteps");
    this.appBuilds =
        new ScratchSlots(
            this.workDir.resolve("app-builds"), Objects.requireNonNull(builder.deleter, "deleter"));
    this.jibExecutor = Objects.requireNonNull(builder.jibExecutor, "jibExecutor");
    this.localProjects =
        builder.sourceBuilds == null
            ? null
            : new LocalProjects(builder.sourceBuilds, builder.pipTool);
    this.dockerfileBuild = builder.dockerfileBuild;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Everything ASSEMBLE needs; every part is required. */
  public static final class Builder {
    private RuntimeStore runtimes;
    private ImageTarget target;
    private LayerBlobSource layerBlobs;
    private BuildStepRunner buildSteps;
    private BackgroundDeleter deleter;
    private Path workDir;
    private ExecutorService jibExecutor;
    private SourceBuilds sourceBuilds;
    private PipTool pipTool;
    private DockerfileBuild dockerfileBuild;

    private Builder() {}

    /**
     * Builds Dockerfile apps (optional: without it a Dockerfile plan fails with {@value
     * DockerfileBuild#NO_BUILDER}).
     */
    public Builder dockerfileBuild(DockerfileBuild dockerfileBuild) {
      this.dockerfileBuild = dockerfileBuild;
      return this;
    }

    /**
     * Builds the app's local projects in the sandbox, with pip from the index (optional: without it
     * an app with a local project fails).
     */
    public Builder localProjects(SourceBuilds sourceBuilds, PipTool pipTool) {
      this.sourceBuilds = Objects.requireNonNull(sourceBuilds, "sourceBuilds");
      this.pipTool = Objects.requireNonNull(pipTool, "pipTool");
      return this;
    }

    /** Where runtime base images come from, verified. */
    public Builder runtimes(RuntimeStore runtimes) {
      this.runtimes = runtimes;
      return this;
    }

    /** Where images go. */
    public Builder target(ImageTarget target) {
      this.target = target;
      return this;
    }

    /** Where dependency-layer tars come from. */
    public Builder layerBlobs(LayerBlobSource layerBlobs) {
      this.layerBlobs = layerBlobs;
      return this;
    }

    /** Runs the app's build steps in the sandbox. */
    public Builder buildSteps(BuildStepRunner buildSteps) {
      this.buildSteps = buildSteps;
      return this;
    }

    /** Takes old app build copies off the build path. */
    public Builder deleter(BackgroundDeleter deleter) {
      this.deleter = deleter;
      return this;
    }

    /** This worker's scratch space; keep it between builds, it holds the caches. */
    public Builder workDir(Path workDir) {
      this.workDir = workDir;
      return this;
    }

    /**
     * Threads for jib, shared by all builds; must be unbounded (jib's steps wait on each other),
     * e.g. {@link #newJibExecutor()}; the caller shuts it down.
     */
    public Builder jibExecutor(ExecutorService jibExecutor) {
      this.jibExecutor = jibExecutor;
      return this;
    }

    public AssembleStep build() {
      return new AssembleStep(this);
    }
  }

  /** A cached pool of daemon threads named {@code kiln-jib-N}, as jib needs it. */
  public static ExecutorService newJibExecutor() {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory threads =
        runnable -> {
          Thread thread = new Thread(runnable, "kiln-jib-" + count.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        };
    return Executors.newCachedThreadPool(threads);
  }

  /** Where the dependency layer {@code blob} is (or will be) unpacked. */
  public Path dependencyLayerDirectory(Digest blob) {
    return dependencyLayers.directoryFor(blob);
  }

  @Override
  public AssembledImage run(StepContext ctx) throws StepFailure {
    BuildTask task = ctx.task();
    LogSink log = ctx.log();
    BuildPlanSummary plan = task.plan();
    if (task.kind() != TaskKind.ASSEMBLE || plan == null) {
      throw new StepFailure(
          FAILED,
          "Task "
              + task.taskId()
              + " is not an ASSEMBLE task with a "
              + "build plan; the coordinator sent it to the wrong step. Rebuild, and report a bug if "
              + "it happens again.");
    }
    if (DockerfileBuild.isDockerfilePlan(plan)) {
      if (dockerfileBuild == null) {
        throw DockerfileBuild.noBuilder(task);
      }
      return dockerfileBuild.run(ctx);
    }
    if (plan.runCommand() == null || plan.runCommand().isBlank()) {
      throw new StepFailure(
          FAILED,
          "The build plan has no run command, so the image would not "
              + "know what to start. Add a Procfile with a 'web:' line or set run_command in the app "
              + "spec.");
    }
    environment(plan.runtimeEnv());
    RuntimeStore.VerifiedRuntime runtime = runtimes.forPython(plan.pythonVersion(), log);
    RuntimeImageReference base = runtime.base();

    List<FileEntriesLayer> layers = new ArrayList<>();
    layers.add(launcherLayer());
    Path dependencies = null;
    if (plan.packageManager() != null) {
      dependencies = materializedDependencies(task, log);
    }
    Path appRoot = appRoot(ctx.sourceDir(), plan.sourceDir());
    List<DependencyLayer.LocalProject> projects =
        task.layer() == null ? List.of() : task.layer().localProjects();
    BuildStepRules.Plan steps = buildStepPlan(task, appRoot, dependencies);
    Map<String, String> runtimeEnv = new java.util.LinkedHashMap<>(plan.runtimeEnv());
    boolean needsCopy = !steps.afterInstall().isEmpty() || !projects.isEmpty();
    try (ScratchSlots.Slot slot = needsCopy ? appBuilds.acquire() : null) {
      if (slot == null) {
        buildSteps.report(steps, log);
      } else {
        Path app = slot.fresh("app");
        AppTree.copy(appRoot, app);
        if (!projects.isEmpty()) {
          installLocalProjects(projects, app, runtime, plan, slot.fresh("local-projects"), log);
        }
        runtimeEnv.putAll(
            buildSteps.runAfterInstall(
                steps,
                new BuildStepRunner.Workspace(
                    runtimes.rootfs(runtime, log),
                    app,
                    dependencies,
                    task.buildTimeEnv(),
                    task.tenant()),
                log));
        appRoot = app;
      }
      log.info("-----> Assembling the image on " + base + " (Python " + runtime.python() + ")");
      layers.add(appLayer(appRoot, log));
      if (task.layer() != null && task.layer().resolvedSet() != null) {
        layers.add(InstallReport.layer(workDir.resolve("install-reports"), task.layer()));
      }
      return containerize(
          task,
          plan,
          runtime,
          layers,
          dependencies,
          environment(runtimeEnv, !projects.isEmpty()),
          log);
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "Could not prepare a copy of the app for its build steps under "
              + workDir.resolve("app-builds")
              + ": "
              + e.getMessage()
              + ". Check free space and permissions of the worker's work directory.",
          e);
    }
  }

  private void installLocalProjects(
      List<DependencyLayer.LocalProject> projects,
      Path app,
      RuntimeStore.VerifiedRuntime runtime,
      BuildPlanSummary plan,
      Path scratch,
      LogSink log)
      throws StepFailure {
    if (localProjects == null) {
      throw new StepFailure(
          BuildStepRunner.SANDBOX_UNAVAILABLE,
          "This app installs its own project ("
              + projects.get(0).path()
              + "), which is built in the build sandbox, and this worker runs none. Start the"
              + " workers with the build sandbox.");
    }
    localProjects.install(
        projects,
        app,
        runtimes.rootfs(runtime, log),
        TargetEnvironment.linuxX86_64(
            runtime.python(), plan.glibc() == null ? "2.17" : plan.glibc()),
        scratch,
        log);
  }

  private static RuntimeEnvironment environment(Map<String, String> variables) throws StepFailure {
    return environment(variables, false);
  }

  private static RuntimeEnvironment environment(Map<String, String> variables, boolean local)
      throws StepFailure {
    try {
      return RuntimeEnvironment.forApp(variables, local);
    } catch (IllegalArgumentException e) {
      throw new StepFailure(
          FAILED,
          "The app's run-time environment cannot go into the image: " + e.getMessage() + ".",
          e);
    }
  }

  private static BuildStepRules.Plan buildStepPlan(BuildTask task, Path appRoot, Path dependencies)
      throws StepFailure {
    try {
      return BuildStepRules.plan(
          appRoot,
          task.buildTimeEnv(),
          BuildStepRunner.installedModules(dependencies, appRoot),
          task.appSpec().buildCommand());
    } catch (BuildpackException e) {
      throw new StepFailure(e.code(), e.getMessage(), e);
    }
  }

  private AssembledImage containerize(
      BuildTask task,
      BuildPlanSummary plan,
      RuntimeStore.VerifiedRuntime runtime,
      List<FileEntriesLayer> layers,
      Path dependencies,
      RuntimeEnvironment env,
      LogSink log)
      throws StepFailure {
    RuntimeImageReference base = runtime.base();
    ImageTarget.Delivery delivery = openDelivery(task);
    log.info("-----> Writing the image to " + delivery.describe());
    BuildExecutor executor = new BuildExecutor(jibExecutor);
    boolean delivered = false;
    try {
      JibContainerBuilder start = null;
      List<FileEntriesLayer> own = new ArrayList<>(layers);
      if (dependencies != null) {
        start = baseWithDependencies(delivery, base, task.layer().blob(), log);
        if (start == null) {
          own.add(1, dependencyLayer(dependencies));
        }
      }
      JibContainerBuilder image =
          (start != null ? start : delivery.base(base))
              .setFileEntriesLayers(own)
              .setEntrypoint(List.of(ImageLayers.LAUNCHER.toString()))
              .setProgramArguments(List.of(plan.runCommand()))
              .setWorkingDirectory(ImageLayers.APP_DIR)
              .setUser(ImageLayers.APP_USER)
              .setEnvironment(env.variables())
              .setExposedPorts(Port.tcp(env.port()))
              .setLabels(labels(task, runtime))
              .setCreationTime(Instant.EPOCH)
              .setFormat(delivery.format());
      JibContainer container = image.containerize(containerizer(delivery, base, executor, log));
      String reference = delivery.complete();
      delivered = true;
      Digest digest = delivery.digest(Digest.of(container.getDigest().toString()));
      log.info("       Image " + reference + " " + digest);
      return new AssembledImage(reference, digest);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          FAILED,
          "The worker was stopped while it assembled the image, so " + "no image was delivered.",
          e);
    } catch (RegistryException | ExecutionException | IOException | RuntimeException e) {
      throw JibFailures.classify(e, base, delivery, runtime.python());
    } catch (CacheDirectoryCreationException e) {
      throw new StepFailure(
          FAILED,
          "jib could not create its cache under "
              + workDir.resolve("jib")
              + ": "
              + e.getMessage()
              + ". Check that the worker can write to its work directory.",
          e);
    } finally {
      awaitJib(executor, log);
      if (!delivered) {
        delivery.abandon();
      }
    }
  }

  /**
   * The base with the stored dependency layer on top, when the target takes it as it is; null when
   * jib builds the layer from the unpacked tree (other targets, or the stored layer is unusable).
   */
  private JibContainerBuilder baseWithDependencies(
      ImageTarget.Delivery delivery, RuntimeImageReference base, Digest blob, LogSink log) {
    try {
      JibContainerBuilder start =
          delivery
              .baseWithDependencies(base, blob, layerBlobs, note -> log.warn("       " + note))
              .orElse(null);
      if (start != null) {
        log.info("       Dependency layer " + blob.toString().substring(0, 19) + " as stored");
      }
      return start;
    } catch (IOException | RuntimeException e) {
      log.warn(
          "       Could not use the stored dependency layer as it is ("
              + e.getMessage()
              + "); building it from the unpacked tree instead");
      return null;
    }
  }

  private static Map<String, String> labels(BuildTask task, RuntimeStore.VerifiedRuntime runtime) {
    Map<String, String> labels = new java.util.TreeMap<>();
    labels.put(LABEL_BUILD_ID, task.buildId());
    labels.put(LABEL_COMMIT, task.commit());
    task.plan()
        .processes()
        .forEach((name, command) -> labels.put(LABEL_PROCESS_PREFIX + name, command));
    labels.put(LABEL_PYTHON_VERSION, runtime.python());
    labels.put(LABEL_RUNTIME, runtime.entry().image());
    if (task.layer() != null && task.layer().resolvedSet() != null) {
      labels.put(LABEL_RESOLVED_SET, task.layer().resolvedSet().toString());
    }
    return labels;
  }

  /** Lets the jib tasks a failure left running finish, so nothing outlives the step. */
  private static void awaitJib(BuildExecutor executor, LogSink log) {
    try {
      executor.awaitTasks(JIB_SETTLE_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (TimeoutException e) {
      log.warn(
          "       Some image building work was still running after "
              + JIB_SETTLE_TIMEOUT.toSeconds()
              + " s; it goes on in the background");
    }
  }

  private ImageTarget.Delivery openDelivery(BuildTask task) throws StepFailure {
    try {
      return target.open(task.tenant(), task.app(), task.commit(), task.isCi());
    } catch (RuntimeException e) {
      throw new StepFailure(
          FAILED, "Cannot deliver the image to " + target + ": " + e.getMessage() + ".", e);
    }
  }

  private Containerizer containerizer(
      ImageTarget.Delivery delivery,
      RuntimeImageReference base,
      ExecutorService executor,
      LogSink log) {
    return delivery
        .containerizer()
        .setBaseImageLayersCache(workDir.resolve("jib").resolve("base"))
        .setApplicationLayersCache(workDir.resolve("jib").resolve("app"))
        .setExecutorService(executor)
        .setAllowInsecureRegistries(base.usesPlainHttp() || delivery.plainHttp())
        .setToolName("kiln")
        .setToolVersion(ImageLayers.LAYOUT_VERSION)
        .addEventHandler(LogEvent.class, new JibLog(log));
  }

  private FileEntriesLayer launcherLayer() throws StepFailure {
    try {
      return ImageLayers.launcher(Launcher.materialize(workDir.resolve("launcher")));
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "Could not write the launcher script under "
              + workDir.resolve("launcher")
              + ": "
              + e
              + ". Check that the worker can write to its "
              + "work directory.",
          e);
    }
  }

  private Path materializedDependencies(BuildTask task, LogSink log) throws StepFailure {
    if (task.layer() == null || task.layer().blob() == null) {
      throw new StepFailure(
          FAILED,
          "The plan uses "
              + task.plan().packageManager()
              + " but the "
              + "task carries no dependency layer; the INSTALL result did not reach ASSEMBLE. Rebuild,"
              + " and report a bug if it happens again.");
    }
    return dependencyLayers.materialize(task.layer().blob(), log);
  }

  private static FileEntriesLayer dependencyLayer(Path directory) throws StepFailure {
    try {
      return ImageLayers.dependencies(directory);
    } catch (IOException e) {
      throw new StepFailure(
          FAILED,
          "Could not read the unpacked dependency layer "
              + directory
              + ": "
              + e
              + ". Delete that directory so the next build unpacks it again.",
          e);
    }
  }

  private static FileEntriesLayer appLayer(Path appRoot, LogSink log) throws StepFailure {
    try {
      return ImageLayers.app(appRoot, note -> log.warn("       " + note));
    } catch (IOException e) {
      throw new StepFailure(
          FAILED, "Could not read the app's files under " + appRoot + ": " + e + ".", e);
    }
  }

  /** The plan's {@code source_dir} within the checkout; it may not leave it. */
  static Path appRoot(Path checkout, String sourceDir) throws StepFailure {
    String relative = sourceDir == null ? "" : sourceDir.strip().replaceFirst("^/+", "");
    if (relative.isEmpty() || relative.equals(".")) {
      return checkout;
    }
    StepFailure notADirectory =
        new StepFailure(
            FAILED,
            "The app's source_dir '"
                + sourceDir
                + "' is not a directory inside the repository. Set source_dir in the app spec to a "
                + "directory of the repository, e.g. 'services/web'.");
    try {
      Path root = checkout.toRealPath();
      Path resolved = root.resolve(relative).normalize();
      if (!resolved.startsWith(root)
          || !Files.isDirectory(resolved)
          || !resolved.toRealPath().startsWith(root)) {
        throw notADirectory;
      }
      return resolved;
    } catch (IOException e) {
      notADirectory.initCause(e);
      throw notADirectory;
    }
  }

  /**
   * Sends jib's progress lines to the build log, 7-space indented. Its other levels are left out:
   * INFO lists every file, WARN is mostly the HTTPS-to-HTTP fallback chosen for loopback
   * registries, and errors reach the log once, as this step's failure.
   */
  private static final class JibLog implements Consumer<LogEvent> {
    private static final Pattern ANSI = Pattern.compile("\u001B\\[[;\\d]*m");
    private final LogSink log;

    JibLog(LogSink log) {
      this.log = log;
    }

    @Override
    public void accept(LogEvent event) {
      if (event.getLevel() != LogEvent.Level.PROGRESS
          && event.getLevel() != LogEvent.Level.LIFECYCLE) {
        return;
      }
      String message = ANSI.matcher(event.getMessage()).replaceAll("").strip();
      if (!message.isEmpty()) {
        log.info("       " + message);
      }
    }
  }

  @Override
  public String toString() {
    return "ASSEMBLE to " + target;
  }
}
