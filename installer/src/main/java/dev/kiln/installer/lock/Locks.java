package dev.kiln.installer.lock;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.pep.TargetMarkers;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which reader installs a build's dependencies, from the plan's package manager and the files the
 * buildpack named as its inputs (paths relative to the source directory → bytes): a lock is read
 * directly for the target; anything unpinned (ranges in {@code requirements.txt}, a Pipfile without
 * a lock, a setup.py-only app, requirements with a local project) is left to a resolution, which
 * {@link #read} says by returning empty.
 */
public final class Locks {
  public static final String PIP = "pip";
  public static final String PIPENV = "pipenv";
  public static final String POETRY = "poetry";
  public static final String UV = "uv";
  public static final String PYLOCK = "pylock";

  /** The test requirements a CI build of a pip app installs too, next to requirements.txt. */
  public static final String REQUIREMENTS_TEST = "requirements-test.txt";

  private Locks() {}

  /**
   * The locked set for {@code target}, or empty when the inputs must be resolved.
   *
   * @param ci a CI build, which installs the test dependencies too, as Heroku CI does: uv's default
   *     dependency groups, Poetry's non-optional groups, Pipenv's {@code develop} section, and
   *     pip's {@code requirements-test.txt} when {@code files} has it
   * @throws InstallerException a stale or broken lock, with its code and the command that fixes it
   */
  public static Optional<LockedSet> read(
      String packageManager, Map<String, byte[]> files, TargetEnvironment target, boolean ci)
      throws InstallerException {
    TargetMarkers markers = new TargetMarkers(target);
    try {
      return switch (packageManager) {
        case UV ->
            Optional.of(
                UvLock.read(
                    files.get("uv.lock"), files.get("pyproject.toml"), markers, markers, ci));
        case POETRY ->
            Optional.of(
                PoetryLock.read(
                    files.get("poetry.lock"), files.get("pyproject.toml"), markers, markers, ci));
        case PIPENV ->
            files.containsKey("Pipfile.lock")
                ? Optional.of(
                    PipfileLock.read(
                        files.get("Pipfile.lock"),
                        files.get("Pipfile"),
                        ci
                            ? PipfileLock.Sections.DEFAULT_AND_DEVELOP
                            : PipfileLock.Sections.DEFAULT,
                        markers))
                : Optional.empty();
        case PYLOCK -> {
          String name =
              files.keySet().stream()
                  .filter(file -> file.startsWith("pylock.") && file.endsWith(".toml"))
                  .findFirst()
                  .orElseThrow(
                      () ->
                          new InstallerException(
                              Codes.PYLOCK_INVALID,
                              "The plan names a PEP 751 lock but no pylock.toml was read."));
          yield Optional.of(Pylock.read(files.get(name), name, markers, markers));
        }
        case PIP -> requirements(files, markers, ci);
        default ->
            throw new InstallerException(
                Codes.UNSUPPORTED_REQUIREMENT,
                "The build plan names the package manager '"
                    + packageManager
                    + "', which Kiln's install engine does not know.");
      };
    } catch (IllegalArgumentException e) {
      throw new InstallerException(
          Codes.UNSUPPORTED_REQUIREMENT,
          "A marker or version in the "
              + packageManager
              + " lock could not be read: "
              + e.getMessage()
              + ". Write the lock again with the package manager's current version.",
          e);
    }
  }

  /**
   * A requirements file is a lock when every requirement is pinned with {@code ==} and hashes and
   * it installs no local project (whose own dependencies only a resolution can know). For a CI
   * build with {@code requirements-test.txt} both files must be such locks, and the set is their
   * union, as {@code pip install -r requirements.txt -r requirements-test.txt} installs it.
   */
  private static Optional<LockedSet> requirements(
      Map<String, byte[]> files, TargetMarkers markers, boolean ci) throws InstallerException {
    if (!files.containsKey("requirements.txt")) {
      return Optional.empty(); // a setup.py-only app: the project's metadata must be resolved
    }
    boolean withTests = ci && files.containsKey(REQUIREMENTS_TEST);
    HashedRequirements.Result result;
    try {
      result =
          HashedRequirements.read(
              withTests
                  ? List.of("requirements.txt", REQUIREMENTS_TEST)
                  : List.of("requirements.txt"),
              files::get,
              markers);
    } catch (InstallerException e) {
      if (withTests
          && Codes.REQUIREMENTS_CONFLICTING_PINS.equals(e.code())
          && readsAlone(files, markers)) {
        throw e; // the two files pin one name at two versions: pip refuses them together
      }
      // pip reads more than a lock may hold (index options, URLs); pip's resolution judges those.
      return Optional.empty();
    }
    if (!result.isFullyHashed() || !result.lockedSet().localProjects().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(result.lockedSet());
  }

  /** Whether requirements.txt alone reads without an error. */
  private static boolean readsAlone(Map<String, byte[]> files, TargetMarkers markers) {
    try {
      HashedRequirements.read(
          files.get("requirements.txt"), "requirements.txt", files::get, markers);
      return true;
    } catch (InstallerException e) {
      return false;
    }
  }
}
