package dev.kiln.worker.buildsteps;

import dev.kiln.buildpack.BuildStepEnvironment;
import dev.kiln.buildpack.BuildStepRules;
import dev.kiln.worker.sandbox.IndexAccess;
import dev.kiln.worker.sandbox.Sandbox;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxLimits;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.sandbox.SandboxSpec;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the app's own build steps (§5) in the build sandbox, Heroku-style in the log: a {@code
 * -----> } headline per step and its output indented by seven spaces. The app is a private copy
 * mounted read-write at {@code /app} (what the steps write there goes into the app layer); the
 * installed dependencies are mounted read-only at {@code /opt/kiln/deps}, so no step can change the
 * shared dependency layer. Each step has its own failure code.
 */
public final class BuildStepRunner {
  public static final String PRE_COMPILE_FAILED = "hooks::pre_compile";
  public static final String POST_COMPILE_FAILED = "hooks::post_compile";
  public static final String COLLECTSTATIC_FAILED = "collectstatic::failed";
  public static final String COLLECTSTATIC_SYNTAX_ERROR = "collectstatic::syntax-error";
  public static final String COLLECTSTATIC_IMPROPERLY_CONFIGURED =
      "collectstatic::improperly-configured";
  public static final String COLLECTSTATIC_MISSING_FILE = "collectstatic::missing-file";
  public static final String NLTK_CORPUS_NOT_FOUND = "nltk::corpus-not-found";
  public static final String NLTK_DOWNLOAD_FAILED = "nltk::download-failed";
  public static final String BUILD_COMMAND_FAILED = "build-command::failed";
  public static final String TIMED_OUT = "build-step::timed-out";
  public static final String OUT_OF_MEMORY = "build-step::out-of-memory";
  public static final String SANDBOX_UNAVAILABLE = "sandbox::unavailable";

  /** Where the NLTK corpora go, and what {@code NLTK_DATA} says in the image. */
  public static final String NLTK_DATA = "/app/.kiln/nltk_data";

  private static final Pattern COLLECTSTATIC_NOISE =
      Pattern.compile("^(Post-processed|Copying).*|^$");
  private static final Pattern NLTK_MISSING = Pattern.compile("kiln-nltk: not in the index: (.*)");
  private static final int NLTK_NOT_FOUND_EXIT = 3;
  private static final int TAIL_SHOWN = 20;

  private final Sandbox sandbox;
  private final IndexAccess index;
  private final SandboxLimits limits;
  private final String nltkScript;

  /**
   * @param index the cache-service whose package index (and NLTK data) steps may reach, e.g. {@code
   *     http://127.0.0.1:8481}, with the farm credential the sandbox's relay adds (each run adds
   *     the workspace's tenant)
   * @param limits each step's time, memory, CPU and output limits
   */
  public BuildStepRunner(Sandbox sandbox, IndexAccess index, SandboxLimits limits) {
    this.sandbox = Objects.requireNonNull(sandbox, "sandbox");
    this.index = Objects.requireNonNull(index, "index");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.nltkScript = resource("nltk_fetch.py");
  }

  /** Steps that may reach a cache-service that asks for no credential (tests). */
  public BuildStepRunner(Sandbox sandbox, URI cacheService, SandboxLimits limits) {
    this(sandbox, IndexAccess.anonymous(cacheService), limits);
  }

  /** The sandbox the steps run in, for other sandboxed work of the same worker. */
  public Sandbox sandbox() {
    return sandbox;
  }

  /** The cache-service whose index the sandbox may reach, and how. */
  public IndexAccess index() {
    return index;
  }

  /** Each step's limits. */
  public SandboxLimits limits() {
    return limits;
  }

  /**
   * Where the steps run: the runtime, the app's private copy, the installed dependencies, and the
   * tenant the build is for (whose private indexes the steps may read; null for none).
   */
  public record Workspace(
      Path rootfs, Path app, Path dependencies, Map<String, String> buildEnv, String tenant) {
    public Workspace {
      Objects.requireNonNull(rootfs, "rootfs");
      Objects.requireNonNull(app, "app");
      buildEnv = Map.copyOf(buildEnv);
    }

    public Workspace(Path rootfs, Path app, Path dependencies, Map<String, String> buildEnv) {
      this(rootfs, app, dependencies, buildEnv, null);
    }
  }

