package dev.kiln.buildpack;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A build plan or a build failure. On failure every field worked out before the failing check is
 * still set; the rest are null or empty.
 */
public final class PlanResult {
  public static final String STRATEGY_BUILDPACK = "buildpack";
  public static final String STRATEGY_DOCKERFILE = "dockerfile";

  private final String strategy;
  private final String sourceDir;
  private final Path sourceRoot;
  private final Path repositoryRoot;
  private final String dockerfilePath;
  private final PythonSelection python;
  private final RuntimeCatalog.Runtime runtime;
  private final String packageManager;
  private final List<String> packageManagerFiles;
  private final List<String> requirementFiles;
  private final List<String> ciInstalls;
  private final java.util.Map<String, String> processes;
  private final RunCommand run;
  private final String buildCommand;
  private final Map<String, String> runtimeEnvironment;
  private final List<Diagnostic> warnings;
  private final Diagnostic error;
  private final List<LogEvent> events;

  PlanResult(PlanRecorder recorder) {
    this.strategy = recorder.strategy;
    this.sourceDir = recorder.sourceDir;
    this.sourceRoot = recorder.sourceRoot;
    this.repositoryRoot = recorder.repositoryRoot;
    this.dockerfilePath = recorder.dockerfilePath;
    this.python = recorder.python;
    this.runtime = recorder.runtime;
    this.packageManager = recorder.packageManager;
    this.packageManagerFiles = List.copyOf(recorder.packageManagerFiles);
    this.requirementFiles = List.copyOf(recorder.requirementFiles);
    this.ciInstalls = List.copyOf(recorder.ciInstalls);
    this.processes =
        java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(recorder.processes));
    this.run = recorder.run;
    this.buildCommand = recorder.buildCommand;
    this.runtimeEnvironment =
        Collections.unmodifiableMap(new LinkedHashMap<>(recorder.runtimeEnvironment));
    this.warnings = List.copyOf(recorder.warnings);
    this.error = recorder.error;
    this.events = List.copyOf(recorder.events);
  }

  /** {@code buildpack}, {@code dockerfile}, or null when the failure came before it was known. */
  public String strategy() {
    return strategy;
  }

  /** The source directory relative to the repository root ({@code .} for the root). */
  public String sourceDir() {
    return sourceDir;
  }

  /** The resolved absolute source directory, or null when it was rejected. */
  public Path sourceRoot() {
    return sourceRoot;
  }

  /** For Dockerfile builds: the Dockerfile relative to the repository root. */
  public String dockerfilePath() {
    return dockerfilePath;
  }

  public PythonSelection python() {
    return python;
  }

  /** The runtime base image for the resolved Python version, from the runtime catalog. */
  public String runtimeImage() {
    return runtime == null ? null : runtime.image();
  }

  /**
   * The runtime catalog entry of the resolved Python version (image and glibc); null when the
   * version was not resolved.
   */
  public RuntimeCatalog.Runtime runtime() {
    return runtime;
  }

  /** {@code pip}, {@code pipenv}, {@code poetry}, {@code uv}, or null. */
  public String packageManager() {
    return packageManager;
  }

  /** Every package-manager file found, in the order they are checked. */
  public List<String> packageManagerFiles() {
    return packageManagerFiles;
  }

  /**
   * The files the installer needs, relative to the source directory: for pip {@code
   * requirements.txt} and everything it includes with {@code -r} / {@code -c}; for Pipenv {@code
   * Pipfile.lock} (and {@code Pipfile}); for Poetry and uv {@code pyproject.toml} and the lock.
   */
  public List<String> requirementFiles() {
    return requirementFiles;
  }

  /**
   * What a CI build installs on top of a normal one ({@code requirements-test.txt}, {@code Poetry
   * group 'test'}, …), whether or not this plan is for one; empty when it adds nothing.
   */
  public List<String> ciInstalls() {
    return ciInstalls;
  }

  /**
   * Every process type the image can run, name → command, {@code web} (the default command) first;
   * empty when the plan has no run command.
   */
  public java.util.Map<String, String> processes() {
    return processes;
  }

  /**
   * Reads every file of {@link #requirementFiles()} with the planner's safety rules (inside the
   * repository after resolving links, regular files only, at most 16 MiB each), keyed by the name
   * in {@code requirementFiles()}, in that order.
   *
   * @throws BuildpackException with a {@code source::*} code when a file changed since planning and
   *     is now missing, a link out of the repository, or unreadable
   */
  public Map<String, byte[]> readRequirementFiles() throws BuildpackException {
    Map<String, byte[]> contents = new LinkedHashMap<>();
    if (requirementFiles.isEmpty()) {
      return contents;
    }
    SourceTree tree = SourceTree.open(repositoryRoot);
    for (String name : requirementFiles) {
      SourceTree.Entry entry = tree.inspect(sourceRoot, name, name);
      contents.put(name, tree.read(entry, SourceTree.LOCK_FILE_LIMIT));
    }
    return contents;
  }

  public RunCommand run() {
    return run;
  }

  /** The app spec's {@code build_command}, run after the buildpack steps; null when unset. */
  public String buildCommand() {
    return buildCommand;
  }

  /**
   * The run-time environment of a buildpack image before Kiln's own paths: the app's variables of
   * scope {@code RUN_TIME} and {@code RUN_AND_BUILD_TIME}, plus the §6 defaults for everything the
   * app did not set. {@code PATH} (prepended with the install's bin directory) and {@code
   * WEB_CONCURRENCY} (computed at container start) are not included.
   */
  public Map<String, String> runtimeEnvironment() {
    return runtimeEnvironment;
  }

  public List<Diagnostic> warnings() {
    return warnings;
  }

  public Optional<Diagnostic> error() {
    return Optional.ofNullable(error);
  }

  public boolean succeeded() {
    return error == null;
  }

  List<LogEvent> events() {
    return events;
  }

  /** The plan as one JSON object (see {@code docs/buildpack.md}). */
  public String toJson() {
    return PlanJson.write(this);
  }

  /** The plan rendered Heroku-style for a build log. */
  public List<String> logLines() {
    return BuildLogRenderer.render(events);
  }

  @Override
  public String toString() {
    return "PlanResult" + toJson();
  }
}
