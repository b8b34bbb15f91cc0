package dev.kiln.installer.lock;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.installer.Codes;
import dev.kiln.installer.InstallerException;
import dev.kiln.installer.LockedDistribution;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Whether uv.lock still matches pyproject.toml, the way {@code uv sync --locked} decides it for the
 * project: its dependencies, optional dependencies, dependency groups and requires-python.
 */
final class UvStaleness {
  private static final String FIX = "Run `uv lock` and commit uv.lock.";

  /**
   * A requirement as uv compares it, minus its marker: only the extras a marker names count,
   * because uv simplifies markers when it writes the lock.
   */
  record Key(String name, Set<String> extras, Set<String> specifier, Set<String> markerExtras)
      implements Comparable<Key> {
    @Override
    public String toString() {
      StringBuilder text = new StringBuilder(name);
      if (!extras.isEmpty()) {
        text.append('[').append(String.join(",", extras)).append(']');
      }
      text.append(String.join(",", specifier));
      if (!markerExtras.isEmpty()) {
        List<String> conditions = new ArrayList<>();
        markerExtras.forEach(extra -> conditions.add("extra == '" + extra + "'"));
        text.append(" ; ").append(String.join(" or ", conditions));
      }
      return text.toString();
    }

    @Override
    public int compareTo(Key other) {
      return toString().compareTo(other.toString());
    }
  }

  private UvStaleness() {}

  static void check(JsonNode lock, JsonNode pyproject, UvLock.Package root)
      throws InstallerException {
    JsonNode project = pyproject.get("project");
    checkRequiresPython(lock, project);
    JsonNode metadata = root.node().get("metadata");
    if (metadata == null || !metadata.isObject()) {
      return; // written by a uv that recorded no metadata; uv itself re-reads the project then
    }
    Set<String> sourced = new HashSet<>();
    Documents.table(Documents.table(Documents.table(pyproject, "tool"), "uv"), "sources")
        .fieldNames()
        .forEachRemaining(name -> sourced.add(LockedDistribution.normalize(name)));
    List<String> dynamic = Documents.strings(project, "dynamic");

    if (!dynamic.contains("dependencies") && !dynamic.contains("optional-dependencies")) {
      Set<Key> expected = new TreeSet<>();
      for (String requirement : Documents.strings(project, "dependencies")) {
        expected.add(key(requirement, null, sourced, "[project] dependencies"));
      }
      JsonNode optional = Documents.table(project, "optional-dependencies");
      for (var it = optional.fieldNames(); it.hasNext(); ) {
        String extra = it.next();
        for (String requirement : Documents.strings(optional, extra)) {
          expected.add(
              key(requirement, extra, sourced, "[project.optional-dependencies] " + extra));
        }
      }
      Set<Key> actual = new TreeSet<>();
      for (JsonNode entry : Documents.array(metadata, "requires-dist")) {
        actual.add(lockKey(entry, sourced));
      }
      compare("the project's dependencies", expected, actual);

      if (metadata.has("provides-extras")) {
        Set<String> expectedExtras = new TreeSet<>();
        optional
            .fieldNames()
            .forEachRemaining(extra -> expectedExtras.add(LockedDistribution.normalize(extra)));
        Set<String> actualExtras = new TreeSet<>();
        Documents.strings(metadata, "provides-extras")
            .forEach(extra -> actualExtras.add(LockedDistribution.normalize(extra)));
        if (!expectedExtras.equals(actualExtras)) {
          throw stale(
              "pyproject.toml defines the extras "
                  + expectedExtras
                  + " but uv.lock was locked for "
                  + actualExtras);
        }
      }
    }

    Map<String, Set<Key>> expectedGroups = groups(pyproject, sourced);
    Map<String, Set<Key>> actualGroups = new TreeMap<>();
    JsonNode requiresDev = Documents.table(metadata, "requires-dev");
    for (var it = requiresDev.fieldNames(); it.hasNext(); ) {
      String group = it.next();
      Set<Key> keys = new TreeSet<>();
      for (JsonNode entry : Documents.array(requiresDev, group)) {
        keys.add(lockKey(entry, sourced));
      }
      if (!keys.isEmpty()) {
        actualGroups.put(LockedDistribution.normalize(group), keys);
      }
    }
    if (!expectedGroups.keySet().equals(actualGroups.keySet())) {
      throw stale(
          "pyproject.toml defines the dependency groups "
              + expectedGroups.keySet()
              + " but uv.lock was locked for "
              + actualGroups.keySet());
    }
    for (String group : expectedGroups.keySet()) {
      compare(
          "the dependency group '" + group + "'",
          expectedGroups.get(group),
          actualGroups.get(group));
    }
  }

  private static void checkRequiresPython(JsonNode lock, JsonNode project)
      throws InstallerException {
    String declared = Documents.text(project, "requires-python");
    String locked = Documents.text(lock, "requires-python");
    boolean workspace = !Documents.strings(Documents.table(lock, "manifest"), "members").isEmpty();
    if (declared == null || locked == null || workspace) {
      return; // uv locked with its default, or intersected several members' ranges
    }
    PythonBounds expected = PythonBounds.of(declared);
    PythonBounds actual = PythonBounds.of(locked);
    if (expected != null && actual != null && !expected.equals(actual)) {
      throw stale(
          "pyproject.toml says `requires-python = \""
              + declared
              + "\"` but uv.lock was locked for \""
              + locked
              + "\"");
    }
  }