  /**
   * Whether a top-level module is importable from the installed dependencies or the app itself
   * (what Heroku's {@code is_module_available} answers), judged from the files.
   */
  public static Predicate<String> installedModules(Path dependencies, Path app) {
    return module ->
        java.util.stream.Stream.of(dependencies, app)
            .filter(Objects::nonNull)
            .anyMatch(
                root ->
                    Files.isDirectory(root.resolve(module))
                        || Files.isRegularFile(root.resolve(module + ".py")));
  }

  /** Runs {@code bin/pre_compile} or {@code bin/post_compile}. */
  public void runHook(BuildStepRules.Hook hook, Workspace workspace, LogSink log)
      throws StepFailure {
    boolean pre = hook.name().equals("pre_compile");
    log.info("-----> Running " + (pre ? "pre" : "post") + "-compile hook");
    Path script = workspace.app().resolve(hook.path());
    try {
      Set<PosixFilePermission> permissions = EnumSet.copyOf(Files.getPosixFilePermissions(script));
      permissions.addAll(
          EnumSet.of(
              PosixFilePermission.OWNER_EXECUTE,
              PosixFilePermission.GROUP_EXECUTE,
              PosixFilePermission.OTHERS_EXECUTE));
      Files.setPosixFilePermissions(script, permissions);
    } catch (IOException e) {
      throw new StepFailure(
          pre ? PRE_COMPILE_FAILED : POST_COMPILE_FAILED,
          hook.path() + " could not be made executable: " + e.getMessage(),
          e);
    }
    SandboxOutcome outcome =
        run(hook.name(), List.of("/app/" + hook.path()), workspace, true, indent(log)::info);
    if (!outcome.succeeded()) {
      throw failure(
          outcome,
          hook.path(),
          pre ? PRE_COMPILE_FAILED : POST_COMPILE_FAILED,
          hook.path()
              + " failed with exit status "
              + outcome.exitCode()
              + ".\n\nIt runs in /app as a non-root user with the app's build-time environment; fix"
              + " the script (its output is above), or remove it.");
    }
  }

  /**
   * Runs the steps after the install, in order. Returns variables the image needs because of them
   * ({@code NLTK_DATA} when corpora were downloaded).
   */
  public Map<String, String> runAfterInstall(
      BuildStepRules.Plan plan, Workspace workspace, LogSink log) throws StepFailure {
    report(plan, log);
    Map<String, String> runtimeEnv = new LinkedHashMap<>();
    for (BuildStepRules.Step step : plan.afterInstall()) {
      if (step instanceof BuildStepRules.Hook hook) {
        runHook(hook, workspace, log);
      } else if (step instanceof BuildStepRules.Collectstatic collectstatic) {
        collectstatic(collectstatic, workspace, log);
      } else if (step instanceof BuildStepRules.NltkDownload nltk) {
        nltk(nltk, workspace, log);
        runtimeEnv.put("NLTK_DATA", NLTK_DATA);
      } else if (step instanceof BuildStepRules.BuildCommand command) {
        buildCommand(command, workspace, log);
      }
    }
    return runtimeEnv;
  }

  /** Says in the log which steps are skipped and why, with the plan's warnings. */
  public void report(BuildStepRules.Plan plan, LogSink log) {
    plan.notes().forEach(note -> log.info("-----> " + note));
    plan.warnings()
        .forEach(
            warning -> {
              log.warn(" !     Warning: " + warning.code());
              for (String line : warning.message().split("\n")) {
                log.warn(" !     " + line);
              }
            });
  }

