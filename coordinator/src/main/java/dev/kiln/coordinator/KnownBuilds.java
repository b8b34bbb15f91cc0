package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The latest snapshot of every build this coordinator knows: its in-memory copy of the compacted
 * {@code kiln.builds} topic. Used from the verticle's event loop only, so it needs no locking.
 */
final class KnownBuilds {
  /** Newest first; ties broken by id so listings are stable. */
  static final Comparator<BuildSnapshot> NEWEST_FIRST =
      Comparator.comparing(
              BuildSnapshot::createdAt, Comparator.nullsLast(Comparator.reverseOrder()))
          .thenComparing(BuildSnapshot::buildId);

  private final Map<String, BuildSnapshot> byId = new HashMap<>();

  Optional<BuildSnapshot> get(String buildId) {
    return Optional.ofNullable(byId.get(buildId));
  }

  /** Replaces the build's snapshot (or forgets the build when {@code previous} is null). */
  void restore(String buildId, BuildSnapshot previous) {
    if (previous == null) {
      byId.remove(buildId);
    } else {
      byId.put(buildId, previous);
    }
  }

  void put(BuildSnapshot snapshot) {
    byId.put(snapshot.buildId(), snapshot);
  }

  int size() {
    return byId.size();
  }

  Collection<BuildSnapshot> all() {
    return List.copyOf(byId.values());
  }

  /** A tenant's builds (optionally of one app), newest first, at most {@code limit}. */
  List<BuildSnapshot> list(String tenant, String app, int limit) {
    return byId.values().stream()
        .filter(s -> s.push().tenant().equals(tenant))
        .filter(s -> app == null || s.push().app().equals(app))
        .sorted(NEWEST_FIRST)
        .limit(limit)
        .toList();
  }

  /**
   * The resolved Python version of the app's most recent successful build, for the "sticky" version
   * rule: an app that pinned nothing keeps the minor version it was last built with.
   */
  String previousPython(String tenant, String app) {
    return byId.values().stream()
        .filter(s -> s.state() == BuildState.SUCCEEDED)
        .filter(s -> s.push().tenant().equals(tenant) && s.push().app().equals(app))
        .filter(s -> s.plan() != null && s.plan().pythonVersion() != null)
        .max(
            Comparator.comparing(
                    BuildSnapshot::updatedAt, Comparator.nullsFirst(Comparator.naturalOrder()))
                .thenComparing(BuildSnapshot::buildId))
        .map(s -> s.plan().pythonVersion())
        .orElse(null);
  }
}
