package dev.kiln.installer.lock;

import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
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
   * The groups a CI build of a uv or Poetry app adds, by their names in {@code [dependency-groups]}
   * (PEP 735), for a build that pip resolves instead of reading the lock (a private index): {@code
   * pip install --group NAME} installs exactly those. Empty for other package managers.
   *
   * @throws InstallerException {@link Codes#CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS} when a group the
   *     CI build needs is declared where pip cannot read it ({@code [tool.poetry.group.NAME]},
   *     Poetry's or uv's older {@code dev-dependencies})
   */
  public static java.util.List<String> ciDependencyGroups(String packageManager, byte[] pyproject)
      throws InstallerException {
    if (!UV.equals(packageManager) && !POETRY.equals(packageManager)) {
      return java.util.List.of();
    }
    com.fasterxml.jackson.databind.JsonNode project =
        Documents.toml(
            pyproject == null ? new byte[0] : pyproject,
            "pyproject.toml",
            UV.equals(packageManager) ? Codes.UV_LOCK_INVALID : Codes.POETRY_LOCK_INVALID,
            "Fix pyproject.toml.");
    java.util.Map<String, String> pep735 = new java.util.LinkedHashMap<>();
    Documents.table(project, "dependency-groups")
        .fieldNames()
        .forEachRemaining(name -> pep735.put(LockedDistribution.normalize(name), name));
    java.util.Set<String> wanted =
        UV.equals(packageManager)
            ? UvLock.defaultGroupNames(project)
            : PoetryLock.nonOptionalGroupNames(project);
    java.util.List<String> groups = new java.util.ArrayList<>();
    java.util.List<String> elsewhere = new java.util.ArrayList<>();
    for (String group : wanted == null ? pep735.keySet() : wanted) {
      if (pep735.containsKey(group)) {
        groups.add(pep735.get(group));
      } else if (POETRY.equals(packageManager) || hasLegacyUvDev(project, group)) {
        elsewhere.add(group);
      }
    }
    if (!elsewhere.isEmpty()) {
      throw new InstallerException(
          Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
          "This CI build must resolve the app with pip, because it uses a private index"
              + " (PIP_EXTRA_INDEX_URL), and pip installs only the dependency groups of"
              + " [dependency-groups] in pyproject.toml (PEP 735). The test groups "
              + String.join(", ", elsewhere)
              + " are declared elsewhere ("
              + (POETRY.equals(packageManager)
                  ? "[tool.poetry.group.<name>] or [tool.poetry.dev-dependencies]"
                  : "[tool.uv] dev-dependencies")
              + "). Move them to [dependency-groups] (Poetry 2.2 and uv both read it), lock"
              + " again, commit and push; or build without --ci.");
    }
    return groups;
  }

  /**
   * The requirement lines of these {@code [dependency-groups]} (PEP 735), with {@code
   * {include-group = "…"}} entries expanded, for a requirements file pip reads with {@code -r}:
   * what {@code pip install --group} does, with any pip version.
   *
   * @throws InstallerException a group that is not a list, an entry that is neither a string nor an
   *     include, an include of a group that does not exist or that includes itself
   */
  public static java.util.List<String> dependencyGroupLines(
      byte[] pyproject, java.util.List<String> groups) throws InstallerException {
    com.fasterxml.jackson.databind.JsonNode declared =
        Documents.table(
            Documents.toml(
                pyproject == null ? new byte[0] : pyproject,
                "pyproject.toml",
                Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
                "Fix pyproject.toml."),
            "dependency-groups");
    java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> byName =
        new java.util.LinkedHashMap<>();
    declared
        .fields()
        .forEachRemaining(e -> byName.put(LockedDistribution.normalize(e.getKey()), e.getValue()));
    java.util.List<String> lines = new java.util.ArrayList<>();
    for (String group : groups) {
      addGroup(byName, LockedDistribution.normalize(group), new java.util.ArrayDeque<>(), lines);
    }
    return lines;
  }

  private static void addGroup(
      java.util.Map<String, com.fasterxml.jackson.databind.JsonNode> groups,
      String name,
      java.util.Deque<String> including,
      java.util.List<String> lines)
      throws InstallerException {
    com.fasterxml.jackson.databind.JsonNode entries = groups.get(name);
    if (entries == null || !entries.isArray()) {
      throw new InstallerException(
          Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
          "pyproject.toml's [dependency-groups] has no list named '"
              + Documents.shorten(name, 60)
              + "'"
              + (including.isEmpty() ? "" : " (included by '" + including.peek() + "')")
              + ". Fix the group's name, lock again and push.");
    }
    if (including.contains(name)) {
      throw new InstallerException(
          Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
          "pyproject.toml's dependency group '"
              + name
              + "' includes itself (through "
              + String.join(" → ", including)
              + "). Remove the cycle, lock again and push.");
    }
    including.push(name);
    for (com.fasterxml.jackson.databind.JsonNode entry : entries) {
      if (entry.isTextual()) {
        if (!lines.contains(entry.asText())) {
          lines.add(entry.asText());
        }
      } else if (entry.isObject() && entry.path("include-group").isTextual()) {
        addGroup(
            groups,
            LockedDistribution.normalize(entry.get("include-group").asText()),
            including,
            lines);
      } else {
        throw new InstallerException(
            Codes.CI_GROUPS_OUTSIDE_DEPENDENCY_GROUPS,
            "pyproject.toml's dependency group '"
                + name
                + "' has the entry "
                + Documents.shorten(entry.toString(), 80)
                + "; a group lists requirement strings and {include-group = \"…\"} tables only.");
      }
    }
    including.pop();
  }

  private static boolean hasLegacyUvDev(
      com.fasterxml.jackson.databind.JsonNode project, String group) {
    com.fasterxml.jackson.databind.JsonNode legacy =
        Documents.table(Documents.table(project, "tool"), "uv").get("dev-dependencies");
    return group.equals("dev") && legacy != null && legacy.isArray() && !legacy.isEmpty();
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
