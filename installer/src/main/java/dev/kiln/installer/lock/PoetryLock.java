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
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads {@code poetry.lock} into what {@code poetry sync --only main} installs, or for a CI build
 * what {@code poetry sync} installs: the main group and every dependency group not declared {@code
 * optional = true} in {@code [tool.poetry.group.<name>]} ({@code [tool.poetry.group.<name>]}
 * groups, PEP 735 {@code [dependency-groups]}, and the legacy {@code
 * [tool.poetry.dev-dependencies]} as group {@code dev}).
 *
 * <p>Inputs: the app's {@code poetry.lock} and {@code pyproject.toml} (both at the root of the
 * app's source directory), a {@link MarkerEvaluator} and a {@link PythonRequirement} for the
 * target.
 *
 * <ul>
 *   <li>Lock versions 1.0, 1.1, 2.0 and 2.1 are read; others fail with {@link
 *       Codes#POETRY_LOCK_UNSUPPORTED_VERSION}.
 *   <li>The target Python must satisfy the project's Python constraint ({@code [project]
 *       requires-python}, else {@code [tool.poetry.dependencies] python}), else {@link
 *       Codes#POETRY_LOCK_PYTHON_INCOMPATIBLE}.
 *   <li>{@code [metadata] content-hash} must equal the hash Poetry computes from pyproject.toml
 *       ({@link PoetryContentHash}; for locks written before Poetry 2.3 also the hash without
 *       dependency groups, as Poetry itself accepts), else {@link Codes#POETRY_LOCK_STALE}.
 *   <li>Lock 2.1 records each package's groups and markers: a package is installed when it is in
 *       one of the chosen groups (just {@code main} outside CI) and its marker for that group holds
 *       for the target (no extras).
 *   <li>Older locks are walked from the main dependencies of pyproject.toml ({@code [project]
 *       dependencies}, else {@code [tool.poetry.dependencies]} without {@code python}, plus {@code
 *       [tool.poetry.group.main.dependencies]}; for a CI build also the chosen groups' {@code
 *       [tool.poetry.group.<name>.dependencies]} and {@code [tool.poetry.dev-dependencies]}) along
 *       {@code [package.dependencies]}, honouring each edge's {@code markers}, {@code python},
 *       {@code platform}, {@code extras} and {@code optional} (an optional edge counts when an
 *       activated extra of its package, per {@code [package.extras]}, names it) and each package's
 *       {@code python-versions}.
 *   <li>The project itself becomes {@code LocalProject(".", false)} unless {@code package-mode =
 *       false}; {@code directory} packages become local projects; packages from git, a URL or a
 *       file fail with {@link Codes#POETRY_LOCK_UNSUPPORTED_SOURCE} for now.
 * </ul>
 */
public final class PoetryLock {
  private static final Set<String> KNOWN_VERSIONS = Set.of("1.0", "1.1", "2.0", "2.1");
  private static final Pattern GENERATED_BY = Pattern.compile("Poetry ([^ ]+)");
  private static final Pattern LEADING_NAME =
      Pattern.compile("\\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)");
  private static final String FIX_LOCK = "Run `poetry lock` and commit poetry.lock.";
  private static final String MAIN = "main";

  private PoetryLock() {}

  /** One {@code [[package]]} entry. */
  private record Package(String name, String version, JsonNode node) {
    String normalizedName() {
      return LockedDistribution.normalize(name);
    }

    String sourceType() {
      String type = Documents.text(Documents.table(node, "source"), "type");
      return type == null ? "" : type;
    }

    @Override
    public boolean equals(Object other) {
      return this == other;
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }
  }

  /** A dependency to follow: from pyproject.toml or a package's {@code [package.dependencies]}. */
  private record Edge(
      String name, Set<String> extras, String markers, String python, String platform) {}

  /**
   * What {@code poetry sync --only main} installs for the target.
   *
   * @param poetryLock the bytes of {@code poetry.lock}
   * @param pyprojectToml the bytes of the {@code pyproject.toml} next to it
   * @param markers decides markers for the target
   * @param python decides Python constraints for the target
   */
  public static LockedSet read(
      byte[] poetryLock, byte[] pyprojectToml, MarkerEvaluator markers, PythonRequirement python)
      throws InstallerException {
    return read(poetryLock, pyprojectToml, markers, python, false);
  }

  /**
   * What {@code poetry sync} installs for the target with {@code nonOptionalGroups} (a CI build),
   * else what {@code poetry sync --only main} installs.
   *
   * @param nonOptionalGroups also every dependency group not declared {@code optional = true}
   */
  public static LockedSet read(
      byte[] poetryLock,
      byte[] pyprojectToml,
      MarkerEvaluator markers,
      PythonRequirement python,
      boolean nonOptionalGroups)
      throws InstallerException {
    JsonNode lock =
        Documents.toml(
            poetryLock,
            "poetry.lock",
            Codes.POETRY_LOCK_INVALID,
            "Run `poetry lock` to write it again.");
    if (pyprojectToml == null) {
      throw new InstallerException(
          Codes.POETRY_LOCK_INVALID,
          "poetry.lock needs the pyproject.toml it was locked from, and there is none next to it."
              + " Commit pyproject.toml.");
    }
    JsonNode pyproject =
        Documents.toml(
            pyprojectToml, "pyproject.toml", Codes.POETRY_LOCK_INVALID, "Fix pyproject.toml.");
    JsonNode metadata = lock.get("metadata");
    if (metadata == null || !metadata.isObject()) {
      throw new InstallerException(
          Codes.POETRY_LOCK_INVALID,
          "poetry.lock has no [metadata] table, so Poetry would not read it. " + FIX_LOCK);
    }
    String lockVersion =
        metadata.has("lock-version") ? metadata.get("lock-version").asText() : "1.0";
    if (!KNOWN_VERSIONS.contains(lockVersion)) {
      throw new InstallerException(
          Codes.POETRY_LOCK_UNSUPPORTED_VERSION,
          "poetry.lock has lock-version "
              + lockVersion
              + "; Kiln reads lock versions 1.0, 1.1, 2.0 and 2.1 (Poetry 1.0 to 2.x). Write the lock"
              + " with such a Poetry (`poetry lock`) and commit poetry.lock.");
    }
    JsonNode project = Documents.table(pyproject, "project");
    JsonNode toolPoetry = Documents.table(Documents.table(pyproject, "tool"), "poetry");
    checkPython(project, toolPoetry, python);
    checkFresh(poetryLock, metadata, pyproject);

    List<Package> packages = new ArrayList<>();
    for (JsonNode node : Documents.array(lock, "package")) {
      String name = Documents.text(node, "name");
      String version = Documents.text(node, "version");
      if (name == null || version == null) {
        throw new InstallerException(
            Codes.POETRY_LOCK_INVALID,
            "poetry.lock has a [[package]] without a name or version. " + FIX_LOCK);
      }
      packages.add(new Package(name, version, node));
    }

    Set<String> groups = new LinkedHashSet<>(List.of(MAIN));
    if (nonOptionalGroups) {
      groups.addAll(nonOptionalGroups(pyproject, toolPoetry));
    }
    Set<Package> chosen;
    if (lockVersion.equals("2.1")) {
      chosen = fromGroups(packages, markers, groups);
    } else {
      List<Edge> roots = mainDependencies(project, toolPoetry);
      roots.addAll(groupDependencies(toolPoetry, groups));
      chosen = walk(roots, packages, markers, python);
    }

    List<LocalProject> localProjects = new ArrayList<>();
    if (!Boolean.FALSE.equals(packageMode(toolPoetry))
        && (Documents.text(project, "name") != null
            || Documents.text(toolPoetry, "name") != null)) {
      localProjects.add(new LocalProject(".", false));
    }
    List<LockedDistribution> distributions = new ArrayList<>();
    for (Package pkg : chosen) {
      switch (pkg.sourceType()) {
        case "", "legacy", "pypi" -> distributions.add(distribution(pkg, metadata));
        case "directory" -> {
          String url = Documents.text(Documents.table(pkg.node(), "source"), "url");
          JsonNode develop = pkg.node().get("develop");
          localProjects.add(
              new LocalProject(
                  LockedFiles.localPath(url == null ? "." : url),
                  develop != null && develop.asBoolean()));
        }
        default ->
            throw new InstallerException(
                Codes.POETRY_LOCK_UNSUPPORTED_SOURCE,
                "poetry.lock installs '"
                    + pkg.name()
                    + "' from a "
                    + pkg.sourceType()
                    + " source ("
                    + Documents.shorten(
                        String.valueOf(
                            Documents.text(Documents.table(pkg.node(), "source"), "url")),
                        120)
                    + "); Kiln installs Poetry projects from package indexes and the app's own"
                    + " directories only, for now. Publish the package to an index and depend on it"
                    + " by version (then run `poetry lock`).");
      }
    }
    LockedFiles.requireOnePerName(
        distributions, Codes.POETRY_LOCK_INVALID, "poetry.lock", FIX_LOCK);
    return new LockedSet(distributions, localProjects);
  }

  private static Boolean packageMode(JsonNode toolPoetry) {
    JsonNode mode = toolPoetry.get("package-mode");
    return mode != null && mode.isBoolean() ? mode.booleanValue() : null;
  }

  private static void checkPython(JsonNode project, JsonNode toolPoetry, PythonRequirement python)
      throws InstallerException {
    String requiresPython = Documents.text(project, "requires-python");
    String where = "[project] requires-python";
    List<String> alternatives;
    if (requiresPython != null) {
      alternatives = List.of(requiresPython);
    } else {
      requiresPython = Documents.text(Documents.table(toolPoetry, "dependencies"), "python");
      where = "[tool.poetry.dependencies] python";
      alternatives = PoetryConstraint.toPep440(requiresPython);
    }
    if (requiresPython == null || alternatives == null || allowsAny(python, alternatives)) {
      return;
    }
    throw new InstallerException(
        Codes.POETRY_LOCK_PYTHON_INCOMPATIBLE,
        "The app asks for Python "
            + python.targetVersion()
            + ", but pyproject.toml's "
            + where
            + " is \""
            + requiresPython
            + "\", so Poetry refuses to install the project with it. Ask for a Python version that"
            + " satisfies it (.python-version), or change the constraint in pyproject.toml and run"
            + " `poetry lock`.");
  }

  private static boolean allowsAny(PythonRequirement python, List<String> alternatives) {
    for (String alternative : alternatives) {
      if (alternative.isEmpty() || python.allows(alternative)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The {@code content-hash} Poetry 2.3+ writes for this pyproject.toml, as {@code poetry lock}
   * would: for tools and test fixtures that write a lock Kiln must accept.
   */
  public static String contentHash(byte[] pyprojectToml) throws InstallerException {
    return PoetryContentHash.compute(
        Documents.toml(
            pyprojectToml, "pyproject.toml", Codes.POETRY_LOCK_INVALID, "Fix pyproject.toml."),
        true);
  }

  private static void checkFresh(byte[] poetryLock, JsonNode metadata, JsonNode pyproject)
      throws InstallerException {
    String recorded = Documents.text(metadata, "content-hash");
    String computed = PoetryContentHash.compute(pyproject, true);
    if (computed.equals(recorded)) {
      return;
    }
    if (recorded != null
        && writtenBeforePoetry23(poetryLock)
        && PoetryContentHash.compute(pyproject, false).equals(recorded)) {
      return;
    }
    throw new InstallerException(
        Codes.POETRY_LOCK_STALE,
        "poetry.lock is out of date with pyproject.toml: its content-hash is "
            + (recorded == null ? "missing" : Documents.shorten(recorded, 12))
            + " but pyproject.toml's dependencies now hash to "
            + Documents.shorten(computed, 12)
            + ", so pyproject.toml changed after the lock was written and `poetry sync` refuses it. "
            + FIX_LOCK);
  }

  /** Whether the lock's first line says a Poetry older than 2.3.0 wrote it. */
  private static boolean writtenBeforePoetry23(byte[] poetryLock) {
    String text = new String(poetryLock, StandardCharsets.UTF_8);
    int end = text.indexOf('\n');
    String firstLine = end < 0 ? text : text.substring(0, end);
    Matcher m = GENERATED_BY.matcher(firstLine);
    if (!m.find()) {
      return false;
    }
    Matcher release = Pattern.compile("(\\d+)(?:\\.(\\d+))?(?:\\.(\\d+))?(.*)").matcher(m.group(1));
    if (!release.matches()) {
      return false; // Poetry cannot parse it either, and then keeps the lock stale
    }
    int major = Integer.parseInt(release.group(1));
    int minor = release.group(2) == null ? 0 : Integer.parseInt(release.group(2));
    int patch = release.group(3) == null ? 0 : Integer.parseInt(release.group(3));
    String suffix = release.group(4);
    int order = major != 2 ? Integer.compare(major, 2) : Integer.compare(minor, 3);
    if (order != 0) {
      return order < 0;
    }
    // 2.3.x: only a pre-release of 2.3.0 is older than 2.3.0
    return patch == 0 && suffix.matches("(?i)[.-]?(a|b|c|rc|alpha|beta|pre|preview|dev).*");
  }

  /**
   * The normalized names of the groups {@code poetry sync} installs besides main: every group of
   * {@code [tool.poetry.group]} and {@code [dependency-groups]} not declared {@code optional =
   * true}, and {@code dev} for {@code [tool.poetry.dev-dependencies]}.
   */
  /** {@link #nonOptionalGroups} for callers outside the reader (a CI build that pip resolves). */
  static Set<String> nonOptionalGroupNames(JsonNode pyproject) {
    return nonOptionalGroups(
        pyproject, Documents.table(Documents.table(pyproject, "tool"), "poetry"));
  }

  private static Set<String> nonOptionalGroups(JsonNode pyproject, JsonNode toolPoetry) {
    JsonNode declared = Documents.table(toolPoetry, "group");
    Set<String> optional = new LinkedHashSet<>();
    Set<String> groups = new LinkedHashSet<>();
    for (var it = declared.fieldNames(); it.hasNext(); ) {
      String group = it.next();
      JsonNode flag = Documents.table(declared, group).get("optional");
      (flag != null && flag.asBoolean() ? optional : groups)
          .add(LockedDistribution.normalize(group));
    }
    for (var it = Documents.table(pyproject, "dependency-groups").fieldNames(); it.hasNext(); ) {
      groups.add(LockedDistribution.normalize(it.next()));
    }
    if (toolPoetry.has("dev-dependencies")) {
      groups.add("dev");
    }
    groups.removeAll(optional);
    return groups;
  }

  /** Lock 2.1: the packages of the chosen groups whose marker for such a group holds. */
  private static Set<Package> fromGroups(
      List<Package> packages, MarkerEvaluator markers, Set<String> groups) {
    Set<Package> chosen = new LinkedHashSet<>();
    for (Package pkg : packages) {
      JsonNode recorded = pkg.node().get("markers");
      for (String group : Documents.strings(pkg.node(), "groups")) {
        if (!groups.contains(LockedDistribution.normalize(group))) {
          continue;
        }
        String marker = null;
        if (recorded != null && recorded.isTextual()) {
          marker = recorded.asText(); // the same marker for every group
        } else if (recorded != null && recorded.isObject()) {
          for (var it = recorded.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (LockedDistribution.normalize(name).equals(LockedDistribution.normalize(group))) {
              marker = recorded.get(name).asText();
            }
          }
        }
        if (marker == null || marker.equals("*") || markers.applies(marker, Set.of())) {
          chosen.add(pkg);
          break;
        }
      }
    }
    return chosen;
  }

  /**
   * Locks before 2.1: the declared dependencies of the chosen groups other than main ({@code
   * [tool.poetry.group.<name>.dependencies]}, {@code [tool.poetry.dev-dependencies]} as dev).
   */
  private static List<Edge> groupDependencies(JsonNode toolPoetry, Set<String> groups) {
    List<Edge> edges = new ArrayList<>();
    JsonNode declared = Documents.table(toolPoetry, "group");
    for (var it = declared.fieldNames(); it.hasNext(); ) {
      String group = it.next();
      String normalized = LockedDistribution.normalize(group);
      if (!normalized.equals(MAIN) && groups.contains(normalized)) {
        addTableEdges(
            Documents.table(Documents.table(declared, group), "dependencies"), edges, false);
      }
    }
    if (groups.contains("dev")) {
      addTableEdges(Documents.table(toolPoetry, "dev-dependencies"), edges, false);
    }
    return edges;
  }

  /** The main dependencies of pyproject.toml, as edges from the project. */
  private static List<Edge> mainDependencies(JsonNode project, JsonNode toolPoetry)
      throws InstallerException {
    List<Edge> edges = new ArrayList<>();
    JsonNode projectDependencies = project.get("dependencies");
    if (projectDependencies != null && projectDependencies.isArray()) {
      for (JsonNode dependency : projectDependencies) {
        Requirement requirement = Requirement.parse(dependency.asText());
        if (requirement == null) {
          throw new InstallerException(
              Codes.POETRY_LOCK_INVALID,
              "pyproject.toml has '"
                  + Documents.shorten(dependency.asText(), 120)
                  + "' in [project] dependencies, which is not a PEP 508 requirement. Fix it, then"
                  + " run `poetry lock`.");
        }
        edges.add(
            new Edge(
                requirement.name(),
                requirement.normalizedExtras(),
                requirement.marker(),
                null,
                null));
      }
    } else {
      addTableEdges(Documents.table(toolPoetry, "dependencies"), edges, true);
    }
    JsonNode main =
        Documents.table(
            Documents.table(Documents.table(toolPoetry, "group"), "main"), "dependencies");
    addTableEdges(main, edges, true);
    return edges;
  }

  /** Edges of a Poetry dependency table: name = "constraint" | {…} | [{…}, …]. */
  private static void addTableEdges(JsonNode table, List<Edge> edges, boolean skipPython) {
    for (var it = table.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (skipPython && name.equals("python")) {
        continue;
      }
      for (JsonNode constraint : Documents.array(table, name)) {
        if (constraint.isObject()) {
          JsonNode optional = constraint.get("optional");
          if (optional != null && optional.asBoolean()) {
            continue; // a root extra would ask for it; `poetry sync` asks for none
          }
          edges.add(edge(name, constraint));
        } else {
          edges.add(new Edge(name, Set.of(), null, null, null));
        }
      }
    }
  }

  private static Edge edge(String name, JsonNode constraint) {
    Set<String> extras = new LinkedHashSet<>();
    Documents.strings(constraint, "extras")
        .forEach(extra -> extras.add(LockedDistribution.normalize(extra)));
    return new Edge(
        name,
        extras,
        Documents.text(constraint, "markers"),
        Documents.text(constraint, "python"),
        Documents.text(constraint, "platform"));
  }

  /** Locks before 2.1: follow the dependency graph from the main dependencies. */
  private static Set<Package> walk(
      List<Edge> roots, List<Package> packages, MarkerEvaluator markers, PythonRequirement python)
      throws InstallerException {
    Map<String, List<Package>> byName = new HashMap<>();
    packages.forEach(
        pkg -> byName.computeIfAbsent(pkg.normalizedName(), k -> new ArrayList<>()).add(pkg));
    Map<Package, Set<String>> activated = new LinkedHashMap<>();
    Map<Package, Set<String>> expanded = new HashMap<>();
    Deque<Package> queue = new ArrayDeque<>();
    follow(roots, "pyproject.toml", byName, activated, queue, markers, python);
    while (!queue.isEmpty()) {
      Package pkg = queue.poll();
      Set<String> extras = activated.get(pkg);
      Set<String> done = expanded.get(pkg);
      if (done != null && done.containsAll(extras)) {
        continue;
      }
      expanded.put(pkg, new LinkedHashSet<>(extras));
      Set<String> enabledOptional = new LinkedHashSet<>();
      JsonNode packageExtras = Documents.table(pkg.node(), "extras");
      for (var it = packageExtras.fieldNames(); it.hasNext(); ) {
        String extra = it.next();
        if (extras.contains(LockedDistribution.normalize(extra))) {
          for (String entry : Documents.strings(packageExtras, extra)) {
            Matcher m = LEADING_NAME.matcher(entry);
            if (m.lookingAt()) {
              enabledOptional.add(LockedDistribution.normalize(m.group(1)));
            }
          }
        }
      }
      List<Edge> edges = new ArrayList<>();
      JsonNode dependencies = Documents.table(pkg.node(), "dependencies");
      for (var it = dependencies.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        for (JsonNode constraint : Documents.array(dependencies, name)) {
          if (!constraint.isObject()) {
            edges.add(new Edge(name, Set.of(), null, null, null));
            continue;
          }
          JsonNode optional = constraint.get("optional");
          if (optional != null
              && optional.asBoolean()
              && !enabledOptional.contains(LockedDistribution.normalize(name))) {
            continue;
          }
          edges.add(edge(name, constraint));
        }
      }
      follow(edges, "'" + pkg.name() + "'", byName, activated, queue, markers, python);
    }
    return activated.keySet();
  }

  private static void follow(
      List<Edge> edges,
      String from,
      Map<String, List<Package>> byName,
      Map<Package, Set<String>> activated,
      Deque<Package> queue,
      MarkerEvaluator markers,
      PythonRequirement python)
      throws InstallerException {
    for (Edge edge : edges) {
      if (!applies(edge, markers, python)) {
        continue;
      }
      Package target = choose(edge, from, byName, python);
      Set<String> extras = activated.computeIfAbsent(target, k -> new LinkedHashSet<>());
      extras.addAll(edge.extras());
      queue.add(target);
    }
  }

  private static boolean applies(Edge edge, MarkerEvaluator markers, PythonRequirement python) {
    if (edge.markers() != null && !markers.applies(edge.markers(), Set.of())) {
      return false;
    }
    if (edge.platform() != null
        && !markers.applies("sys_platform == \"" + edge.platform() + "\"", Set.of())) {
      return false;
    }
    if (edge.python() != null) {
      List<String> alternatives = PoetryConstraint.toPep440(edge.python());
      return alternatives == null || allowsAny(python, alternatives);
    }
    return true;
  }

  private static Package choose(
      Edge edge, String from, Map<String, List<Package>> byName, PythonRequirement python)
      throws InstallerException {
    List<Package> candidates =
        byName.getOrDefault(LockedDistribution.normalize(edge.name()), List.of());
    if (candidates.isEmpty()) {
      throw new InstallerException(
          Codes.POETRY_LOCK_INVALID,
          from + " depends on '" + edge.name() + "', which poetry.lock does not list. " + FIX_LOCK);
    }
    List<Package> compatible = new ArrayList<>();
    for (Package candidate : candidates) {
      List<String> alternatives =
          PoetryConstraint.toPep440(Documents.text(candidate.node(), "python-versions"));
      if (alternatives == null || allowsAny(python, alternatives)) {
        compatible.add(candidate);
      }
    }
    if (compatible.size() == 1) {
      return compatible.get(0);
    }
    if (compatible.isEmpty()) {
      Package only = candidates.get(0);
      throw new InstallerException(
          Codes.POETRY_LOCK_PYTHON_INCOMPATIBLE,
          "poetry.lock pins '"
              + only.name()
              + "' "
              + only.version()
              + ", which needs Python "
              + Documents.text(only.node(), "python-versions")
              + ", not "
              + python.targetVersion()
              + ". Narrow the project's Python constraint in pyproject.toml (or add a marker to the"
              + " dependency), then run `poetry lock`.");
    }
    throw new InstallerException(
        Codes.POETRY_LOCK_INVALID,
        "poetry.lock pins "
            + compatible.size()
            + " versions of '"
            + edge.name()
            + "' for Python "
            + python.targetVersion()
            + " and this lock version does not record which one applies. Write the lock with Poetry"
            + " 2 (lock-version 2.1 records groups and markers): run `poetry lock` and commit"
            + " poetry.lock.");
  }

  private static LockedDistribution distribution(Package pkg, JsonNode metadata) {
    List<JsonNode> entries = Documents.array(pkg.node(), "files");
    if (!pkg.node().has("files")) {
      JsonNode metadataFiles = Documents.table(metadata, "files");
      entries = Documents.array(metadataFiles, pkg.name());
      if (entries.isEmpty()) {
        for (var it = metadataFiles.fieldNames(); it.hasNext(); ) {
          String name = it.next();
          if (LockedDistribution.normalize(name).equals(pkg.normalizedName())) {
            entries = Documents.array(metadataFiles, name);
          }
        }
      }
    }
    List<ArtifactFile> files = new ArrayList<>();
    for (JsonNode entry : entries) {
      JsonNode size = entry.get("size");
      LockedFiles.addIfPresent(
          files,
          LockedFiles.file(
              Documents.text(entry, "file"),
              Documents.text(entry, "url"),
              null,
              Documents.text(entry, "hash"),
              size != null && size.isIntegralNumber() ? size.asLong() : -1));
    }
    return new LockedDistribution(pkg.name(), pkg.version(), files, LockedFiles.hashes(files));
  }
}
