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

  /** Oldest first: the order waiting builds start in. */
  static final Comparator<BuildSnapshot> OLDEST_FIRST =
      Comparator.comparing(
              BuildSnapshot::createdAt, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(BuildSnapshot::buildId);

  private final Map<String, BuildSnapshot> byId = new HashMap<>();

  /** Unfinished builds per tenant: what quotas count, kept so a push never scans history. */
  private final Map<String, Map<String, BuildSnapshot>> unfinishedByTenant = new HashMap<>();

  Optional<BuildSnapshot> get(String buildId) {
    return Optional.ofNullable(byId.get(buildId));
  }

  /** Replaces the build's snapshot (or forgets the build when {@code previous} is null). */
  void restore(String buildId, BuildSnapshot previous) {
    if (previous == null) {
      unindex(byId.remove(buildId));
    } else {
      put(previous);
    }
  }

  void put(BuildSnapshot snapshot) {
    unindex(byId.put(snapshot.buildId(), snapshot));
    if (!snapshot.state().isFinal()) {
      unfinishedByTenant
          .computeIfAbsent(snapshot.push().tenant(), t -> new HashMap<>())
          .put(snapshot.buildId(), snapshot);
    }
  }

  private void unindex(BuildSnapshot old) {
    if (old == null) {
      return;
    }
    Map<String, BuildSnapshot> unfinished = unfinishedByTenant.get(old.push().tenant());
    if (unfinished != null) {
      unfinished.remove(old.buildId());
      if (unfinished.isEmpty()) {
        unfinishedByTenant.remove(old.push().tenant());
      }
    }
  }

  /** How many of the tenant's builds run (DETECTING, INSTALLING or ASSEMBLING). */
  int running(String tenant) {
    return (int)
        unfinishedByTenant.getOrDefault(tenant, Map.of()).values().stream()
            .filter(s -> s.state() != BuildState.QUEUED)
            .count();
  }

  /** The tenant's waiting builds, oldest first. */
  List<BuildSnapshot> queued(String tenant) {
    return unfinishedByTenant.getOrDefault(tenant, Map.of()).values().stream()
        .filter(s -> s.state() == BuildState.QUEUED)
        .sorted(OLDEST_FIRST)
        .toList();
  }

  /** Tenants with at least one waiting build. */
  List<String> tenantsWithQueuedBuilds() {
    return unfinishedByTenant.entrySet().stream()
        .filter(e -> e.getValue().values().stream().anyMatch(s -> s.state() == BuildState.QUEUED))
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
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
