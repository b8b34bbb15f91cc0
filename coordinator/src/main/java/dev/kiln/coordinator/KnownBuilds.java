package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;

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

  /** The order of an app's successful builds for the sticky Python rule: latest update last. */
  private static final Comparator<BuildSnapshot> LAST_UPDATED_LAST =
      Comparator.comparing(
              BuildSnapshot::updatedAt, Comparator.nullsFirst(Comparator.naturalOrder()))
          .thenComparing(BuildSnapshot::buildId);

  /** Soonest lease end first; ties broken by id. */
  private static final Comparator<BuildSnapshot> LEASE_ENDS_FIRST =
      Comparator.comparing(BuildSnapshot::leaseExpiresAt).thenComparing(BuildSnapshot::buildId);

  private final Map<String, BuildSnapshot> byId = new HashMap<>();

  /**
   * Builds with a task out, by the end of its lease: finding the leases that ran out looks at those
   * only, never at every build.
   */
  private final NavigableSet<BuildSnapshot> byLeaseEnd = new TreeSet<>(LEASE_ENDS_FIRST);

  /** Finished builds whose outcome is published, oldest update first: what retention deletes. */
  private final NavigableSet<BuildSnapshot> finishedOldestFirst = new TreeSet<>(LAST_UPDATED_LAST);

  /** Unfinished builds per tenant: what quotas count, kept so a push never scans history. */
  private final Map<String, Map<String, BuildSnapshot>> unfinishedByTenant = new HashMap<>();

  /**
   * Every build per tenant, and per app within it, kept in the orders the lookups need, so listing
   * a tenant's or an app's builds and the sticky-Python lookup touch that tenant's or app's builds
   * only (and only as many as they return), never every build this coordinator knows.
   */
  private final Map<String, TenantBuilds> byTenant = new HashMap<>();

  /** How many snapshots the tenant and app lookups have looked at: their cost, for tests. */
  private long visited;

  private static final class TenantBuilds {
    final NavigableSet<BuildSnapshot> newestFirst = new TreeSet<>(NEWEST_FIRST);
    final Map<String, AppBuilds> byApp = new HashMap<>();
  }

  private static final class AppBuilds {
    final NavigableSet<BuildSnapshot> newestFirst = new TreeSet<>(NEWEST_FIRST);

    /** Successful builds that resolved a Python version, by last update. */
    final NavigableSet<BuildSnapshot> pythonSucceeded = new TreeSet<>(LAST_UPDATED_LAST);
  }

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
    String tenant = snapshot.push().tenant();
    if (hasLease(snapshot)) {
      byLeaseEnd.add(snapshot);
    }
    if (isDone(snapshot)) {
      finishedOldestFirst.add(snapshot);
    }
    if (!snapshot.state().isFinal()) {
      unfinishedByTenant
          .computeIfAbsent(tenant, t -> new HashMap<>())
          .put(snapshot.buildId(), snapshot);
    }
    TenantBuilds tenantBuilds = byTenant.computeIfAbsent(tenant, t -> new TenantBuilds());
    tenantBuilds.newestFirst.add(snapshot);
    AppBuilds app = tenantBuilds.byApp.computeIfAbsent(snapshot.push().app(), a -> new AppBuilds());
    app.newestFirst.add(snapshot);
    if (hasSuccessfulPython(snapshot)) {
      app.pythonSucceeded.add(snapshot);
    }
  }

  private static boolean hasSuccessfulPython(BuildSnapshot snapshot) {
    return snapshot.state() == BuildState.SUCCEEDED
        && snapshot.plan() != null
        && snapshot.plan().pythonVersion() != null;
  }

  private static boolean isDone(BuildSnapshot snapshot) {
    return snapshot.state().isFinal() && snapshot.outcomePublished();
  }

  private static boolean hasLease(BuildSnapshot snapshot) {
    return snapshot.leaseExpiresAt() != null
        && !snapshot.state().isFinal()
        && snapshot.state() != BuildState.QUEUED;
  }

  private void unindex(BuildSnapshot old) {
    if (old == null) {
      return;
    }
    if (hasLease(old)) {
      byLeaseEnd.remove(old);
    }
    if (isDone(old)) {
      finishedOldestFirst.remove(old);
    }
    String tenant = old.push().tenant();
    Map<String, BuildSnapshot> unfinished = unfinishedByTenant.get(tenant);
    if (unfinished != null) {
      unfinished.remove(old.buildId());
      if (unfinished.isEmpty()) {
        unfinishedByTenant.remove(tenant);
      }
    }
    TenantBuilds tenantBuilds = byTenant.get(tenant);
    if (tenantBuilds == null) {
      return;
    }
    tenantBuilds.newestFirst.remove(old);
    AppBuilds app = tenantBuilds.byApp.get(old.push().app());
    if (app != null) {
      app.newestFirst.remove(old);
      app.pythonSucceeded.remove(old);
      if (app.newestFirst.isEmpty()) {
        tenantBuilds.byApp.remove(old.push().app());
      }
    }
    if (tenantBuilds.newestFirst.isEmpty()) {
      byTenant.remove(tenant);
    }
  }

  /** How many of the tenant's builds run (DETECTING, INSTALLING or ASSEMBLING). */
  int running(String tenant) {
    return (int)
        unfinishedByTenant.getOrDefault(tenant, Map.of()).values().stream()
            .filter(s -> s.state() != BuildState.QUEUED)
            .count();
  }

  /**
   * The app's unfinished builds of pushes to {@code ref}, oldest first: what a newer push to that
   * branch supersedes. Looks at the tenant's unfinished builds only (bounded by its quotas).
   */
  List<BuildSnapshot> unfinished(String tenant, String app, String ref) {
    return unfinishedByTenant.getOrDefault(tenant, Map.of()).values().stream()
        .filter(s -> s.push().app().equals(app) && sameBranch(s.push().ref(), ref))
        .sorted(OLDEST_FIRST)
        .toList();
  }

  /** {@code main} and {@code refs/heads/main} name one branch (the API takes either). */
  static boolean sameBranch(String a, String b) {
    return java.util.Objects.equals(branchName(a), branchName(b));
  }

  private static String branchName(String ref) {
    return ref != null && ref.startsWith("refs/heads/")
        ? ref.substring("refs/heads/".length())
        : ref;
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

  /**
   * Unfinished builds whose current task's lease ended at or before {@code now}, soonest first, at
   * most {@code limit}. Looks at those builds and one more, however many builds are known.
   */
  List<BuildSnapshot> leasesEndedBy(java.time.Instant now, int limit) {
    return leasesEndedBy(now, limit, s -> true);
  }

  /** {@link #leasesEndedBy(java.time.Instant, int)} of the builds {@code mine} accepts only. */
  List<BuildSnapshot> leasesEndedBy(
      java.time.Instant now, int limit, java.util.function.Predicate<BuildSnapshot> mine) {
    List<BuildSnapshot> ended = new ArrayList<>();
    for (BuildSnapshot snapshot : byLeaseEnd) {
      visited++;
      if (snapshot.leaseExpiresAt().isAfter(now) || ended.size() >= limit) {
        break;
      }
      if (mine.test(snapshot)) {
        ended.add(snapshot);
      }
    }
    return List.copyOf(ended);
  }

  /**
   * Finished builds (outcome published) last updated before {@code cutoff}, oldest first, at most
   * {@code limit}: what retention deletes. An app's most recent successful build is kept whatever
   * its age, because it holds the app's sticky Python version. Looks at the builds it returns and
   * at most one kept build per app, never at every build.
   */
  List<BuildSnapshot> finishedBefore(java.time.Instant cutoff, int limit) {
    return finishedBefore(cutoff, limit, s -> true);
  }

  /** {@link #finishedBefore(java.time.Instant, int)} of the builds {@code mine} accepts only. */
  List<BuildSnapshot> finishedBefore(
      java.time.Instant cutoff, int limit, java.util.function.Predicate<BuildSnapshot> mine) {
    List<BuildSnapshot> old = new ArrayList<>();
    for (BuildSnapshot snapshot : finishedOldestFirst) {
      if (old.size() >= limit) {
        break;
      }
      visited++;
      if (snapshot.updatedAt() == null || !snapshot.updatedAt().isBefore(cutoff)) {
        if (snapshot.updatedAt() != null) {
          break;
        }
        continue; // no time at all: never deleted by age
      }
      if (mine.test(snapshot) && !holdsStickyPython(snapshot)) {
        old.add(snapshot);
      }
    }
    return List.copyOf(old);
  }

  private boolean holdsStickyPython(BuildSnapshot snapshot) {
    TenantBuilds tenantBuilds = byTenant.get(snapshot.push().tenant());
    AppBuilds app = tenantBuilds == null ? null : tenantBuilds.byApp.get(snapshot.push().app());
    return app != null && !app.pythonSucceeded.isEmpty() && app.pythonSucceeded.last() == snapshot;
  }

  /** How many builds have a task out under a lease. */
  int leased() {
    return byLeaseEnd.size();
  }

  int size() {
    return byId.size();
  }

  Collection<BuildSnapshot> all() {
    return List.copyOf(byId.values());
  }

  /** A tenant's builds (optionally of one app), newest first, at most {@code limit}. */
  List<BuildSnapshot> list(String tenant, String app, int limit) {
    TenantBuilds tenantBuilds = byTenant.get(tenant);
    if (tenantBuilds == null) {
      return List.of();
    }
    NavigableSet<BuildSnapshot> builds;
    if (app == null) {
      builds = tenantBuilds.newestFirst;
    } else {
      AppBuilds appBuilds = tenantBuilds.byApp.get(app);
      if (appBuilds == null) {
        return List.of();
      }
      builds = appBuilds.newestFirst;
    }
    List<BuildSnapshot> page = new ArrayList<>(Math.max(0, Math.min(limit, builds.size())));
    for (BuildSnapshot snapshot : builds) {
      if (page.size() >= limit) {
        break;
      }
      visited++;
      page.add(snapshot);
    }
    return List.copyOf(page);
  }

  /**
   * Unfinished builds (of one tenant, or of every tenant when {@code tenant} is null), newest
   * first.
   */
  List<BuildSnapshot> unfinished(String tenant) {
    Collection<Map<String, BuildSnapshot>> tenants =
        tenant == null
            ? unfinishedByTenant.values()
            : List.of(unfinishedByTenant.getOrDefault(tenant, Map.of()));
    return tenants.stream()
        .flatMap(builds -> builds.values().stream())
        .sorted(NEWEST_FIRST)
        .toList();
  }

  /**
   * The newest builds of one tenant, or of the whole farm when {@code tenant} is null, at most
   * {@code limit}. The farm's list merges each tenant's newest {@code limit}: it never sorts every
   * build this coordinator knows.
   */
  List<BuildSnapshot> newest(String tenant, int limit) {
    if (tenant != null) {
      return list(tenant, null, limit);
    }
    List<BuildSnapshot> merged = new ArrayList<>();
    for (String each : byTenant.keySet()) {
      merged.addAll(list(each, null, limit));
    }
    merged.sort(NEWEST_FIRST);
    return List.copyOf(merged.subList(0, Math.min(limit, merged.size())));
  }

  /**
   * Finished builds (outcome published) of one tenant, or of all when {@code tenant} is null, last
   * updated at or after {@code since}, newest first: what the dashboard's farm summary counts.
   * Walks back from the newest finish and stops at the first older one.
   */
  List<BuildSnapshot> finishedSince(java.time.Instant since, String tenant) {
    List<BuildSnapshot> recent = new ArrayList<>();
    for (BuildSnapshot snapshot : finishedOldestFirst.descendingSet()) {
      if (snapshot.updatedAt() == null || snapshot.updatedAt().isBefore(since)) {
        break;
      }
      visited++;
      if (tenant == null || tenant.equals(snapshot.push().tenant())) {
        recent.add(snapshot);
      }
    }
    return List.copyOf(recent);
  }

  /**
   * The resolved Python version of the app's most recent successful build, for the "sticky" version
   * rule: an app that pinned nothing keeps the minor version it was last built with.
   */
  String previousPython(String tenant, String app) {
    TenantBuilds tenantBuilds = byTenant.get(tenant);
    AppBuilds appBuilds = tenantBuilds == null ? null : tenantBuilds.byApp.get(app);
    if (appBuilds == null || appBuilds.pythonSucceeded.isEmpty()) {
      return null;
    }
    visited++;
    return appBuilds.pythonSucceeded.last().plan().pythonVersion();
  }

  /**
   * How many snapshots {@link #list}, {@link #previousPython} and {@link #leasesEndedBy} have
   * looked at so far.
   */
  long visited() {
    return visited;
  }
}
