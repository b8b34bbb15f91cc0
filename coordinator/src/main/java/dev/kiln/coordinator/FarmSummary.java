package dev.kiln.coordinator;

import dev.kiln.events.BuildSnapshot;
import dev.kiln.events.BuildState;
import dev.kiln.events.StepTiming;
import dev.kiln.events.TaskKind;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;

/**
 * The dashboard's farm figures over a recent window (the last hour): how many builds finished, the
 * throughput, and how often the action cache answered an INSTALL. Pure arithmetic over snapshots,
 * so it is tested without a server or a broker.
 *
 * @param finished builds that finished in the window (any outcome)
 * @param installsNeeded finished builds whose plan names a package manager: they needed their
 *     dependencies installed (apps with no requirements skip INSTALL and are not counted)
 * @param installsCached of those, how many the action cache answered without running a worker
 * @param running builds running now (detecting, installing or assembling)
 * @param queued builds waiting now for a slot of their tenant's quota
 */
record FarmSummary(
    Duration window,
    int finished,
    int succeeded,
    int failed,
    int cancelled,
    int installsNeeded,
    int installsCached,
    int running,
    int queued) {

  static final Duration LAST_HOUR = Duration.ofHours(1);

  /**
   * Sums up the builds of {@code finishedRecently} that finished within {@code window} before
   * {@code now} (others are ignored, so a caller may pass a wider set) and the unfinished ones.
   */
  static FarmSummary of(
      Instant now,
      Duration window,
      Collection<BuildSnapshot> finishedRecently,
      Collection<BuildSnapshot> unfinished) {
    Instant since = now.minus(window);
    int finished = 0;
    int succeeded = 0;
    int failed = 0;
    int cancelled = 0;
    int installsNeeded = 0;
    int installsCached = 0;
    for (BuildSnapshot build : finishedRecently) {
      if (!build.state().isFinal()
          || build.updatedAt() == null
          || build.updatedAt().isBefore(since)
          || build.updatedAt().isAfter(now)) {
        continue;
      }
      finished++;
      switch (build.state()) {
        case SUCCEEDED -> succeeded++;
        case FAILED -> failed++;
        default -> cancelled++;
      }
      if (neededInstall(build)) {
        installsNeeded++;
        if (installAnsweredByCache(build)) {
          installsCached++;
        }
      }
    }
    int running = 0;
    int queued = 0;
    for (BuildSnapshot build : unfinished) {
      if (build.state() == BuildState.QUEUED) {
        queued++;
      } else if (!build.state().isFinal()) {
        running++;
      }
    }
    return new FarmSummary(
        window,
        finished,
        succeeded,
        failed,
        cancelled,
        installsNeeded,
        installsCached,
        running,
        queued);
  }

  /** Finished builds per minute, averaged over the whole window. */
  double buildsPerMinute() {
    double minutes = window.toMillis() / 60_000.0;
    return minutes <= 0 ? 0 : finished / minutes;
  }

  /** Cached installs ÷ installs needed; null when no build needed one (nothing to divide). */
  Double cacheHitRatio() {
    return installsNeeded == 0 ? null : (double) installsCached / installsNeeded;
  }

  /**
   * A plan with a package manager has dependencies to install, and the build got as far as the
   * INSTALL step (a build failed in DETECT, or a plan without requirements, never needed one).
   */
  private static boolean neededInstall(BuildSnapshot build) {
    return build.plan() != null
        && build.plan().packageManager() != null
        && build.steps().stream().anyMatch(step -> step.kind() == TaskKind.INSTALL);
  }

  /** A skipped INSTALL of a plan with a package manager: the action cache had the layer. */
  private static boolean installAnsweredByCache(BuildSnapshot build) {
    return build.steps().stream()
        .filter(step -> step.kind() == TaskKind.INSTALL)
        .anyMatch(StepTiming::skipped);
  }
}
