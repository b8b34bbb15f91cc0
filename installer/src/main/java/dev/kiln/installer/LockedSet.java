package dev.kiln.installer;

import java.util.List;

/**
 * What a lock (or a resolution) says to install for one target: exact distributions, in a stable
 * order (by normalized name), plus the local projects.
 */
public record LockedSet(List<LockedDistribution> distributions, List<LocalProject> localProjects) {
  public LockedSet {
    distributions =
        distributions.stream()
            .sorted(java.util.Comparator.comparing(LockedDistribution::normalizedName))
            .toList();
    localProjects = List.copyOf(localProjects);
  }
}
