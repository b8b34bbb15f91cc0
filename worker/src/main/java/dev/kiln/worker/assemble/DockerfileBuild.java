package dev.kiln.worker.assemble;

import com.google.cloud.tools.jib.api.CacheDirectoryCreationException;
import com.google.cloud.tools.jib.api.Containerizer;
import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainer;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.RegistryException;
import dev.kiln.events.BuildPlanSummary;
import dev.kiln.events.BuildTask;
import dev.kiln.events.Digest;
import dev.kiln.worker.process.ExternalProcess;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * ASSEMBLE of a Dockerfile app (plan strategy {@code dockerfile}): {@code docker build} on the
 * worker's Docker daemon (the {@code docker} command on the PATH; {@code DOCKER_HOST} is honoured),
 * with the checkout's {@code source_dir} as the build context, the app's build-time variables as
 * {@code --build-arg}s, no network (unless the operator allows it), no pulls, a time limit and an
 * image-size limit; the image, tagged uniquely for the build, is then delivered by jib to the same
 * {@link ImageTarget} as buildpack images and the tag removed. The classic (non-BuildKit) builder
 * is used: its output is line by line and the same on every daemon version.
 *
 * <p>Failures: {@value #INVALID}, {@value #BASE_IMAGE_UNAVAILABLE}, {@value #RUN_FAILED}, {@value
 * #TIMEOUT}, {@value #TOO_LARGE}, {@value #BUILD_FAILED}; each message ends with the builder's last
 * lines.
 */
public final class DockerfileBuild implements BuildStep<AssembledImage> {
  public static final String NO_BUILDER = "dockerfile::no-builder";
  public static final String INVALID = "dockerfile::invalid";
  public static final String BASE_IMAGE_UNAVAILABLE = "dockerfile::base-image-unavailable";
  public static final String RUN_FAILED = "dockerfile::run-failed";
  public static final String TIMEOUT = "dockerfile::timeout";
  public static final String TOO_LARGE = "dockerfile::too-large";
  public static final String BUILD_FAILED = "dockerfile::build-failed";

  /** The repository local build tags live under: {@code kiln-dockerfile:<task>-<random>}. */
  static final String LOCAL_REPOSITORY = "kiln-dockerfile";

  private static final int TAIL_LINES = 26;
  static final int MAX_LOG_LINES = 10_000;
  static final int MAX_LINE_CHARS = 4_096;
  private static final Duration DOCKER_QUERY_TIMEOUT = Duration.ofMinutes(1);
  private static final Duration JIB_SETTLE_TIMEOUT = Duration.ofMinutes(2);

  /**
   * How this worker builds Dockerfiles.
   *
   * @param docker the {@code docker} command (a name on the PATH or a path)
   * @param allowNetwork whether {@code RUN} steps may reach the network (default: no, {@code
   *     --network none})
   * @param timeout the longest one {@code docker build} may run; it is stopped after that
   * @param maxImageBytes the largest image (as the daemon counts it) that is delivered
   * @param pullRegistry base images whose reference starts with this registry ({@code host[:port]})
   *     may be pulled by the daemon; every other base must already be loaded in it. Null: none may
   *     be pulled
   * @param memoryBytes the memory each RUN step's container may use ({@code --memory}, no swap); 0:
   *     the daemon's default (no limit)
   */
  public record Settings(
      String docker,
      boolean allowNetwork,
      Duration timeout,
      long maxImageBytes,
      String pullRegistry,
      long memoryBytes) {
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(15);
    public static final long DEFAULT_MAX_IMAGE_BYTES = 8L << 30;

    public Settings {
      Objects.requireNonNull(docker, "docker");
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("the Dockerfile build timeout must be positive");
      }
      if (maxImageBytes <= 0) {
        throw new IllegalArgumentException("the largest Dockerfile image must be positive");
      }
      if (memoryBytes != 0 && memoryBytes < (6L << 20)) {
        throw new IllegalArgumentException(
            "a Dockerfile build's memory limit is 0 (none) or at least 6 MiB (Docker's minimum)");
      }
    }

    /** {@code docker} from the PATH, no network, 15 minutes, 8 GiB, no pulls, no memory limit. */
    public static Settings defaults() {
      return new Settings("docker", false, DEFAULT_TIMEOUT, DEFAULT_MAX_IMAGE_BYTES, null, 0);
    }

    public Settings withMemoryBytes(long limit) {
      return new Settings(docker, allowNetwork, timeout, maxImageBytes, pullRegistry, limit);
    }

    public Settings withAllowNetwork(boolean allow) {
      return new Settings(docker, allow, timeout, maxImageBytes, pullRegistry, memoryBytes);
    }

    public Settings withTimeout(Duration limit) {
      return new Settings(docker, allowNetwork, limit, maxImageBytes, pullRegistry, memoryBytes);
    }

    public Settings withMaxImageBytes(long limit) {
      return new Settings(docker, allowNetwork, timeout, limit, pullRegistry, memoryBytes);
    }

    public Settings withPullRegistry(String registry) {
      return new Settings(docker, allowNetwork, timeout, maxImageBytes, registry, memoryBytes);
    }
  }

  private final Settings settings;
  private final ImageTarget target;
  private final Path workDir;
  private final ExecutorService jibExecutor;

  /**
   * @param workDir this worker's scratch space (jib's caches go under {@code jib/})
   * @param jibExecutor threads for jib (see {@link AssembleStep#newJibExecutor()})
   */
  public DockerfileBuild(
      Settings settings, ImageTarget target, Path workDir, ExecutorService jibExecutor) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.target = Objects.requireNonNull(target, "target");
    this.workDir = Objects.requireNonNull(workDir, "workDir").toAbsolutePath().normalize();
    this.jibExecutor = Objects.requireNonNull(jibExecutor, "jibExecutor");
  }

  /** Whether a plan is a Dockerfile build. */
  public static boolean isDockerfilePlan(BuildPlanSummary plan) {
    return plan != null
        && plan.strategy() != null
        && "dockerfile".equals(plan.strategy().toLowerCase(Locale.ROOT));
  }

  /** The failure of a Dockerfile ASSEMBLE on a worker without a builder. */
  public static StepFailure noBuilder(BuildTask task) {
    return new StepFailure(
        NO_BUILDER,
        "This app is built from a Dockerfile ("
            + dockerfileOf(task)
            + "), but the worker that got its ASSEMBLE has no Dockerfile builder configured. Start"
            + " every worker of the farm with --dockerfile-builder docker (kiln worker, kiln up),"
            + " or remove the Dockerfile (and dockerfile_path from the app spec) to build with the"
            + " Python buildpack, then push again.");
  }

  @Override
  public AssembledImage run(StepContext ctx) throws StepFailure {
    BuildTask task = ctx.task();
    LogSink log = ctx.log();
    Path context = AssembleStep.appRoot(ctx.sourceDir(), task.plan().sourceDir());
    Path dockerfile = dockerfile(ctx.sourceDir(), task);
    String tag = localTag(task);
    log.info("-----> Building the image from " + dockerfileOf(task) + " with Docker");
    try {
      Files.createDirectories(workDir);
    } catch (IOException e) {
      throw new StepFailure(
          BUILD_FAILED,
          "Could not create the worker's work directory "
              + workDir
              + ": "
              + e.getMessage()
              + ". Check free space and permissions.",
          e);
    }
    checkBaseImages(dockerfile, log);
    try {
      build(task, context, dockerfile, tag, log);
      checkSize(tag);
      return deliver(task, tag, log);
    } finally {
      removeTag(tag, log);
    }
  }

  private void build(BuildTask task, Path context, Path dockerfile, String tag, LogSink log)
      throws StepFailure {
    List<String> command = new ArrayList<>();
    command.add(settings.docker());
    command.add("build");
    command.add("--pull=false");
    command.add("--rm");
    command.add("--force-rm");
    command.add("--network");
    command.add(settings.allowNetwork() ? "default" : "none");
    if (settings.memoryBytes() > 0) {
      command.add("--memory");
      command.add(Long.toString(settings.memoryBytes()));
      command.add("--memory-swap");
      command.add(Long.toString(settings.memoryBytes()));
    }
    command.add("--label");
    command.add(AssembleStep.LABEL_BUILD_ID + "=" + task.buildId());
    command.add("--label");
    command.add(AssembleStep.LABEL_COMMIT + "=" + task.commit());
    for (Map.Entry<String, String> variable : task.buildTimeEnv().entrySet()) {
      command.add("--build-arg");
      command.add(variable.getKey() + "=" + variable.getValue());
    }
    command.add("-f");
    command.add(dockerfile.toString());
    command.add("-t");
    command.add(tag);
    command.add(context.toString());
    ExternalProcess.Outcome outcome;
    try {
      outcome =
          new ExternalProcess(command, context, environment(), settings.timeout(), TAIL_LINES)
              .run(new BuilderLog(log));
    } catch (IOException e) {
      throw new StepFailure(
          NO_BUILDER,
          "The worker could not start '"
              + settings.docker()
              + "' for the Dockerfile build: "
              + e.getMessage()
              + ". Install the Docker CLI on the worker (or fix --dockerfile-builder) and make sure"
              + " the daemon is reachable (DOCKER_HOST).",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          BUILD_FAILED,
          "The worker was stopped during the Dockerfile build; no image was made.",
          e);
    }
    if (outcome.timedOut()) {
      throw new StepFailure(
          TIMEOUT,
          "The Dockerfile build ran longer than "
              + describe(settings.timeout())
              + " and was stopped. Make the build faster (fewer or smaller RUN steps, a base image"
              + " with more already installed), or ask the operator for a longer limit"
              + " (--dockerfile-timeout)."
              + tail(outcome));
    }
    if (!outcome.succeeded()) {
      throw classify(outcome.tail());
    }
  }

  /** The failure docker's last lines describe. */
  static StepFailure classify(List<String> tail) {
    String text = String.join("\n", tail);
    String shown = "\n\nThe builder's last lines:\n" + indent(tail);
    String lower = text.toLowerCase(Locale.ROOT);
    if (lower.contains("dockerfile parse error")
        || lower.contains("unknown instruction")
        || lower.contains("unknown flag")
        || lower.contains("failed to parse dockerfile")
        || lower.contains("no build stage in current context")
        || lower.contains("file with no instructions")) {
      return new StepFailure(
          INVALID,
          "The Dockerfile is not valid: the builder could not parse it. Fix the line it names"
              + " (instructions are FROM, RUN, COPY, ADD, CMD, ENTRYPOINT, ENV, ARG, WORKDIR, USER,"
              + " EXPOSE, LABEL, …) and push again."
              + shown);
    }
    Matcher step = Pattern.compile("(?m)^Step \\d+/\\d+ : (\\S+)").matcher(text);
    String lastInstruction = null;
    while (step.find()) {
      lastInstruction = step.group(1).toUpperCase(Locale.ROOT);
    }
    if ("FROM".equals(lastInstruction)
        || lower.contains("pull access denied")
        || lower.contains("manifest unknown")
        || lower.contains("no such image")) {
      return new StepFailure(
          BASE_IMAGE_UNAVAILABLE,
          "A base image of the Dockerfile (FROM) is not available to this farm's builder: base"
              + " images are not pulled from the internet. Use a base image the operator has"
              + " loaded into the workers' Docker daemon or put in the farm's registry, and push"
              + " again."
              + shown);
    }
    if (lower.contains("returned a non-zero code")) {
      return new StepFailure(
          RUN_FAILED,
          "A RUN step of the Dockerfile failed (exited non-zero). The builder's output above"
              + " shows why; RUN steps have no network unless the operator allows it, so"
              + " downloads (pip install from PyPI, apt-get) fail: copy what the app needs into"
              + " the build context or use a base image that has it."
              + shown);
    }
    return new StepFailure(
        BUILD_FAILED,
        "The Dockerfile build failed. The builder's output above shows why (a COPY of a file that"
            + " is not in the source directory is a common cause: the build context is the app's"
            + " source_dir)."
            + shown);
  }

  /**
   * Fails before the build when a FROM names an image the daemon does not have and may not pull:
   * the classic builder would otherwise try the internet.
   */
  private void checkBaseImages(Path dockerfile, LogSink log) throws StepFailure {
    List<String> lines;
    try {
      lines = Files.readAllLines(dockerfile);
    } catch (IOException e) {
      throw new StepFailure(
          INVALID, "Could not read the Dockerfile " + dockerfile + ": " + e.getMessage() + ".", e);
    }
    Set<String> stages = new HashSet<>();
    for (String base : fromImages(lines, stages)) {
      if (base.equalsIgnoreCase("scratch") || stages.contains(base.toLowerCase(Locale.ROOT))) {
        continue;
      }
      if (base.contains("$")) {
        continue; // an ARG decides it; the builder reports it if it cannot be found
      }
      if (settings.pullRegistry() != null && base.startsWith(settings.pullRegistry() + "/")) {
        continue;
      }
      ExternalProcess.Outcome inspect =
          docker(List.of("image", "inspect", "--format", "{{.Id}}", base));
      if (!inspect.succeeded()) {
        throw new StepFailure(
            BASE_IMAGE_UNAVAILABLE,
            "The Dockerfile's base image '"
                + base
                + "' is not loaded in this worker's Docker daemon, and base images are not pulled"
                + " from the internet. Use a base image the operator has loaded into the workers'"
                + " daemon"
                + (settings.pullRegistry() != null
                    ? " or one from the farm's registry (" + settings.pullRegistry() + "/…)"
                    : "")
                + ", or ask the operator to load '"
                + base
                + "', then push again.\n\nThe builder's last lines:\n"
                + indent(inspect.tail()));
      }
      log.info("       Base image " + base + " is loaded in the daemon");
    }
  }

  /** The image names of the FROM lines; {@code stages} collects the {@code AS} names. */
  static List<String> fromImages(List<String> lines, Set<String> stages) {
    List<String> images = new ArrayList<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (!line.regionMatches(true, 0, "FROM ", 0, 5)
          && !line.regionMatches(true, 0, "FROM\t", 0, 5)) {
        continue;
      }
      List<String> words = new ArrayList<>(List.of(line.substring(5).strip().split("\\s+")));
      words.removeIf(word -> word.startsWith("--"));
      if (words.isEmpty()) {
        continue;
      }
      images.add(words.get(0));
      if (words.size() >= 3 && words.get(1).equalsIgnoreCase("as")) {
        stages.add(words.get(2).toLowerCase(Locale.ROOT));
      }
    }
    return images;
  }

  private void checkSize(String tag) throws StepFailure {
    ExternalProcess.Outcome size =
        docker(List.of("image", "inspect", "--format", "{{.Size}}", tag));
    if (!size.succeeded() || size.tail().isEmpty()) {
      throw new StepFailure(
          BUILD_FAILED,
          "The Dockerfile build ended but the daemon does not show its image "
              + tag
              + "."
              + tail(size));
    }
    long bytes;
    try {
      bytes = Long.parseLong(size.tail().get(size.tail().size() - 1).strip());
    } catch (NumberFormatException e) {
      throw new StepFailure(
          BUILD_FAILED, "The daemon reported no size for the image " + tag + "." + tail(size), e);
    }
    if (bytes > settings.maxImageBytes()) {
      throw new StepFailure(
          TOO_LARGE,
          "The image the Dockerfile built is "
              + (bytes >> 20)
              + " MiB, more than this farm's limit of "
              + (settings.maxImageBytes() >> 20)
              + " MiB. Use a smaller base image, a multi-stage build that copies only what the app"
              + " runs, and remove caches in the same RUN step that makes them.");
    }
  }

  private AssembledImage deliver(BuildTask task, String tag, LogSink log) throws StepFailure {
    ImageTarget.Delivery delivery;
    try {
      delivery = target.open(task.tenant(), task.app(), task.commit(), task.isCi());
    } catch (RuntimeException e) {
      throw new StepFailure(
          AssembleStep.FAILED,
          "Cannot deliver the image to " + target + ": " + e.getMessage() + ".",
          e);
    }
    log.info("-----> Writing the image to " + delivery.describe());
    BuildExecutor executor = new BuildExecutor(jibExecutor);
    boolean delivered = false;
    try {
      JibContainerBuilder image =
          Jib.from(daemonImage(tag))
              .setLabels(
                  Map.of(
                      AssembleStep.LABEL_BUILD_ID,
                      task.buildId(),
                      AssembleStep.LABEL_COMMIT,
                      task.commit()))
              .setCreationTime(Instant.EPOCH)
              .setFormat(delivery.format());
      String runCommand = task.plan().runCommand();
      if (runCommand != null && !runCommand.isBlank()) {
        // The app spec's run_command replaces the Dockerfile's CMD, as a shell-form CMD would.
        image.setProgramArguments(List.of("/bin/sh", "-c", runCommand));
      }
      Containerizer containerizer =
          delivery
              .containerizer()
              .setBaseImageLayersCache(workDir.resolve("jib").resolve("base"))
              .setApplicationLayersCache(workDir.resolve("jib").resolve("app"))
              .setExecutorService(executor)
              .setAllowInsecureRegistries(delivery.plainHttp())
              .setToolName("kiln")
              .setToolVersion(ImageLayers.LAYOUT_VERSION);
      JibContainer container = image.containerize(containerizer);
      String reference = delivery.complete();
      delivered = true;
      Digest digest = delivery.digest(Digest.of(container.getDigest().toString()));
      log.info("       Image " + reference + " " + digest);
      return new AssembledImage(reference, digest);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          AssembleStep.FAILED, "The worker was stopped while it delivered the image.", e);
    } catch (InvalidImageReferenceException
        | RegistryException
        | ExecutionException
        | IOException
        | CacheDirectoryCreationException
        | RuntimeException e) {
      throw new StepFailure(
          AssembleStep.PUSH_FAILED,
          "The Dockerfile image was built but could not be delivered to "
              + delivery.describe()
              + ": "
              + e.getMessage()
              + ". Check that the target is reachable and writable by the worker, then push again.",
          e);
    } finally {
      try {
        executor.awaitTasks(JIB_SETTLE_TIMEOUT);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (TimeoutException e) {
        log.warn("       Some image delivery work was still running; it goes on in the background");
      }
      if (!delivered) {
        delivery.abandon();
      }
    }
  }

  private DockerDaemonImage daemonImage(String tag) throws InvalidImageReferenceException {
    DockerDaemonImage image = DockerDaemonImage.named(tag).setDockerEnvironment(environment());
    if (settings.docker().contains("/")) {
      image.setDockerExecutable(Path.of(settings.docker()));
    }
    return image;
  }

  private void removeTag(String tag, LogSink log) {
    ExternalProcess.Outcome removed = docker(List.of("image", "rm", "--force", tag));
    if (!removed.succeeded()
        && removed.tail().stream().noneMatch(l -> l.contains("No such image"))) {
      log.warn("       Could not remove the local build tag " + tag + ": " + removed.tailText());
    }
  }

  private ExternalProcess.Outcome docker(List<String> arguments) {
    List<String> command = new ArrayList<>();
    command.add(settings.docker());
    command.addAll(arguments);
    try {
      return new ExternalProcess(command, workDir, environment(), DOCKER_QUERY_TIMEOUT, TAIL_LINES)
          .run(line -> {});
    } catch (IOException e) {
      return new ExternalProcess.Outcome(
          command, -1, false, List.of(String.valueOf(e.getMessage())));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new ExternalProcess.Outcome(command, -1, false, List.of("interrupted"));
    }
  }

  /** What {@code docker} needs of the worker's environment, and the classic builder. */
  private static Map<String, String> environment() {
    Map<String, String> env = new HashMap<>();
    for (String name :
        List.of(
            "PATH",
            "HOME",
            "DOCKER_HOST",
            "DOCKER_CONFIG",
            "DOCKER_CERT_PATH",
            "DOCKER_TLS_VERIFY",
            "DOCKER_CONTEXT",
            "XDG_RUNTIME_DIR")) {
      String value = System.getenv(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    env.putIfAbsent("PATH", "/usr/local/bin:/usr/bin:/bin");
    env.put("DOCKER_BUILDKIT", "0");
    env.put("DOCKER_CLI_HINTS", "false");
    return env;
  }

  /** The Dockerfile the plan chose: the app spec's dockerfile_path, or source_dir/Dockerfile. */
  private static Path dockerfile(Path checkout, BuildTask task) throws StepFailure {
    String relative = dockerfileOf(task);
    StepFailure missing =
        new StepFailure(
            INVALID,
            "The Dockerfile '"
                + relative
                + "' is not a file inside the repository. Fix dockerfile_path in the app spec"
                + " (relative to the repository root) or commit the Dockerfile, then push again.");
    try {
      Path root = checkout.toRealPath();
      Path file = root.resolve(relative).normalize();
      if (!file.startsWith(root)
          || !Files.isRegularFile(file)
          || !file.toRealPath().startsWith(root)) {
        throw missing;
      }
      return file;
    } catch (IOException e) {
      missing.initCause(e);
      throw missing;
    }
  }

  /** The Dockerfile relative to the repository root, as the planner chose it. */
  static String dockerfileOf(BuildTask task) {
    String fromSpec = task.appSpec() == null ? null : task.appSpec().dockerfilePath();
    if (fromSpec != null && !fromSpec.isBlank()) {
      return fromSpec.strip().replaceFirst("^/+", "");
    }
    String sourceDir = task.plan() == null ? null : task.plan().sourceDir();
    String dir = sourceDir == null ? "" : sourceDir.strip().replaceFirst("^/+", "");
    return dir.isEmpty() || dir.equals(".") ? "Dockerfile" : dir + "/Dockerfile";
  }

  /** A tag no other build uses: the task id's safe characters and 8 random bytes. */
  static String localTag(BuildTask task) {
    String safe = task.taskId().replaceAll("[^A-Za-z0-9_.-]", "-");
    if (safe.length() > 100) {
      safe = safe.substring(0, 100);
    }
    byte[] random = new byte[8];
    ThreadLocalRandom.current().nextBytes(random);
    return LOCAL_REPOSITORY + ":" + safe + "-" + HexFormat.of().formatHex(random);
  }

  private static String tail(ExternalProcess.Outcome outcome) {
    return outcome.tail().isEmpty()
        ? ""
        : "\n\nThe builder's last lines:\n" + indent(outcome.tail());
  }

  /**
   * The builder's lines into the build log, at most {@value #MAX_LOG_LINES} of them and {@value
   * #MAX_LINE_CHARS} characters each: a RUN step that prints without end cannot flood the log.
   */
  private static final class BuilderLog implements java.util.function.Consumer<String> {
    private final LogSink log;
    private int lines;

    BuilderLog(LogSink log) {
      this.log = log;
    }

    @Override
    public void accept(String line) {
      if (noise(line)) {
        return;
      }
      lines++;
      if (lines > MAX_LOG_LINES) {
        if (lines == MAX_LOG_LINES + 1) {
          log.warn(
              "       (the builder printed more than "
                  + MAX_LOG_LINES
                  + " lines; the rest is left out of the log)");
        }
        return;
      }
      log.info(
          "       "
              + (line.length() > MAX_LINE_CHARS ? line.substring(0, MAX_LINE_CHARS) + "…" : line));
    }
  }

  /** The classic builder's deprecation banner and blank lines, left out of log and messages. */
  static boolean noise(String line) {
    String text = line.strip();
    return text.isEmpty()
        || text.startsWith("DEPRECATED: The legacy builder")
        || text.startsWith("BuildKit is currently disabled")
        || text.equals("environment-variable.")
        || text.startsWith("Install the buildx component");
  }

  private static String indent(List<String> lines) {
    StringBuilder text = new StringBuilder();
    for (String line : lines) {
      if (noise(line)) {
        continue;
      }
      text.append("  ").append(line.replaceAll("\u001B\\[[;\\d]*m", "")).append('\n');
    }
    return text.toString().stripTrailing();
  }

  private static String describe(Duration duration) {
    long seconds = duration.toSeconds();
    return seconds % 60 == 0 ? seconds / 60 + " min" : seconds + " s";
  }

  @Override
  public String toString() {
    return "Dockerfile build with " + settings.docker() + " to " + target;
  }
}
