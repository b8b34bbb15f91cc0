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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@code uv.lock} into what {@code uv sync --locked --no-default-groups} installs, or for a
 * CI build what {@code uv sync --locked} installs (the project's default dependency groups too).
 *
 * <p>Inputs: the app's {@code uv.lock} and {@code pyproject.toml} (both at the root of the app's
 * source directory), a {@link MarkerEvaluator} and a {@link PythonRequirement} for the target
 * (whose Python comes from {@code .python-version} for uv apps).
 *
 * <ul>
 *   <li>The lock must be {@code version = 1} (any {@code revision}); other versions fail with
 *       {@link Codes#UV_LOCK_UNSUPPORTED_VERSION}.
 *   <li>The target Python must satisfy the project's {@code requires-python} ({@link
 *       Codes#UV_LOCK_PYTHON_INCOMPATIBLE}).
 *   <li>The lock must still match pyproject.toml ({@link Codes#UV_LOCK_STALE}): the root package's
 *       recorded {@code requires-dist}, {@code provides-extras} and {@code requires-dev} against
 *       the project's dependencies, optional dependencies and dependency groups (names and extras
 *       normalized, specifier order ignored), and the lock's {@code requires-python} range against
 *       the project's. Markers are compared by the extras they name only, because uv rewrites
 *       markers when it locks; workspace members' own pyproject.toml files are not compared.
 *   <li>The install set starts at the project (or, in a workspace whose root has no {@code
 *       [project]}, at every member) and follows {@code dependencies} edges whose markers hold for
 *       the target, plus the {@code optional-dependencies} an edge's {@code extra} asks for.
 *       Dependency groups are followed only for a CI build: the root's {@code
 *       [package.dev-dependencies]} entries of the default groups ({@code [tool.uv] default-groups}
 *       of pyproject.toml, a list of names or {@code "all"}; {@code ["dev"]} when unset, which also
 *       holds the legacy {@code [tool.uv] dev-dependencies}), each edge with its marker and extras;
 *       a workspace root that is no project has its groups in {@code [manifest.dependency-groups]},
 *       followed by name the same way.
 *   <li>A virtual project ({@code source = { virtual = "." }}) installs only its dependencies; a
 *       packaged one ({@code editable} or {@code directory}) is also a {@link LocalProject}, as is
 *       every workspace member or local directory reached.
 *   <li>Packages from git, a URL or a local archive fail with {@link
 *       Codes#UV_LOCK_UNSUPPORTED_SOURCE} for now.
 * </ul>
 */
public final class UvLock {
  private static final String FIX_LOCK = "Run `uv lock` and commit uv.lock.";

  private UvLock() {}

  /** One {@code [[package]]} entry. */
  record Package(String name, String version, JsonNode source, JsonNode node) {
    String normalizedName() {
      return LockedDistribution.normalize(name);
    }

    /** {@code registry}, {@code virtual}, {@code editable}, {@code directory}, {@code git}, … */
    String sourceKind() {
      var names = source.fieldNames();
      return names.hasNext() ? names.next() : "";
    }

    String sourceValue() {
      return Documents.text(source, sourceKind());
    }

    @Override
    public boolean equals(Object other) {
      return this == other; // one entry of the lock, however alike two entries look
    }

    @Override
    public int hashCode() {
      return System.identityHashCode(this);
    }

    boolean isLocalRoot() {
      return ".".equals(sourceValue())
          && List.of("virtual", "editable", "directory").contains(sourceKind());
    }
  }

  /**
   * What {@code uv sync --locked --no-default-groups} installs for the target.
   *
   * @param uvLock the bytes of {@code uv.lock}
   * @param pyprojectToml the bytes of the {@code pyproject.toml} next to it
   * @param markers decides markers for the target
   * @param python decides {@code requires-python} for the target
   */
  public static LockedSet read(
      byte[] uvLock, byte[] pyprojectToml, MarkerEvaluator markers, PythonRequirement python)
      throws InstallerException {
    return read(uvLock, pyprojectToml, markers, python, false);
  }

  /**
   * What {@code uv sync --locked} installs for the target with {@code defaultGroups} (a CI build),
   * else what {@code uv sync --locked --no-default-groups} installs.
   *
   * @param defaultGroups also the project's default dependency groups ({@code [tool.uv]
   *     default-groups}, else {@code dev})
   */
  public static LockedSet read(
      byte[] uvLock,
      byte[] pyprojectToml,
      MarkerEvaluator markers,
      PythonRequirement python,
      boolean defaultGroups)
      throws InstallerException {
    JsonNode lock =
        Documents.toml(
            uvLock, "uv.lock", Codes.UV_LOCK_INVALID, "Run `uv lock` to write it again.");
    if (pyprojectToml == null) {
      throw new InstallerException(
          Codes.UV_LOCK_INVALID,
          "uv.lock needs the pyproject.toml it was locked from, and there is none next to it. Commit"
              + " pyproject.toml.");
    }
    JsonNode pyproject =
        Documents.toml(
            pyprojectToml, "pyproject.toml", Codes.UV_LOCK_INVALID, "Fix pyproject.toml.");
    checkVersion(lock);
    JsonNode project = pyproject.get("project");
    checkPython(lock, project, python);

    Map<String, List<Package>> packages = packages(lock);
    List<Package> roots = new ArrayList<>();
    if (project != null && project.isObject()) {
      String name = Documents.text(project, "name");
      if (name == null) {
        throw new InstallerException(
            Codes.UV_LOCK_INVALID,
            "pyproject.toml has a [project] table without a name; uv needs one. Add `name = \"…\"`"
                + " to [project], then run `uv lock`.");
      }
      Package root =
          packages.getOrDefault(LockedDistribution.normalize(name), List.of()).stream()
              .filter(Package::isLocalRoot)
              .findFirst()
              .orElseThrow(
                  () ->
                      new InstallerException(
                          Codes.UV_LOCK_STALE,
                          "uv.lock does not list the project '"
                              + name
                              + "' of pyproject.toml, so it was locked for another project. "
                              + FIX_LOCK));
      UvStaleness.check(lock, pyproject, root);
      roots.add(root);
    } else {
      for (String member : Documents.strings(Documents.table(lock, "manifest"), "members")) {
        List<Package> found =
            packages.getOrDefault(LockedDistribution.normalize(member), List.of());
        if (found.size() != 1) {
          throw invalid(
              "its [manifest] names the member '" + member + "' but lists no package for it");
        }
        roots.add(found.get(0));
      }
      if (roots.isEmpty()) {
        throw new InstallerException(
            Codes.UV_LOCK_INVALID,
            "pyproject.toml has no [project] table and uv.lock lists no workspace members, so there"
                + " is nothing uv would install. Add a [project] table to pyproject.toml, then run"
                + " `uv lock`.");
      }
    }
    Set<String> groups = defaultGroups ? defaultGroups(pyproject) : Set.of();
    // A workspace root that is no project keeps its own groups in [manifest.dependency-groups].
    List<JsonNode> manifestGroups =
        project != null && project.isObject()
            ? List.of()
            : groupEdges(
                Documents.table(Documents.table(lock, "manifest"), "dependency-groups"), groups);
    return walk(roots, groups, manifestGroups, packages, markers);
  }

  /** {@link #defaultGroups} for callers outside the reader (a CI build that pip resolves). */
  static Set<String> defaultGroupNames(JsonNode pyproject) throws InstallerException {
    return defaultGroups(pyproject);
  }

  /**
   * The normalized names of the default groups: {@code [tool.uv] default-groups}, else {@code dev};
   * null for {@code "all"}.
   */
  private static Set<String> defaultGroups(JsonNode pyproject) throws InstallerException {
    JsonNode declared =
        Documents.table(Documents.table(pyproject, "tool"), "uv").get("default-groups");
    if (declared == null) {
      return Set.of("dev");
    }
    if (declared.isTextual() && declared.asText().equals("all")) {
      return null;
    }
    if (declared.isArray()) {
      Set<String> groups = new LinkedHashSet<>();
      for (JsonNode group : declared) {
        if (!group.isTextual()) {
          break;
        }
        groups.add(LockedDistribution.normalize(group.asText()));
      }
      if (groups.size() == declared.size()) {
        return groups;
      }
    }
    throw new InstallerException(
        Codes.UV_LOCK_INVALID,
        "pyproject.toml has `default-groups = "
            + Documents.shorten(declared.toString(), 80)
            + "` in [tool.uv]; uv takes a list of group names or \"all\" there. Fix it, then run"
            + " `uv lock`.");
  }

  /** The root's edges of the chosen groups ({@code null}: all) that uv recorded. */
  private static List<JsonNode> groupEdges(Package root, Set<String> groups) {
    return groupEdges(Documents.table(root.node(), "dev-dependencies"), groups);
  }

  /** The edges of the chosen groups ({@code null}: all) of a table of group name → edges. */
  private static List<JsonNode> groupEdges(JsonNode recorded, Set<String> groups) {
    List<JsonNode> edges = new ArrayList<>();
    for (var names = recorded.fieldNames(); names.hasNext(); ) {
      String group = names.next();
      if (groups == null || groups.contains(LockedDistribution.normalize(group))) {
        edges.addAll(Documents.array(recorded, group));
      }
    }
    return edges;
  }

  private static void checkVersion(JsonNode lock) throws InstallerException {
    JsonNode version = lock.get("version");
    if (version == null) {
      throw invalid("it has no top-level `version`");
    }
    if (!version.isIntegralNumber() || version.asInt() != 1) {
      throw new InstallerException(
          Codes.UV_LOCK_UNSUPPORTED_VERSION,
          "uv.lock has `version = "
              + version
              + "`; Kiln reads uv.lock version 1 (any revision), which uv writes since 0.3. Lock"
              + " with a uv release that writes version 1 (`uv lock`), then commit uv.lock.");
    }
  }

  private static void checkPython(JsonNode lock, JsonNode project, PythonRequirement python)
      throws InstallerException {
    String fromProject = project == null ? null : Documents.text(project, "requires-python");
    String requiresPython =
        fromProject != null ? fromProject : Documents.text(lock, "requires-python");
    if (requiresPython == null || requiresPython.isBlank() || python.allows(requiresPython)) {
      return;
    }
    throw new InstallerException(
        Codes.UV_LOCK_PYTHON_INCOMPATIBLE,
        "The app asks for Python "
            + python.targetVersion()
            + " (in .python-version), but "
            + (fromProject != null ? "pyproject.toml" : "uv.lock")
            + " says `requires-python = \""
            + requiresPython
            + "\"`, so uv refuses to install the project with it. Put a Python version that"
            + " satisfies requires-python in .python-version, or change requires-python in"
            + " pyproject.toml and run `uv lock`.");
  }

  private static Map<String, List<Package>> packages(JsonNode lock) throws InstallerException {
    Map<String, List<Package>> packages = new HashMap<>();
    for (JsonNode node : Documents.array(lock, "package")) {
      String name = Documents.text(node, "name");
      JsonNode source = node.get("source");
      if (name == null || source == null || !source.isObject() || source.isEmpty()) {
        throw invalid("a [[package]] entry has no name or no source");
      }
      Package pkg = new Package(name, Documents.text(node, "version"), source, node);
      packages.computeIfAbsent(pkg.normalizedName(), k -> new ArrayList<>()).add(pkg);
    }
    return packages;
  }

  private static LockedSet walk(
      List<Package> roots,
      Set<String> groups,
      List<JsonNode> rootEdges,
      Map<String, List<Package>> packages,
      MarkerEvaluator markers)
      throws InstallerException {
    Map<Package, Set<String>> activated = new LinkedHashMap<>();
    Deque<Package> queue = new ArrayDeque<>();
    Map<Package, Set<String>> expanded = new HashMap<>();
    for (Package root : roots) {
      activated.put(root, new LinkedHashSet<>());
      queue.add(root);
    }
    for (JsonNode edge : rootEdges) {
      if (markers.applies(Documents.text(edge, "marker"), Set.of())) {
        Package target = resolve(edge, "the workspace root", packages);
        activated.computeIfAbsent(target, k -> new LinkedHashSet<>()).addAll(extras(edge));
        queue.add(target);
      }
    }
    while (!queue.isEmpty()) {
      Package pkg = queue.poll();
      Set<String> done = expanded.get(pkg);
      List<JsonNode> edges = new ArrayList<>();
      if (done == null) {
        done = new LinkedHashSet<>();
        expanded.put(pkg, done);
        edges.addAll(Documents.array(pkg.node(), "dependencies"));
        if (roots.contains(pkg)) {
          edges.addAll(groupEdges(pkg, groups));
        }
      }
      JsonNode optional = Documents.table(pkg.node(), "optional-dependencies");
      for (String extra : activated.get(pkg)) {
        if (done.add(extra)) {
          edges.addAll(optionalEdges(optional, extra));
        }
      }
      for (JsonNode edge : edges) {
        if (!markers.applies(Documents.text(edge, "marker"), Set.of())) {
          continue;
        }
        Package target = resolve(edge, "'" + pkg.name() + "'", packages);
        Set<String> extras = activated.computeIfAbsent(target, k -> new LinkedHashSet<>());
        boolean changed = !expanded.containsKey(target);
        for (String extra : extras(edge)) {
          changed |= extras.add(extra);
        }
        if (changed) {
          queue.add(target);
        }
      }
    }

    List<LockedDistribution> distributions = new ArrayList<>();
    List<LocalProject> localProjects = new ArrayList<>();
    for (Package pkg : activated.keySet()) {
      switch (pkg.sourceKind()) {
        case "registry" -> distributions.add(distribution(pkg));
        case "virtual" -> {
          // a virtual project installs only its dependencies
        }
        case "editable" -> localProjects.add(new LocalProject(localPath(pkg), true));
        case "directory" -> localProjects.add(new LocalProject(localPath(pkg), false));
        default ->
            throw new InstallerException(
                Codes.UV_LOCK_UNSUPPORTED_SOURCE,
                "uv.lock installs '"
                    + pkg.name()
                    + "' from "
                    + describe(pkg)
                    + "; Kiln installs uv projects from the package index and the app's own"
                    + " directories only, for now. Publish the package to an index and depend on it"
                    + " by version (then run `uv lock`), or vendor it into the repository as a"
                    + " workspace member.");
      }
    }
    LockedFiles.requireOnePerName(distributions, Codes.UV_LOCK_INVALID, "uv.lock", FIX_LOCK);
    return new LockedSet(distributions, localProjects);
  }

  /** The normalized extras an edge asks for: {@code extra} (edges), {@code extras} (manifest). */
  private static Set<String> extras(JsonNode edge) {
    Set<String> extras = new LinkedHashSet<>();
    for (String field : List.of("extra", "extras")) {
      Documents.strings(edge, field).forEach(e -> extras.add(LockedDistribution.normalize(e)));
    }
    return extras;
  }

  private static List<JsonNode> optionalEdges(JsonNode optional, String extra) {
    var names = optional.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (LockedDistribution.normalize(name).equals(extra)) {
        return Documents.array(optional, name);
      }
    }
    return List.of();
  }

  private static Package resolve(JsonNode edge, String from, Map<String, List<Package>> packages)
      throws InstallerException {
    String name = Documents.text(edge, "name");
    if (name == null) {
      throw invalid("a dependency of " + from + " has no name");
    }
    List<Package> candidates =
        new ArrayList<>(packages.getOrDefault(LockedDistribution.normalize(name), List.of()));
    String version = Documents.text(edge, "version");
    if (version != null) {
      candidates.removeIf(candidate -> !version.equals(candidate.version()));
    }
    JsonNode source = edge.get("source");
    if (source != null) {
      candidates.removeIf(candidate -> !source.equals(candidate.source()));
    }
    if (candidates.size() != 1) {
      throw invalid(
          from
              + " depends on '"
              + name
              + (version == null ? "" : " " + version)
              + "', which it lists "
              + (candidates.isEmpty() ? "nowhere" : candidates.size() + " times"));
    }
    return candidates.get(0);
  }

  private static LockedDistribution distribution(Package pkg) throws InstallerException {
    if (pkg.version() == null) {
      throw invalid("the registry package '" + pkg.name() + "' has no version");
    }
    List<ArtifactFile> files = new ArrayList<>();
    JsonNode sdist = pkg.node().get("sdist");
    if (sdist != null && sdist.isObject()) {
      LockedFiles.addIfPresent(files, file(sdist));
    }
    for (JsonNode wheel : Documents.array(pkg.node(), "wheels")) {
      LockedFiles.addIfPresent(files, file(wheel));
    }
    return new LockedDistribution(pkg.name(), pkg.version(), files, LockedFiles.hashes(files));
  }

  private static ArtifactFile file(JsonNode entry) {
    JsonNode size = entry.get("size");
    return LockedFiles.file(
        Documents.text(entry, "filename"),
        Documents.text(entry, "url"),
        Documents.text(entry, "path"),
        Documents.text(entry, "hash"),
        size != null && size.isIntegralNumber() ? size.asLong() : -1);
  }

  private static String localPath(Package pkg) {
    return LockedFiles.localPath(pkg.sourceValue() == null ? "." : pkg.sourceValue());
  }

  private static String describe(Package pkg) {
    String value = pkg.sourceValue();
    return switch (pkg.sourceKind()) {
      case "git" -> "git (" + Documents.shorten(String.valueOf(value), 120) + ")";
      case "url" -> "a URL (" + Documents.shorten(String.valueOf(value), 120) + ")";
      case "path" -> "the local archive " + value;
      default -> "a source Kiln does not know (" + pkg.sourceKind() + ")";
    };
  }

  private static InstallerException invalid(String what) {
    return new InstallerException(
        Codes.UV_LOCK_INVALID,
        "uv.lock is not a lock uv could have written: " + what + ". " + FIX_LOCK);
  }
}
