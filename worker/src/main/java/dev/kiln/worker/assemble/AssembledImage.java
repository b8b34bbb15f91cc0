package dev.kiln.worker.assemble;

import dev.kiln.events.Digest;
import java.util.Objects;

/**
 * A built image.
 *
 * @param reference where it is: {@code host/tenant/app:tag} in a registry, {@code
 *     tar:/abs/path.tar} for a tarball, {@code docker:tenant/app:tag} in the Docker daemon
 * @param digest the image manifest's digest
 */
public record AssembledImage(String reference, Digest digest) {
  public AssembledImage {
    Objects.requireNonNull(reference, "reference");
    Objects.requireNonNull(digest, "digest");
  }
}
