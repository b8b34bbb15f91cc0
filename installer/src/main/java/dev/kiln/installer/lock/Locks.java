package dev.kiln.installer.lock;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.TargetEnvironment;
import dev.kiln.installer.pep.TargetMarkers;
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

  private Locks() {}

  /**
   * The locked set for {@code target}, or empty when the inputs must be resolved.
   *
   * @param ci a CI build: Pipenv's {@code develop} section is installed too
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
                UvLock.read(files.get("uv.lock"), files.get("pyproject.toml"), markers, markers));
        case POETRY ->
            Optional.of(
                PoetryLock.read(
                    files.get("poetry.lock"), files.get("pyproject.toml"), markers, markers));
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
        case PIP -> requirements(files, markers);
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
   * it installs no local project (whose own dependencies only a resolution can know).
   */
  private static Optional<LockedSet> requirements(Map<String, byte[]> files, TargetMarkers markers)
      throws InstallerException {
    byte[] requirements = files.get("requirements.txt");
    if (requirements == null) {
      return Optional.empty(); // a setup.py-only app: the project's metadata must be resolved
    }
    HashedRequirements.Result result;
    try {
      result = HashedRequirements.read(requirements, "requirements.txt", files::get, markers);
    } catch (InstallerException e) {
      // pip reads more than a lock may hold (index options, URLs); pip's resolution judges those.
      return Optional.empty();
    }
    if (!result.isFullyHashed() || !result.lockedSet().localProjects().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(result.lockedSet());
  }
}
