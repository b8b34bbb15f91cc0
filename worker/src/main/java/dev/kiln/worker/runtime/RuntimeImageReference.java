package dev.kiln.worker.runtime;

import com.google.cloud.tools.jib.api.DockerDaemonImage;
import com.google.cloud.tools.jib.api.ImageReference;
import com.google.cloud.tools.jib.api.InvalidImageReferenceException;
import com.google.cloud.tools.jib.api.Jib;
import com.google.cloud.tools.jib.api.JibContainerBuilder;
import com.google.cloud.tools.jib.api.TarImage;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where a runtime base image comes from, as the runtime catalog writes it:
 *
 * <ul>
 *   <li>{@code tar:/abs/path.tar} — a {@code docker save} tarball on the worker's disk;
 *   <li>{@code docker:name:tag} — an image in the local Docker daemon;
 *   <li>{@code registry:host[:port]/repo:tag}, or the same without the prefix — a registry image.
 * </ul>
 *
 * Registries on {@code localhost} / {@code 127.0.0.1} / {@code [::1]} are reached over plain HTTP;
 * every other registry only over HTTPS.
 */
public sealed interface RuntimeImageReference {

  String TAR_PREFIX = "tar:";
  String DOCKER_PREFIX = "docker:";
  String REGISTRY_PREFIX = "registry:";

  /** A {@code docker save} tarball. */
  record Tarball(Path path) implements RuntimeImageReference {
    public Tarball {
      Objects.requireNonNull(path, "path");
      if (!path.isAbsolute()) {
        throw new IllegalArgumentException(
            "runtime image tarball '"
                + path
                + "' must be an absolute path, e.g. tar:/var/lib/kiln/"
                + "python-3.12.7.tar");
      }
    }

    @Override
    public JibContainerBuilder jibBase() {
      // jib only uses the name for its log lines; the tarball's own manifest says what is inside.
      return Jib.from(
          TarImage.at(path).named(ImageReference.of(null, "kiln/runtime-tarball", null)));
    }

    @Override
    public boolean available() {
      return Files.isRegularFile(path);
    }

    @Override
    public String toString() {
      return TAR_PREFIX + path;
    }
  }

  /** An image the local Docker daemon has. */
  record DockerDaemon(ImageReference image) implements RuntimeImageReference {
    public DockerDaemon {
      Objects.requireNonNull(image, "image");
    }

    @Override
    public JibContainerBuilder jibBase() {
      return Jib.from(DockerDaemonImage.named(image));
    }

    @Override
    public String toString() {
      return DOCKER_PREFIX + image;
    }
  }

  /** An image in an OCI / Docker registry. */
  record Registry(ImageReference image) implements RuntimeImageReference {
    public Registry {
      Objects.requireNonNull(image, "image");
    }

    @Override
    public JibContainerBuilder jibBase() {
      return Jib.from(Registries.withDockerCredentials(image));
    }

    @Override
    public boolean usesPlainHttp() {
      return Registries.isLoopback(image.getRegistry());
    }

    @Override
    public String toString() {
      return image.toString();
    }
  }

  /** A jib builder starting from this image. */
  JibContainerBuilder jibBase();

  /**
   * Whether the image can possibly be read; {@code false} means it is certainly missing (only a
   * tarball can be checked without a network round trip).
   */
  default boolean available() {
    return true;
  }

  /** Whether jib must be allowed to talk plain HTTP to reach this image. */
  default boolean usesPlainHttp() {
    return false;
  }

  /**
   * Parses a runtime catalog entry.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text} and what forms work
   */
  static RuntimeImageReference parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException(
          "runtime image reference is empty; " + RuntimeImageReference.forms());
    }
    String trimmed = text.strip();
    if (trimmed.startsWith(TAR_PREFIX)) {
      String path = trimmed.substring(TAR_PREFIX.length());
      try {
        Path parsed = Path.of(path);
        if (!parsed.isAbsolute()) {
          throw new IllegalArgumentException(
              "runtime image tarball '"
                  + path
                  + "' in '"
                  + trimmed
                  + "' is not an absolute path; "
                  + "write tar:/absolute/path/to/image.tar");
        }
        return new Tarball(parsed.normalize());
      } catch (InvalidPathException e) {
        throw new IllegalArgumentException(
            "runtime image tarball '"
                + path
                + "' in '"
                + trimmed
                + "' is not a valid path: "
                + e.getMessage(),
            e);
      }
    }
    if (trimmed.startsWith(DOCKER_PREFIX)) {
      return new DockerDaemon(image(trimmed.substring(DOCKER_PREFIX.length()), trimmed));
    }
    String registryReference =
        trimmed.startsWith(REGISTRY_PREFIX) ? trimmed.substring(REGISTRY_PREFIX.length()) : trimmed;
    return new Registry(image(registryReference, trimmed));
  }

  private static ImageReference image(String reference, String whole) {
    if (reference.isEmpty()) {
      throw new IllegalArgumentException(
          "runtime image reference '" + whole + "' names no image; " + forms());
    }
    try {
      ImageReference parsed = ImageReference.parse(reference);
      if (parsed.isScratch()) {
        throw new IllegalArgumentException(
            "runtime image reference '"
                + whole
                + "' is 'scratch', which has no Python; name an "
                + "image that has the Python runtime");
      }
      return parsed;
    } catch (InvalidImageReferenceException e) {
      throw new IllegalArgumentException(
          "runtime image reference '"
              + whole
              + "' is not a valid image name ('"
              + reference
              + "'): use lowercase repository names and an optional :tag or @sha256:digest; "
              + forms(),
          e);
    }
  }

  private static String forms() {
    return "use tar:/abs/path.tar (a docker save tarball), docker:name:tag (local Docker daemon), "
        + "registry:host[:port]/repo:tag or host[:port]/repo:tag (a registry)";
  }
}
