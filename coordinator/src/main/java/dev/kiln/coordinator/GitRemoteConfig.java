package dev.kiln.coordinator;

import java.time.Duration;

/**
 * Limits of the coordinator's git remote.
 *
 * @param maxPushBytes the largest request body (the pack) a push may send; larger ones get 413
 * @param buildTimeout how long a push waits for its build before it gives up (the build carries on;
 *     the push is then rejected with "build still running", and its ref is not updated)
 * @param concurrentPushes how many pushes are served at once (each holds a thread while its build
 *     runs); more wait for a free one
 */
public record GitRemoteConfig(long maxPushBytes, Duration buildTimeout, int concurrentPushes) {
  public static final GitRemoteConfig DEFAULT =
      new GitRemoteConfig(512L * 1024 * 1024, Duration.ofMinutes(30), 16);

  public GitRemoteConfig {
    if (maxPushBytes < 1024) {
      throw new IllegalArgumentException(
          "maxPushBytes " + maxPushBytes + " is too small; use at least 1024, e.g. 536870912");
    }
    if (buildTimeout == null || buildTimeout.isNegative() || buildTimeout.isZero()) {
      throw new IllegalArgumentException(
          "buildTimeout " + buildTimeout + " must be positive, e.g. PT30M");
    }
    if (concurrentPushes < 1 || concurrentPushes > 1000) {
      throw new IllegalArgumentException(
          "concurrentPushes " + concurrentPushes + " must be 1-1000, e.g. 16");
    }
  }
}
