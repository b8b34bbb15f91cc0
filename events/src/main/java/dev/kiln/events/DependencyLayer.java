package dev.kiln.events;

import java.util.List;

/**
 * An installed dependency set, stored once in the cache-service as an uncompressed tar.
 *
 * @param key the dependency-set digest (python version, platform, package manager, exact inputs)
 * @param blob the CAS digest of the layer tar
 * @param distributions installed distributions as {@code name==version}
 * @param reused true when the layer came from the action cache instead of a fresh install
 */
public record DependencyLayer(
    String key, Digest blob, long size, List<String> distributions, boolean reused) {
  public DependencyLayer {
    distributions = distributions == null ? List.of() : List.copyOf(distributions);
  }
}
