package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.installer.ArtifactFile;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LocalProject;
import dev.kiln.installer.LockedDistribution;
import dev.kiln.installer.LockedSet;
import dev.kiln.installer.MarkerEvaluator;
import dev.kiln.installer.PythonRequirement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a PEP 751 lock ({@code pylock.toml} or {@code pylock.<name>.toml}) into its default install
 * for the target, following the specification's installation steps.
 *
 * <p>Inputs: the lock's bytes and file name (at the root of the app's source directory; relative
 * paths in it are relative to that directory), a {@link MarkerEvaluator} and a {@link
 * PythonRequirement} for the target.
 *
 * <ul>
 *   <li>{@code lock-version} must be 1.x ({@link Codes#PYLOCK_UNSUPPORTED_VERSION}).
 *   <li>The target must satisfy {@code requires-python} ({@link Codes#PYLOCK_PYTHON_INCOMPATIBLE})
 *       and, when present, one of {@code environments} ({@link Codes#PYLOCK_ENVIRONMENT_MISMATCH}).
 *   <li>Markers are evaluated with {@code extras} empty and {@code dependency_groups} = {@code
 *       default-groups}; in {@code pylock.toml} (not a named lock) the group {@code kiln} is added
 *       when the lock defines it, as the specification asks of hosting services.
 *   <li>Each package whose marker holds is installed; its {@code requires-python} must hold, and
 *       two applying entries of one name fail with {@link Codes#PYLOCK_AMBIGUOUS_PACKAGE}.
 *   <li>{@code wheels}/{@code sdist} give a distribution's files (sha256 hashes only); {@code
 *       directory} is a {@link LocalProject}; {@code vcs} and {@code archive} fail with {@link
 *       Codes#PYLOCK_UNSUPPORTED_SOURCE} for now.
 * </ul>
 */
public final class Pylock {
  private static final Pattern VERSION = Pattern.compile("(\\d+)\\.(\\d+)");
  private static final Pattern FILE_NAME = Pattern.compile("pylock\\.(?:([^.]+)\\.)?toml");
  private static final String SERVICE_GROUP = "kiln";

  private Pylock() {}

  /**
   * The lock's default install for the target.
   *
   * @param pylock the bytes of the lock
   * @param fileName its name ({@code pylock.toml}, {@code pylock.kiln.toml}), for messages and to
   *     tell a named lock from the multi-use one
   * @param markers decides markers (with PEP 751's {@code extras} and {@code dependency_groups})
   * @param python decides {@code requires-python}
   */
  public static LockedSet read(
      byte[] pylock, String fileName, MarkerEvaluator markers, PythonRequirement python)
      throws InstallerException {
    String fix =
        "Export the lock again (for example `uv export --format pylock.toml -o " + fileName + "`).";
    JsonNode lock = Documents.toml(pylock, fileName, Codes.PYLOCK_INVALID, fix);
    String lockVersion = Documents.text(lock, "lock-version");
    if (lockVersion == null) {
      throw new InstallerException(
          Codes.PYLOCK_INVALID, fileName + " has no lock-version, which PEP 751 requires. " + fix);
    }
    Matcher version = VERSION.matcher(lockVersion);
    if (!version.matches() || !version.group(1).equals("1")) {
      throw new InstallerException(
          Codes.PYLOCK_UNSUPPORTED_VERSION,
          fileName
              + " has lock-version \""
              + lockVersion
              + "\"; Kiln reads PEP 751 lock version 1.x. Export the lock with a tool that writes"
              + " lock-version 1.0.");
    }

    String requiresPython = Documents.text(lock, "requires-python");
    if (requiresPython != null && !python.allows(requiresPython)) {
      throw new InstallerException(
          Codes.PYLOCK_PYTHON_INCOMPATIBLE,
          fileName
              + " says `requires-python = \""
              + requiresPython
              + "\"`, which Python "
              + python.targetVersion()
              + " does not satisfy. Ask for a Python version that does (.python-version), or"
              + " lock for this one.");
    }
    Set<String> extras = Set.of();
    Set<String> groups = new LinkedHashSet<>();
    Documents.strings(lock, "default-groups")
        .forEach(group -> groups.add(LockedDistribution.normalize(group)));
    Matcher named = FILE_NAME.matcher(fileName);
    boolean multiUse = !named.matches() || named.group(1) == null;
    if (multiUse) {
      for (String group : Documents.strings(lock, "dependency-groups")) {
        if (LockedDistribution.normalize(group).equals(SERVICE_GROUP)) {
          groups.add(SERVICE_GROUP);
        }
      }
    }
    if (lock.has("environments")) {
      List<String> environments = Documents.strings(lock, "environments");
      boolean any = false;
      for (String environment : environments) {
        any |= markers.applies(environment, extras, groups);
      }
      if (!any) {
        throw new InstallerException(
            Codes.PYLOCK_ENVIRONMENT_MISMATCH,
            fileName
                + " was locked only for the environments "
                + environments
                + ", and Kiln's target (CPython "
                + python.targetVersion()
                + " on Linux) is none of them. Lock for Linux as well, then commit the lock.");
      }
    }

    Map<String, JsonNode> chosen = new LinkedHashMap<>();
    for (JsonNode pkg : Documents.array(lock, "packages")) {
      String name = Documents.text(pkg, "name");
      if (name == null) {
        throw new InstallerException(
            Codes.PYLOCK_INVALID, fileName + " has a [[packages]] entry without a name. " + fix);
      }
      if (!markers.applies(Documents.text(pkg, "marker"), extras, groups)) {
        continue;
      }
      String packagePython = Documents.text(pkg, "requires-python");
      if (packagePython != null && !python.allows(packagePython)) {
        throw new InstallerException(
            Codes.PYLOCK_PYTHON_INCOMPATIBLE,
            fileName
                + " installs '"
                + name
                + "', which needs Python "
                + packagePython
                + ", not "
                + python.targetVersion()
                + ". Lock again for this Python (or ask for one the package supports).");
      }
      if (chosen.put(LockedDistribution.normalize(name), pkg) != null) {
        throw new InstallerException(
            Codes.PYLOCK_AMBIGUOUS_PACKAGE,
            fileName
                + " has more than one entry for '"
                + name
                + "' whose marker holds for CPython "
                + python.targetVersion()
                + " on Linux, so it does not say which to install. Lock again with markers that"
                + " tell them apart.");
      }
    }

    List<LockedDistribution> distributions = new ArrayList<>();
    List<LocalProject> localProjects = new ArrayList<>();
    for (JsonNode pkg : chosen.values()) {
      String name = Documents.text(pkg, "name");
      List<String> sources = new ArrayList<>();
      for (String key : List.of("vcs", "directory", "archive")) {
        if (pkg.has(key)) {
          sources.add(key);
        }
      }
      if (pkg.has("wheels") || pkg.has("sdist")) {
        sources.add("wheels/sdist");
      }
      if (sources.size() != 1) {
        throw new InstallerException(
            Codes.PYLOCK_INVALID,
            fileName
                + "'s entry for '"
                + name
                + "' has "
                + (sources.isEmpty() ? "no source" : "the conflicting sources " + sources)
                + "; PEP 751 asks for exactly one of vcs, directory, archive, or wheels/sdist. "
                + fix);
      }
      switch (sources.get(0)) {
        case "directory" -> {
          JsonNode directory = pkg.get("directory");
          String path = Documents.text(directory, "path");
          if (path == null) {
            throw new InstallerException(
                Codes.PYLOCK_INVALID,
                fileName + "'s directory entry for '" + name + "' has no path. " + fix);
          }
          String subdirectory = Documents.text(directory, "subdirectory");
          if (subdirectory != null) {
            path = path + "/" + subdirectory;
          }
          JsonNode editable = directory.get("editable");
          localProjects.add(
              new LocalProject(
                  LockedFiles.localPath(path), editable != null && editable.asBoolean()));
        }
        case "wheels/sdist" -> distributions.add(distribution(pkg, name, fileName, fix));
        default ->
            throw new InstallerException(
                Codes.PYLOCK_UNSUPPORTED_SOURCE,
                fileName
                    + " installs '"
                    + name
                    + "' from "
                    + (sources.get(0).equals("vcs") ? "version control" : "an archive")
                    + "; Kiln installs pylock.toml packages from wheels and sdists on the package"
                    + " index and from the app's own directories only, for now. Publish the"
                    + " package to an index and lock it by version.");
      }
    }
    return new LockedSet(distributions, localProjects);
  }

  private static LockedDistribution distribution(
      JsonNode pkg, String name, String fileName, String fix) throws InstallerException {
    String version = Documents.text(pkg, "version");
    if (version == null) {
      throw new InstallerException(
          Codes.PYLOCK_INVALID,
          fileName + "'s entry for '" + name + "' lists files but no version. " + fix);
    }
    List<ArtifactFile> files = new ArrayList<>();
    JsonNode sdist = pkg.get("sdist");
    if (sdist != null && sdist.isObject()) {
      LockedFiles.addIfPresent(files, file(sdist));
    }
    for (JsonNode wheel : Documents.array(pkg, "wheels")) {
      LockedFiles.addIfPresent(files, file(wheel));
    }
    if (files.isEmpty()) {
      throw new InstallerException(
          Codes.PYLOCK_INVALID,
          fileName
              + "'s entry for '"
              + name
              + "' has no file with a sha256 hash; Kiln checks every file by its sha256. Lock"
              + " again with sha256 hashes.");
    }
    return new LockedDistribution(name, version, files, LockedFiles.hashes(files));
  }

  private static ArtifactFile file(JsonNode entry) {
    JsonNode size = entry.get("size");
    return LockedFiles.file(
        Documents.text(entry, "name"),
        Documents.text(entry, "url"),
        Documents.text(entry, "path"),
        Documents.text(Documents.table(entry, "hashes"), "sha256"),
        size != null && size.isIntegralNumber() ? size.asLong() : -1);
  }
}