  private void collectstatic(BuildStepRules.Collectstatic step, Workspace workspace, LogSink log)
      throws StepFailure {
    log.info("-----> $ python " + step.manageFile() + " collectstatic --noinput");
    LogSink indented = indent(log);
    SandboxOutcome outcome =
        run(
            "collectstatic",
            List.of("python3", step.manageFile(), "collectstatic", "--noinput", "--traceback"),
            workspace,
            false,
            line -> {
              if (!COLLECTSTATIC_NOISE.matcher(line).matches()) {
                indented.info(line);
              }
            });
    if (outcome.succeeded()) {
      return;
    }
    String tail = outcome.tailText();
    String code =
        tail.contains("SyntaxError")
            ? COLLECTSTATIC_SYNTAX_ERROR
            : tail.contains("ImproperlyConfigured")
                ? COLLECTSTATIC_IMPROPERLY_CONFIGURED
                : tail.contains("OSError") || tail.contains("FileNotFoundError")
                    ? COLLECTSTATIC_MISSING_FILE
                    : COLLECTSTATIC_FAILED;
    throw failure(
        outcome,
        "collectstatic",
        code,
        "Django's 'python "
            + step.manageFile()
            + " collectstatic --noinput' failed, so the app's static files could not be"
            + " generated.\n\nThe traceback is above. Fix the app's settings or static files, or"
            + " turn collectstatic off by setting DISABLE_COLLECTSTATIC=1 as a build-time"
            + " variable in the app spec.");
  }

  private void nltk(BuildStepRules.NltkDownload step, Workspace workspace, LogSink log)
      throws StepFailure {
    log.info("-----> Downloading NLTK corpora: " + String.join(" ", step.corpora()));
    List<String> command = new ArrayList<>(List.of("python3", "-c", nltkScript));
    command.add("http://127.0.0.1:" + Sandbox.INDEX_PORT + "/nltk/index.xml");
    command.add(NLTK_DATA);
    command.addAll(step.corpora());
    SandboxOutcome outcome = run("nltk", command, workspace, true, indent(log)::info);
    if (outcome.succeeded()) {
      return;
    }
    if (outcome.ending() == SandboxOutcome.Ending.EXITED
        && outcome.exitCode() == NLTK_NOT_FOUND_EXIT) {
      String missing =
          outcome.tail().stream()
              .map(NLTK_MISSING::matcher)
              .filter(Matcher::matches)
              .map(m -> m.group(1))
              .findFirst()
              .orElse(String.join(" ", step.corpora()));
      throw new StepFailure(
          NLTK_CORPUS_NOT_FOUND,
          "nltk.txt names NLTK data the farm's store cannot provide: "
              + missing
              + ".\n\nCheck the spelling against the ids nltk.download() takes (one per line in"
              + " nltk.txt), or ask the farm's operator to make the corpus available in the NLTK"
              + " data index the cache-service proxies.");
    }
    List<String> reasons =
        outcome.tail().stream().filter(line -> line.startsWith("kiln-nltk: ")).toList();
    if (outcome.ending() == SandboxOutcome.Ending.EXITED && !reasons.isEmpty()) {
      throw new StepFailure(
          NLTK_DOWNLOAD_FAILED,
          "The NLTK corpora of nltk.txt could not be downloaded from the farm's store:\n"
              + String.join("\n", reasons).replace("kiln-nltk: ", "  ")
              + "\n\nPush again; if it keeps failing, the farm's operator should check that the"
              + " cache-service reaches its NLTK data index (--nltk-data-url / KILN_NLTK_DATA_URL).");
    }
    throw failure(
        outcome,
        "NLTK download",
        NLTK_DOWNLOAD_FAILED,
        "The NLTK corpora of nltk.txt could not be downloaded from the farm's store; its output is"
            + " above. Push again; if it keeps failing, the operator should check the cache-service's"
            + " NLTK data index (--nltk-data-url / KILN_NLTK_DATA_URL).");
  }

