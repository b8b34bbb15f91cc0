package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.BuildTask;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Which INSTALLs this coordinator has out, per (tenant, dependency key), and which builds wait for
 * one of them instead of sending their own: a burst of pushes of one new dependency set installs it
 * once, and the waiting builds reuse the layer from the action cache when that install is over.
 *
 * <p>Memory only, on the coordinator's context. A waiting ("parked") build is durable as an
 * INSTALLING snapshot with no lease and no task sent; a coordinator that restarts or takes the
 * build over re-sends its INSTALL at resume, which comes through here again. Keyed by tenant too: a
 * layer one tenant's install files may be visible to that tenant only (see the cache-service's
 * action-result scopes), so another tenant's install is never waited for.
 */
final class InstallCoalescer {

  /** What the action cache's answer depends on: the dependency set and whom it is asked for. */
  record Key(String tenant, String dependencyKey) {
    static Key of(BuildTask install) {
      return new Key(install.tenant(), install.dependencyKey());
    }
  }

  /** The INSTALL sent for a key, and the builds parked behind it, in the order they came. */
  private record InFlight(String buildId, String taskId, Set<String> waiters) {}

  private record Parked(String buildId, String taskId, Key key, String behind, Instant since) {}

  private final Map<Key, InFlight> inFlight = new HashMap<>();
  private final Map<String, Key> owners = new HashMap<>();
  private final Map<String, Parked> parked = new LinkedHashMap<>();

  /**
   * When each build still INSTALLING first parked: the bound on waiting counts from there, across
   * installs it waited for one after another (each failed), not from its latest wait.
   */
  private final Map<String, Instant> waitingSince = new HashMap<>();

  /**
   * A build is about to send {@code install} because the action cache missed. Empty: it sends it,
   * and from now on it is the key's install in flight. Present: the build that installs the key
   * right now; this one is parked behind it and sends nothing.
   *
   * @param live whether a build's snapshot still is INSTALLING with that task id (a stale entry,
   *     one whose end was not seen, is replaced instead of waited for)
   */
  Optional<String> claim(BuildTask install, Instant now, LiveInstall live) {
    Key key = Key.of(install);
    String buildId = install.buildId();
    unpark(buildId);
    InFlight current = inFlight.get(key);
    if (current != null
        && !current.buildId().equals(buildId)
        && live.installing(current.buildId(), current.taskId())) {
      current.waiters().add(buildId);
      Instant since = waitingSince.computeIfAbsent(buildId, b -> now);
      parked.put(buildId, new Parked(buildId, install.taskId(), key, current.buildId(), since));
      return Optional.of(current.buildId());
    }
    waitingSince.remove(buildId);
    Set<String> waiters = new LinkedHashSet<>();
    if (current != null) {
      owners.remove(current.buildId());
      waiters.addAll(current.waiters()); // a stale owner's waiters wait for the new one
      waiters.remove(buildId);
      for (String w : waiters) {
        Parked p = parked.get(w);
        if (p != null) {
          parked.put(w, new Parked(w, p.taskId(), key, buildId, p.since()));
        }
      }
    }
    Key previous = owners.put(buildId, key);
    if (previous != null && !previous.equals(key)) {
      inFlight.remove(previous);
    }
    inFlight.put(key, new InFlight(buildId, install.taskId(), waiters));
    return Optional.empty();
  }

  /**
   * Registers an INSTALL that is already out and claimed by a worker (found at a restart or a
   * takeover) as its key's install in flight, unless another live one is: the builds resumed after
   * it wait for it.
   */
  void adopt(BuildTask install, Instant now, LiveInstall live) {
    InFlight current = inFlight.get(Key.of(install));
    if (current == null || !live.installing(current.buildId(), current.taskId())) {
      claim(install, now, live);
    }
  }

  /** Whether a build's snapshot still waits for the INSTALL task {@code taskId}. */
  @FunctionalInterface
  interface LiveInstall {
    boolean installing(String buildId, String taskId);
  }

  /**
   * A build changed ({@code now} is its snapshot, null when gone). If it was a key's install in
   * flight and no longer waits for that task (its result came, it failed, was cancelled or its
   * lease ran out and the step was issued again), the key is free and its parked builds are
   * returned, to look the layer up again (and install, the first of them, on a miss). A parked
   * build that moved on is forgotten.
   */
  List<String> changed(String buildId, BuildSnapshot now) {
    if (now == null || now.state() != BuildState.INSTALLING) {
      waitingSince.remove(buildId);
    }
    Parked p = parked.get(buildId);
    if (p != null && !stillWaitsFor(now, p.taskId())) {
      unpark(buildId);
    }
    Key key = owners.get(buildId);
    if (key == null) {
      return List.of();
    }
    InFlight f = inFlight.get(key);
    if (f != null && stillWaitsFor(now, f.taskId())) {
      return List.of();
    }
    return release(buildId);
  }

  /**
   * Forgets what a build installs or waits for (its decision could not be made durable); the builds
   * parked behind it are returned, to go on without it.
   */
  List<String> forget(String buildId) {
    unpark(buildId);
    waitingSince.remove(buildId);
    return owners.containsKey(buildId) ? release(buildId) : List.of();
  }

  /** Parked builds that have waited {@code maxWait} or longer: no longer parked, they install. */
  List<String> overdue(Instant now, Duration maxWait) {
    List<String> out = new ArrayList<>();
    for (Parked p : List.copyOf(parked.values())) {
      if (!now.isBefore(p.since().plus(maxWait))) {
        unpark(p.buildId());
        waitingSince.remove(p.buildId());
        out.add(p.buildId());
      }
    }
    return out;
  }

  /**
   * Forgets every build {@code gone} accepts (their partitions moved to another coordinator, which
   * resumes them); returns the builds that were parked behind one of them and are not gone.
   */
  List<String> releaseIf(Predicate<String> gone) {
    List<String> out = new ArrayList<>();
    for (String buildId : List.copyOf(parked.keySet())) {
      if (gone.test(buildId)) {
        unpark(buildId);
      }
    }
    for (String buildId : List.copyOf(waitingSince.keySet())) {
      if (gone.test(buildId)) {
        waitingSince.remove(buildId);
      }
    }
    for (String owner : List.copyOf(owners.keySet())) {
      if (gone.test(owner)) {
        out.addAll(release(owner));
      }
    }
    return out;
  }

  boolean isParked(String buildId) {
    return parked.containsKey(buildId);
  }

  /** The build a parked build waits for, if it is parked. */
  Optional<String> parkedBehind(String buildId) {
    return Optional.ofNullable(parked.get(buildId)).map(Parked::behind);
  }

  /** How many builds are parked (for tests and logs). */
  int parkedCount() {
    return parked.size();
  }

  /** How many keys have an install in flight (for tests and logs). */
  int inFlightCount() {
    return inFlight.size();
  }

  private List<String> release(String owner) {
    Key key = owners.remove(owner);
    InFlight f = key == null ? null : inFlight.get(key);
    if (f == null || !f.buildId().equals(owner)) {
      return List.of();
    }
    inFlight.remove(key);
    List<String> waiters = new ArrayList<>(f.waiters());
    waiters.forEach(parked::remove);
    return waiters;
  }

  private void unpark(String buildId) {
    Parked p = parked.remove(buildId);
    if (p != null) {
      InFlight f = inFlight.get(p.key());
      if (f != null) {
        f.waiters().remove(buildId);
      }
    }
  }

  private static boolean stillWaitsFor(BuildSnapshot now, String taskId) {
    return now != null
        && now.state() == BuildState.INSTALLING
        && taskId.equals(now.currentTaskId());
  }
}
