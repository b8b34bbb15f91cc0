package dev.kiln.worker.assemble;

import com.google.cloud.tools.jib.api.CacheDirectoryCreationException;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.LogEvent;
import com.google.cloud.tools.jib.api.RegistryException;
import com.google.cloud.tools.jib.api.buildplan.FileEntriesLayer;
import com.google.cloud.tools.jib.api.buildplan.Port;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.Digest;
import dev.kiln.events.TaskKind;
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
 * ASSEMBLE: the runtime image for the build's Python, plus three layers — the launcher, the
 * dependencies (unpacked once per dependency set, see {@link MaterializedLayers}) and the app at
 * {@code /app} — with the run-time environment, a non-root user and the run command; delivered to
 * the {@link ImageTarget}. The creation time is the epoch and every file time is fixed, so the same
 * inputs give the same image digest.
 *
 * <p>Work directory layout: {@code layers/<hex>/} unpacked dependency layers, {@code launcher/} the
 * launcher script, {@code jib/base} and {@code jib/app} jib's caches.
 */
public final class AssembleStep implements BuildStep<AssembledImage> {
  public static final String FAILED = "assemble::failed";
  public static final String PUSH_FAILED = "assemble::push-failed";
  public static final String BASE_IMAGE_UNAVAILABLE = RuntimeImages.BASE_IMAGE_UNAVAILABLE;

  private static final Duration JIB_SETTLE_TIMEOUT = Duration.ofMinutes(2);

  static final String LABEL_BUILD_ID = "dev.kiln.build-id";
  static final String LABEL_COMMIT = "dev.kiln.commit";
  static final String LABEL_PYTHON_VERSION = "dev.kiln.python-version";

  private final RuntimeImages runtimeImages;
  private final ImageTarget target;
  private final MaterializedLayers dependencyLayers;
  private final Path workDir;
  private final ExecutorService jibExecutor;

  /**
   * @param workDir this worker's scratch space; keep it between builds, it holds the caches
   * @param jibExecutor threads for jib, shared by all builds; must be unbounded (jib's steps wait
   *     on each other), e.g. {@link #newJibExecutor()}; the caller shuts it down
   */
  public AssembleStep(
      RuntimeImages runtimeImages,
      ImageTarget target,
      LayerBlobSource layerBlobs,
      Path workDir,
      ExecutorService jibExecutor) {
    this.runtimeImages = Objects.requireNonNull(runtimeImages, "runtimeImages");
    this.target = Objects.requireNonNull(target, "target");
    this.workDir = workDir.toAbsolutePath().normalize();
    this.dependencyLayers =
        new MaterializedLayers(this.workDir.resolve("layers"), Objects.requireNonNull(layerBlobs));
    this.jibExecutor = Objects.requireNonNull(jibExecutor, "jibExecutor");
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
    if (plan.runCommand() == null || plan.runCommand().isBlank()) {
      throw new StepFailure(
          FAILED,
          "The build plan has no run command, so the image would not "
              + "know what to start. Add a Procfile with a 'web:' line or set run_command in the app "
              + "spec.");
    }
    RuntimeEnvironment env;
    try {
      env = RuntimeEnvironment.forApp(plan.runtimeEnv());
    } catch (IllegalArgumentException e) {
      throw new StepFailure(
          FAILED,
          "The app's run-time environment cannot go into the image: " + e.getMessage() + ".",
          e);
    }
    RuntimeImageReference base = runtimeImages.forPython(plan.pythonVersion());

    log.info("-----> Assembling the image on " + base + " (Python " + plan.pythonVersion() + ")");
    List<FileEntriesLayer> layers = new ArrayList<>();
    layers.add(launcherLayer());
    if (plan.packageManager() != null) {
      layers.add(dependencyLayer(task, log));
    }
    layers.add(appLayer(ctx, plan, log));

    ImageTarget.Delivery delivery = openDelivery(task);
    log.info("-----> Writing the image to " + delivery.describe());
    BuildExecutor executor = new BuildExecutor(jibExecutor);
    boolean delivered = false;
    try {
      JibContainerBuilder image =
          base.jibBase()
              .setFileEntriesLayers(layers)
              .setEntrypoint(List.of(ImageLayers.LAUNCHER.toString()))
              .setProgramArguments(List.of(plan.runCommand()))
              .setWorkingDirectory(ImageLayers.APP_DIR)
              .setUser(ImageLayers.APP_USER)
              .setEnvironment(env.variables())
              .setExposedPorts(Port.tcp(env.port()))
              .setLabels(
                  Map.of(
                      LABEL_BUILD_ID, task.buildId(),
                      LABEL_COMMIT, task.commit(),
                      LABEL_PYTHON_VERSION, plan.pythonVersion()))
              .setCreationTime(Instant.EPOCH)
              .setFormat(delivery.format());
      JibContainer container = image.containerize(containerizer(delivery, base, executor, log));
      String reference = delivery.complete();
      delivered = true;
      Digest digest = Digest.of(container.getDigest().toString());
      log.info("       Image " + reference + " " + digest);
      return new AssembledImage(reference, digest);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          FAILED,
          "The worker was stopped while it assembled the image, so " + "no image was delivered.",
          e);
    } catch (RegistryException | ExecutionException | IOException | RuntimeException e) {
      throw JibFailures.classify(e, base, delivery, plan.pythonVersion());
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
      return target.open(task.tenant(), task.app(), task.commit());
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

  private FileEntriesLayer dependencyLayer(BuildTask task, LogSink log) throws StepFailure {
    if (task.layer() == null || task.layer().blob() == null) {
      throw new StepFailure(
          FAILED,
          "The plan uses "
              + task.plan().packageManager()
              + " but the "
              + "task carries no dependency layer; the INSTALL result did not reach ASSEMBLE. Rebuild,"
              + " and report a bug if it happens again.");
    }
    Path directory = dependencyLayers.materialize(task.layer().blob(), log);
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

  private FileEntriesLayer appLayer(StepContext ctx, BuildPlanSummary plan, LogSink log)
      throws StepFailure {
    Path appRoot = appRoot(ctx.sourceDir(), plan.sourceDir());
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