  private void buildCommand(BuildStepRules.BuildCommand step, Workspace workspace, LogSink log)
      throws StepFailure {
    log.info("-----> Running the app spec's build command: " + step.command());
    SandboxOutcome outcome =
        run(
            "build_command",
            List.of("/bin/sh", "-c", step.command()),
            workspace,
            true,
            indent(log)::info);
    if (!outcome.succeeded()) {
      throw failure(
          outcome,
          "build_command",
          BUILD_COMMAND_FAILED,
          "The app spec's build_command '"
              + step.command()
              + "' failed with exit status "
              + outcome.exitCode()
              + ".\n\nIt runs with /bin/sh -c in /app, as a non-root user, with the app's build-time"
              + " environment and the installed dependencies; fix it (its output is above) or"
              + " remove build_command from the app spec.");
    }
  }

  private SandboxOutcome run(
      String step,
      List<String> command,
      Workspace workspace,
      boolean index,
      java.util.function.Consumer<String> output)
      throws StepFailure {
    boolean localProjects =
        java.nio.file.Files.isDirectory(
            workspace
                .app()
                .resolve(BuildStepEnvironment.LOCAL_PROJECTS_DIR.substring("/app/".length())));
    Map<String, String> env =
        new LinkedHashMap<>(BuildStepEnvironment.forSteps(workspace.buildEnv(), localProjects));
    SandboxSpec spec =
        new SandboxSpec(workspace.rootfs(), List.of(), command, "/app", Map.of(), null, limits);
    spec = spec.withMount(SandboxSpec.Mount.writable(workspace.app(), "/app"));
    if (workspace.dependencies() != null) {
      spec =
          spec.withMount(
              SandboxSpec.Mount.readOnly(
                  workspace.dependencies(), BuildStepEnvironment.DEPENDENCIES_DIR));
    }
    if (index) {
      env.put("PIP_INDEX_URL", Sandbox.INDEX_URL);
      env.put("PIP_DISABLE_PIP_VERSION_CHECK", "1");
      env.put("PIP_NO_INPUT", "1");
      spec = spec.withIndex(this.index.forTenant(workspace.tenant()));
    }
    try {
      return sandbox.run(spec.withEnvironment(env), output);
    } catch (SandboxException e) {
      throw new StepFailure(
          SANDBOX_UNAVAILABLE,
          "The build sandbox for "
              + step
              + " could not be set up, so the step did not run: "
              + e.getMessage()
              + " This is a problem of the worker, not of the app; the operator has to fix it.",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(
          TIMED_OUT, "The worker was stopped while " + step + " ran; push again to retry.", e);
    }
  }

  private StepFailure failure(SandboxOutcome outcome, String what, String code, String advice) {
    if (outcome.ending() == SandboxOutcome.Ending.TIMED_OUT) {
      return new StepFailure(
          TIMED_OUT,
          what
              + " did not finish within "
              + describe(limits.time())
              + " and was stopped, with everything it started.\n\nMake it faster, or ask the"
              + " farm's operator to raise the build step time limit.");
    }
    if (outcome.ending() == SandboxOutcome.Ending.OUT_OF_MEMORY) {
      return new StepFailure(
          OUT_OF_MEMORY,
          what
              + " used more than the "
              + limits.memoryBytes() / (1024 * 1024)
              + " MiB of memory a build step may use and was stopped.\n\nMake it use less memory,"
              + " or ask the farm's operator to raise the build step memory limit.");
    }
    List<String> tail = outcome.tail();
    List<String> shown = tail.subList(Math.max(0, tail.size() - TAIL_SHOWN), tail.size());
    return new StepFailure(
        code, advice + (shown.isEmpty() ? "" : "\n\nLast lines:\n" + String.join("\n", shown)));
  }

  private static String describe(java.time.Duration duration) {
    long seconds = duration.toSeconds();
    return seconds % 60 == 0 && seconds >= 60 ? seconds / 60 + " minutes" : seconds + " seconds";
  }

  private static LogSink indent(LogSink log) {
    return new LogSink() {
      @Override
      public void info(String line) {
        log.info("       " + line);
      }

      @Override
      public void warn(String line) {
        log.warn("       " + line);
      }

      @Override
      public void error(String line) {
        log.error("       " + line);
      }
    };
  }

  private static String resource(String name) {
    try (InputStream in = BuildStepRunner.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException(name + " is missing from the worker's jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + name + " from the worker's jar", e);
    }
  }
}
