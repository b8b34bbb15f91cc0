package dev.kiln.worker.install;

import dev.kiln.events.BuildPlanSummary;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.lock.Locks;
import dev.kiln.worker.steps.StepFailure;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The files an install reads (the plan's {@code requirementFiles}, relative to the source
 * directory), read from the checkout with the planner's rule that nothing leads outside the
 * repository, and what they say about the install: locked, or to be resolved.
 */
public final class InstallInputs {
  /** The largest input file read: lock files of big apps run to a few MiB. */
  static final long FILE_LIMIT = 16L << 20;

  /** The glibc a plan without one is taken to have: the manylinux2014 baseline. */
  static final String BASELINE_GLIBC = "2.17";

  private InstallInputs() {}

  /** The interpreter and platform a plan installs for: its runtime's Python and glibc. */
  public static TargetEnvironment target(BuildPlanSummary plan) {
    return TargetEnvironment.linuxX86_64(
        plan.pythonVersion(), plan.glibc() == null ? BASELINE_GLIBC : plan.glibc());
  }

  /**
   * Whether the inputs pin every distribution (a lock, or requirements pinned with hashes and no
   * local project). A stale or broken lock counts as locked: INSTALL reports it.
   */
  public static boolean isLocked(
      String packageManager, Map<String, byte[]> files, TargetEnvironment target) {
    return isLocked(packageManager, files, target, false);
  }

  /**
   * Whether the inputs pin every distribution a build installs; for a CI build ({@code ci}) the
   * test dependencies count too, so a pip app whose {@code requirements-test.txt} is not hashed
   * must be resolved. A stale or broken lock counts as locked: INSTALL reports it.
   */
  public static boolean isLocked(
      String packageManager, Map<String, byte[]> files, TargetEnvironment target, boolean ci) {
    try {
      return Locks.read(packageManager, files, target, ci).isPresent();
    } catch (InstallerException e) {
      return true;
    }
  }

  /** Reads the plan's input files from the checkout. */
  static Map<String, byte[]> read(Path checkout, BuildPlanSummary plan) throws StepFailure {
    String sourceDir = plan.sourceDir() == null ? "." : plan.sourceDir();
    Path sourceRoot = inside(checkout, checkout, sourceDir);
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (String name : plan.requirementFiles()) {
      Path file = inside(checkout, sourceRoot, name);
      try {
        if (!Files.isRegularFile(file)) {
          throw new StepFailure(
              InstallStep.FAILED,
              "'"
                  + name
                  + "' is no longer a file in the checkout; DETECT read it a moment ago. Push"
                  + " again.");
        }
        try (InputStream in = Files.newInputStream(file)) {
          byte[] bytes = in.readNBytes((int) FILE_LIMIT + 1);
          if (bytes.length > FILE_LIMIT) {
            throw new StepFailure(
                InstallStep.FAILED,
                "'"
                    + name
                    + "' is larger than "
                    + (FILE_LIMIT >> 20)
                    + " MiB; Kiln reads no larger"
                    + " install input.");
          }
          files.put(name, bytes);
        }
      } catch (IOException e) {
        throw new StepFailure(
            InstallStep.FAILED,
            "could not read '" + name + "' in the checkout: " + e.getMessage(),
            e);
      }
    }
    return files;
  }

  /** The app's source directory in the checkout. */
  static Path sourceRoot(Path checkout, BuildPlanSummary plan) throws StepFailure {
    return inside(checkout, checkout, plan.sourceDir() == null ? "." : plan.sourceDir());
  }

  /**
   * {@code base/relative}, refusing anything (including symbolic links) that leads outside the
   * repository.
   */
  static Path inside(Path repository, Path base, String relative) throws StepFailure {
    try {
      Path realRepository = repository.toRealPath();
      Path resolved = base.resolve(relative).normalize();
      Path real =
          Files.exists(resolved, LinkOption.NOFOLLOW_LINKS) ? resolved.toRealPath() : resolved;
      if (!real.startsWith(realRepository)) {
        throw new StepFailure(
            InstallStep.FAILED,
            "'"
                + relative
                + "' leads outside the repository; Kiln only reads files inside it."
                + " Replace the symbolic link with the file itself.");
      }
      return resolved;
    } catch (IOException e) {
      throw new StepFailure(
          InstallStep.FAILED,
          "could not read '" + relative + "' in the checkout: " + e.getMessage(),
          e);
    }
  }
}
