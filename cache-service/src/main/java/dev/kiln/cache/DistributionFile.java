package dev.kiln.cache;

import dev.kiln.events.Digest;
import java.net.URI;
import java.util.Objects;

/**
 * One file of a project as the upstream index lists it.
 *
 * @param requiresPython the {@code data-requires-python} specifier, or null
 * @param yankedReason null when not yanked; the reason (possibly empty) when yanked
 */
record DistributionFile(
    String filename, URI upstreamUrl, Digest sha256, String requiresPython, String yankedReason) {

  DistributionFile {
    Objects.requireNonNull(filename, "filename");
    Objects.requireNonNull(upstreamUrl, "upstreamUrl");
    Objects.requireNonNull(sha256, "sha256");
  }

  boolean yanked() {
    return yankedReason != null;
  }
}
