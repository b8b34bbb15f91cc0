package dev.kiln.worker.install;

import dev.kiln.installer.build.BuildFailureHints;
import dev.kiln.worker.buildsteps.BuildStepRunner;
import dev.kiln.worker.sandbox.SandboxException;
import dev.kiln.worker.sandbox.SandboxOutcome;
import dev.kiln.worker.steps.LogSink;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Wheels built from source in the build sandbox, with the build backend the source declares (PEP
 * 517, build dependencies from Kiln's index): an sdist that has no usable wheel, and the app's own
 * local projects. No build variable or secret reaches the build, and it has the sandbox's time and
 * memory limits. A failure names the package and, when the output shows a well-known cause (a
 * missing {@code pg_config}, compiler or header), says what is missing and what to use instead.
 */
public final class SourceBuilds {
  public static final String SDIST_BUILD_FAILED = "install::sdist-build-failed";
  public static final String LOCAL_PROJECT_BUILD_FAILED = "install::local-project-build-failed";
  private static final int TAIL_SHOWN = 25;

  private final SandboxPip pip;

  public SourceBuilds(SandboxPip pip) {
    this.pip = Objects.requireNonNull(pip, "pip");
  }

  /**
   * Builds {@code sdist} (a file in {@code inputDir}) into a wheel in {@code outputDir}.
   *
   * @param described how the log and errors name it ({@code only-source 0.5})
   */
  public Path sdist(
      Path rootfs,
      Path pipDir,
      Path inputDir,
      String sdistFilename,
      Path outputDir,
      String described,
      LogSink log)
      throws StepFailure {
    SandboxPip.Workspace workspace =
        new SandboxPip.Workspace(rootfs, pipDir, null, inputDir, outputDir);
    readableBySandbox(inputDir.resolve(sdistFilename));
    SandboxOutcome outcome =
        run(
            () ->
                pip.buildWheel(
                    workspace, SandboxPip.INPUT_DIR + "/" + sdistFilename, indented(log)),
            SDIST_BUILD_FAILED,
            described);
    if (!outcome.succeeded()) {
      throw failure(
          outcome,
          SDIST_BUILD_FAILED,
          described
              + " has no wheel for this Python and platform, and building it from its sdist ("
              + sdistFilename
              + ") failed",
          "Pin a version of "
              + described.split(" ")[0]
              + " that publishes a wheel for this Python, or fix what the build output above"
              + " shows.");
    }
    return builtWheel(outputDir, SDIST_BUILD_FAILED, described);
  }

  /**
   * Builds the local project at {@code projectPath} (relative to {@code /app}, which is {@code
   * sourceCopy}, a private copy of the app's source directory) into a wheel in {@code outputDir}.
   */
  public Path localProject(
      Path rootfs, Path pipDir, Path sourceCopy, String projectPath, Path outputDir, LogSink log)
      throws StepFailure {
    SandboxPip.Workspace workspace =
        new SandboxPip.Workspace(rootfs, pipDir, sourceCopy, null, outputDir);
    String target = projectPath.equals(".") ? "/app" : "/app/" + projectPath;
    String described = projectPath.equals(".") ? "the app's own project (.)" : projectPath;
    SandboxOutcome outcome =
        run(
            () -> pip.buildWheel(workspace, target, indented(log)),
            LOCAL_PROJECT_BUILD_FAILED,
            described);
    if (!outcome.succeeded()) {
      throw failure(
          outcome,
          LOCAL_PROJECT_BUILD_FAILED,
          "building " + described + " as a wheel failed",
          "Check that it builds with `pip wheel --no-deps "
              + projectPath
              + "` (its pyproject.toml or setup.py, and the build backend it names), then push"
              + " again.");
    }
    return builtWheel(outputDir, LOCAL_PROJECT_BUILD_FAILED, described);
  }

  /**
   * Downloads land with owner-only permissions; the sandbox's unprivileged user must read the sdist
   * through its read-only mount.
   */
  private static void readableBySandbox(Path file) throws StepFailure {
    try {
      Files.setPosixFilePermissions(
          file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    } catch (IOException e) {
      throw new StepFailure(
          SDIST_BUILD_FAILED,
          "could not make " + file.getFileName() + " readable for the build",
          e);
    }
  }

  private interface SandboxRun {
    SandboxOutcome run() throws SandboxException, InterruptedException;
  }

  private static SandboxOutcome run(SandboxRun run, String code, String described)
      throws StepFailure {
    try {
      return run.run();
    } catch (SandboxException e) {
      throw new StepFailure(
          BuildStepRunner.SANDBOX_UNAVAILABLE,
          "The build sandbox could not start to build " + described + ": " + e.getMessage(),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StepFailure(code, "the build of " + described + " was interrupted", e);
    }
  }

  private static Path builtWheel(Path outputDir, String code, String described) throws StepFailure {
    try (Stream<Path> files = Files.list(outputDir)) {
      List<Path> wheels =
          files.filter(f -> f.getFileName().toString().endsWith(".whl")).sorted().toList();
      if (wheels.size() != 1) {
        throw new StepFailure(
            code,
            "building "
                + described
                + " gave "
                + wheels.size()
                + " wheels instead of one; Kiln installs exactly the wheel of the project it"
                + " built.");
      }
      return wheels.get(0);
    } catch (IOException e) {
      throw new StepFailure(code, "could not read the wheel built for " + described, e);
    }
  }

  private StepFailure failure(SandboxOutcome outcome, String code, String what, String fix) {
    StringBuilder message = new StringBuilder(what);
    switch (outcome.ending()) {
      case TIMED_OUT ->
          message
              .append(": it did not finish within ")
              .append(pip.limits().time().toMinutes())
              .append(" minutes");
      case OUT_OF_MEMORY ->
          message
              .append(": it ran out of memory (")
              .append(pip.limits().memoryBytes() >> 20)
              .append(" MiB)");
      default -> message.append(" (exit status ").append(outcome.exitCode()).append(')');
    }
    message.append(".\n");
    Optional<BuildFailureHints.Hint> hint = BuildFailureHints.explain(outcome.tail());
    hint.ifPresent(
        h ->
            message
                .append("The build needs ")
                .append(h.missing())
                .append(", which Kiln's runtime does not have. ")
                .append(h.advice())
                .append('\n'));
    List<String> tail = outcome.tail();
    message.append("Last lines of the build output:\n");
    for (String line : tail.subList(Math.max(0, tail.size() - TAIL_SHOWN), tail.size())) {
      message.append("       ").append(line).append('\n');
    }
    if (hint.isEmpty()) {
      message.append(fix);
    }
    return new StepFailure(code, message.toString().stripTrailing());
  }

  private static java.util.function.Consumer<String> indented(LogSink log) {
    return line -> log.info("       " + line);
  }
}