  /** [dependency-groups] with include-group expanded, plus [tool.uv] dev-dependencies as dev. */
  private static Map<String, Set<Key>> groups(JsonNode pyproject, Set<String> sourced)
      throws InstallerException {
    JsonNode table = Documents.table(pyproject, "dependency-groups");
    Map<String, String> declaredNames = new TreeMap<>();
    table
        .fieldNames()
        .forEachRemaining(name -> declaredNames.put(LockedDistribution.normalize(name), name));
    Map<String, Set<Key>> groups = new TreeMap<>();
    for (String normalized : declaredNames.keySet()) {
      Set<Key> keys = new TreeSet<>();
      expand(table, declaredNames, normalized, keys, new LinkedHashSet<>(), sourced);
      groups.put(normalized, keys);
    }
    List<String> legacy =
        Documents.strings(
            Documents.table(Documents.table(pyproject, "tool"), "uv"), "dev-dependencies");
    for (String requirement : legacy) {
      groups
          .computeIfAbsent("dev", k -> new TreeSet<>())
          .add(key(requirement, null, sourced, "[tool.uv] dev-dependencies"));
    }
    groups.values().removeIf(Set::isEmpty);
    return groups;
  }

  private static void expand(
      JsonNode table,
      Map<String, String> declaredNames,
      String group,
      Set<Key> into,
      Set<String> path,
      Set<String> sourced)
      throws InstallerException {
    if (!path.add(group)) {
      throw new InstallerException(
          Codes.UV_LOCK_INVALID,
          "pyproject.toml's dependency groups include each other in a loop: "
              + String.join(" -> ", path)
              + " -> "
              + group
              + ". Break the loop in [dependency-groups].");
    }
    String declared = declaredNames.get(group);
    if (declared == null) {
      throw new InstallerException(
          Codes.UV_LOCK_INVALID,
          "pyproject.toml includes the dependency group '"
              + group
              + "', which [dependency-groups] does not define. Define it or remove the"
              + " include-group.");
    }
    for (JsonNode entry : Documents.array(table, declared)) {
      if (entry.isTextual()) {
        into.add(key(entry.asText(), null, sourced, "[dependency-groups] " + declared));
      } else if (entry.isObject() && Documents.text(entry, "include-group") != null) {
        expand(
            table,
            declaredNames,
            LockedDistribution.normalize(Documents.text(entry, "include-group")),
            into,
            path,
            sourced);
      }
    }
    path.remove(group);
  }

  private static Key key(String text, String extra, Set<String> sourced, String where)
      throws InstallerException {
    Requirement requirement = Requirement.parse(text);
    if (requirement == null) {
      throw new InstallerException(
          Codes.UV_LOCK_INVALID,
          "pyproject.toml has '"
              + Documents.shorten(text, 120)
              + "' in "
              + where
              + ", which is not a PEP 508 requirement. Fix it, then run `uv lock`.");
    }
    Set<String> markerExtras = Requirement.extrasNamedIn(requirement.marker());
    if (extra != null) {
      markerExtras.add(LockedDistribution.normalize(extra));
    }
    String name = requirement.normalizedName();
    Set<String> specifier =
        sourced.contains(name) || requirement.url() != null
            ? Set.of()
            : Requirement.specifierClauses(requirement.specifier());
    return new Key(name, requirement.normalizedExtras(), specifier, markerExtras);
  }

  private static Key lockKey(JsonNode entry, Set<String> sourced) throws InstallerException {
    String name = Documents.text(entry, "name");
    if (name == null) {
      throw new InstallerException(
          Codes.UV_LOCK_INVALID,
          "uv.lock records a requirement without a name in the project's metadata. " + FIX);
    }
    String normalized = LockedDistribution.normalize(name);
    Set<String> extras = new TreeSet<>();
    Documents.strings(entry, "extras")
        .forEach(extra -> extras.add(LockedDistribution.normalize(extra)));
    Set<String> specifier =
        sourced.contains(normalized)
            ? Set.of()
            : Requirement.specifierClauses(Documents.text(entry, "specifier"));
    return new Key(
        normalized, extras, specifier, Requirement.extrasNamedIn(Documents.text(entry, "marker")));
  }

  private static void compare(String what, Set<Key> expected, Set<Key> actual)
      throws InstallerException {
    if (expected.equals(actual)) {
      return;
    }
    Set<Key> added = new TreeSet<>(expected);
    added.removeAll(actual);
    Set<Key> removed = new TreeSet<>(actual);
    removed.removeAll(expected);
    StringBuilder detail = new StringBuilder(what + " changed since uv.lock was written:");
    if (!added.isEmpty()) {
      detail.append(" pyproject.toml now asks for ").append(list(added)).append(';');
    }
    if (!removed.isEmpty()) {
      detail.append(" uv.lock was locked for ").append(list(removed)).append(';');
    }
    detail.setLength(detail.length() - 1);
    throw stale(detail.toString());
  }

  private static String list(Set<Key> keys) {
    List<String> shown = new ArrayList<>();
    for (Key key : keys) {
      if (shown.size() == 5) {
        shown.add("… (" + (keys.size() - 5) + " more)");
        break;
      }
      shown.add("'" + key + "'");
    }
    return String.join(", ", shown);
  }

  private static InstallerException stale(String detail) {
    return new InstallerException(
        Codes.UV_LOCK_STALE,
        "uv.lock is out of date with pyproject.toml: "
            + detail
            + ". `uv sync --locked` refuses such a lock. "
            + FIX);
  }
}
