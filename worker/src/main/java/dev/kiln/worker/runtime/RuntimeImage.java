package dev.kiln.worker.runtime;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A Python runtime base image available as a {@code docker save} format tarball.
 *
 * <p>Use it as a jib base with {@code Jib.from(TarImage.at(tarball()).named(reference()))}, or load
 * it into a Docker daemon with {@code docker load -i tarball()}.
 *
 * @param tarball the image tarball (single gzip-compressed layer)
 * @param reference the image reference its manifest carries, e.g. {@code
 *     kiln/python-runtime:bookworm}
 * @param pythonVersion the interpreter's version as it reports it, e.g. {@code 3.11.2}
 * @param glibc the image's glibc version, e.g. {@code 2.36}
 * @param freshlyBuilt whether this call built it (false when a cached tarball was reused)
 */
public record RuntimeImage(
    Path tarball, String reference, String pythonVersion, String glibc, boolean freshlyBuilt) {

  public RuntimeImage {
    Objects.requireNonNull(tarball, "tarball");
    Objects.requireNonNull(reference, "reference");
    Objects.requireNonNull(pythonVersion, "pythonVersion");
    Objects.requireNonNull(glibc, "glibc");
  }

  /** The {@code major.minor} part of {@link #pythonVersion()}, e.g. {@code 3.11}. */
  public String pythonMinorVersion() {
    String[] parts = pythonVersion.split("\\.");
    return parts.length >= 2 ? parts[0] + "." + parts[1] : pythonVersion;
  }
}
