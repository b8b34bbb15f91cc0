package dev.kiln.installer;

import dev.kiln.events.Digest;
import dev.kiln.installer.pep.ProjectName;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * One distribution a lock pins, before a file is chosen for the target.
 *
 * @param name the project name as the lock writes it
 * @param version the exact version
 * @param files the files the lock lists for it (wheels and sdists), possibly empty when the lock
 *     only lists hashes (Pipfile.lock, requirements with {@code --hash})
 * @param allowedHashes the hashes a chosen file must have; empty means the lock pins no hashes (any
 *     file of the index for this exact version will do)
 */
public record LockedDistribution(
    String name, String version, List<ArtifactFile> files, Set<Digest> allowedHashes) {
  public LockedDistribution {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(version, "version");
    files = List.copyOf(files);
    allowedHashes = Set.copyOf(allowedHashes);
  }

  /** The normalized name (PEP 503): lowercase, runs of {@code -_.} as one {@code -}. */
  public String normalizedName() {
    return normalize(name);
  }

  public static String normalize(String name) {
    return ProjectName.normalize(name);
  }
}
